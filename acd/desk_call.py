"""The call on an agent's desk: what the agent is shown of it (masked), and which call that
is. Pure: the console (hotline/desk_call.py) takes the facts from the call in progress and
the caller's history from PostgreSQL.

An agent sees the call they are on and, once it ended, the last call they were put through
to (until they take another): after-call work needs it, for the wrap-up topic. Never a
call they name themselves: the console has no route that takes a number or a call id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from acd.consult import consult_owner
from acd.wallboard import mask_number
from ivr.resident_id import mask

HISTORY_DAYS = 30


@dataclass(frozen=True)
class CallContext:
    """What the desk knows of one call when the agent took it."""

    call_id: str
    caller: str
    queue: str
    verified_id: str | None = None  # verified in self-service (never leaves unmasked)
    path: tuple[str, ...] = ()  # menu nodes visited, in order
    entered: float | None = None  # entered the queue (or was transferred to it)
    answered_at: float | None = None  # the agent picked up
    topic: str | None = None  # the wrap-up topic the agent picked

    def view(self) -> dict[str, Any]:
        """As the desk shows it: the number and the ID masked, the wait in seconds."""
        out: dict[str, Any] = {
            "caller": mask_number(self.caller),
            "queue": self.queue,
            "verified_id": mask(self.verified_id) if self.verified_id else None,
            "ivr_path": list(self.path),
            "topic": self.topic,
        }
        if self.entered and self.answered_at:
            out["wait_seconds"] = round(max(0.0, self.answered_at - self.entered), 1)
        return out


@dataclass
class DeskCalls:
    """Each agent's last call, remembered when they were put through to it."""

    last: dict[str, CallContext] = field(default_factory=dict)

    def put_through(self, agent: str, context: CallContext) -> None:
        """The agent talks to this caller now: it is their desk's call until the next one."""
        self.last[agent] = context

    def of(self, agent: str, current_call: str | None) -> CallContext | None:
        """The agent's desk call: the one they are on, else the last one they took. A
        current call not yet remembered is None (the caller is not put through yet). An
        expert consulted is on the consult request: their desk call is the caller's."""
        known = self.last.get(agent)
        on = desk_call_id(current_call)
        if on is not None and (known is None or known.call_id != on):
            return None
        return known

    def chose(self, agent: str, topic: str) -> CallContext | None:
        """The agent gave their last call a wrap-up topic (None: they have no call)."""
        known = self.last.get(agent)
        if known is None:
            return None
        self.last[agent] = replace(known, topic=topic)
        return self.last[agent]


def desk_call_id(current_call: str | None) -> str | None:
    """The caller's call an agent's current call (the router's) is about: itself, or for an
    expert in a consult the call of the caller the asking agent holds."""
    return None if current_call is None else consult_owner(current_call)


def since(now: dt.datetime, days: int = HISTORY_DAYS) -> dt.datetime:
    """The start of the history shown with a call."""
    return now - dt.timedelta(days=days)
