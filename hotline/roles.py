"""Who may use which route: the role table, pure (no I/O), checked for every request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Any signed-in principal (an office's person or token too: who am I, sign out).
ANYONE = frozenset({"agent", "supervisor", "ops", "auditor", "office"})

# (method, route as registered) -> the roles that may use it. A route missing here is
# refused to every person and client token (deny by default); only the instance's own
# token (INSTANCE) passes, so that a route added elsewhere keeps working for local tools.
ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/config/apply"): frozenset({"ops"}),
    # Ops' editor in the browser (hotline/config_web.py).
    ("GET", "/config/files"): frozenset({"ops"}),
    ("GET", "/config/files/{name}"): frozenset({"ops"}),
    ("POST", "/config/files/{name}"): frozenset({"ops"}),
    ("POST", "/config/files/{name}/check"): frozenset({"ops"}),
    ("GET", "/config/files/{name}/versions"): frozenset({"ops"}),
    ("GET", "/config/files/{name}/versions/{version}"): frozenset({"ops"}),
    ("POST", "/config/files/{name}/versions/{version}/rollback"): frozenset({"ops"}),
    ("GET", "/agents"): frozenset({"supervisor"}),
    ("GET", "/callbacks"): frozenset({"supervisor"}),
    # An agent only for their own 工号 (own_agent_only); a supervisor for anyone (audited).
    # Commands: login, ready, pause, logout, transfer, and the consult's consult, complete,
    # three-way, cancel, work-order (hotline/web.py).
    ("POST", "/agents/{agent}/{command}"): frozenset({"agent", "supervisor"}),
    ("GET", "/recordings/{id}"): frozenset({"supervisor", "auditor"}),
    ("GET", "/voice-messages"): frozenset({"agent", "supervisor"}),
    ("GET", "/audit"): frozenset({"auditor"}),
    ("GET", "/reports/{kind}"): frozenset({"supervisor", "auditor"}),  # reports_web.py
    ("GET", "/console/wallboard/live"): frozenset({"supervisor"}),  # hotline/console.py
    # Listen, whisper, barge on the supervisor's own desk phone (hotline/supervision_web.py).
    ("POST", "/supervision/{agent}/{mode}"): frozenset({"supervisor"}),
    ("DELETE", "/supervision/{agent}"): frozenset({"supervisor"}),
    ("GET", "/console/desk/live"): frozenset({"agent"}),  # their own 工号's desk
    # hotline/console_calls.py: the agent's own desk call only (no number or id is taken).
    ("GET", "/console/desk/call"): frozenset({"agent"}),
    ("POST", "/console/desk/topic"): frozenset({"agent"}),
    # hotline/desk_work_order.py: a work order on the agent's own desk call.
    ("GET", "/console/desk/work-order"): frozenset({"agent"}),
    ("POST", "/console/desk/work-order"): frozenset({"agent"}),
    ("GET", "/console/wallboard/number"): frozenset({"supervisor"}),  # audited reveal
    ("GET", "/session"): ANYONE,
    ("DELETE", "/session"): ANYONE,
    # Work orders (hotline/work_orders_web.py). An office (its token, or a person of its
    # account in the console) sees and answers only its own office's orders; an agent
    # changes only the orders they own (checked there).
    ("POST", "/work-orders"): frozenset({"agent", "supervisor"}),
    ("GET", "/work-orders"): frozenset({"agent", "supervisor", "office"}),
    ("GET", "/work-orders/escalations"): frozenset({"supervisor"}),
    ("GET", "/work-orders/{number}"): frozenset({"agent", "supervisor", "office"}),
    ("POST", "/work-orders/{number}/status"): frozenset({"agent", "supervisor", "office"}),
    ("POST", "/work-orders/{number}/owner"): frozenset({"supervisor"}),
    # Quality sampling (hotline/quality_web.py): supervisors hear and score, auditors read.
    ("GET", "/quality/form"): frozenset({"supervisor", "auditor"}),
    ("GET", "/quality/samples"): frozenset({"supervisor", "auditor"}),
    ("POST", "/quality/samples/{id}/score"): frozenset({"supervisor"}),
    ("GET", "/quality/scores"): frozenset({"supervisor", "auditor"}),
    # The owner's click-to-call-back (hotline/order_calls.py): an agent for their own orders.
    ("POST", "/work-orders/{number}/call"): frozenset({"agent", "supervisor"}),
}
OWN_AGENT_ONLY = frozenset({("POST", "/agents/{agent}/{command}")})


@dataclass(frozen=True)
class Principal:
    """Who is asking: a person (by session), a client (by API token) or the instance itself
    (its generated machine token, for the local CLI, supervisor and tests)."""

    who: str  # account name, "token:<client>", or "token:instance"
    roles: frozenset[str]
    kind: str  # "person" | "token" | "instance"
    agent: str | None = None  # a person's 工号
    csrf_token: str | None = None  # only sessions have one
    office: str | None = None  # an office's token or account: the office code it answers for

    @property
    def role_text(self) -> str:
        """The roles as the audit log shows them."""
        return ",".join(sorted(self.roles))


INSTANCE = "instance"
# The instance's own token acts as supervisor, ops and auditor (an agent command through it
# is a forced change, audited); it is in the 0600 secrets file, i.e. whoever runs the instance.
INSTANCE_ROLES = frozenset({"supervisor", "ops", "auditor"})


def granting_role(
    principal: Principal, method: str, route: str, match: Mapping[str, str]
) -> str | None:
    """The role under which the request is allowed, or None (refused). For an agent's own
    route the role is "agent" only when the 工号 in the path is theirs."""
    if method == "HEAD":
        method = "GET"
    allowed = ROUTE_ROLES.get((method, route))
    if allowed is None:
        return INSTANCE if principal.kind == INSTANCE else None
    for role in sorted(principal.roles & allowed, key=lambda r: r != "agent"):
        others = principal.agent is None or match.get("agent") != principal.agent
        if role == "agent" and (method, route) in OWN_AGENT_ONLY and others:
            continue
        return role
    return None
