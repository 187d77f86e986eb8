"""The console's routes about callers: the call on an agent's desk and the wallboard's list
of callers to call back.

    GET  /console/desk/call                  agent: their desk call (acd/desk_call.py), masked,
                                             with the caller's last 30 days and the topics
    POST /console/desk/topic                 agent: {"topic": code}, the desk call's wrap-up
    GET  /console/wallboard/number?call=ID   supervisor: a number to call back, whole (audited)

No route takes a number or a call id from an agent: the desk call is the one the router says
the agent is on, or the last one they were put through to. The caller's history is read from
PostgreSQL by the caller's number (indexes of migration 0016), in one short connection; with
the database away the call is still shown, without its history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web
from sqlalchemy import text

from acd.consult import consulted_on
from acd.desk_call import CallContext, DeskCalls, desk_call_id, since
from acd.topic_config import TopicsConfig
from acd.wallboard import DayTally, mask_number
from hotline import access, audit
from hotline.store.journal import Fact

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from hotline.controller import Controller

log = structlog.get_logger("console")

HISTORY_TIMEOUT = 2.0  # seconds: the desk shows the call at once, its history if it comes
HISTORY_ROWS = 20  # of each kind
# The caller's last 30 days by kind; `:call` leaves the call on the desk out.
_HISTORY = {
    "calls": (
        "SELECT started_at AS at, queue, disposition AS outcome FROM calls"
        " WHERE caller_number = :number AND started_at >= :since AND channel_id <> :call"
        " ORDER BY started_at DESC LIMIT :rows"
    ),
    "voice_messages": (
        "SELECT created_at AS at, status, due_on AS due FROM voice_messages"
        " WHERE caller_number = :number AND created_at >= :since"
        " ORDER BY created_at DESC LIMIT :rows"
    ),
    "callbacks": (
        "SELECT requested_at AS at, queue, status FROM callbacks"
        " WHERE caller_number = :number AND requested_at >= :since"
        " ORDER BY requested_at DESC LIMIT :rows"
    ),
    "work_orders": (
        "SELECT opened_at AS at, number, kind AS type, status, due_at AS due FROM work_orders"
        " WHERE caller_number = :number AND opened_at >= :since"
        " ORDER BY opened_at DESC LIMIT :rows"
    ),
}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


async def caller_history(
    engine: AsyncEngine, number: str, call_id: str, now: dt.datetime
) -> dict[str, list[dict[str, Any]]]:
    """The caller's calls, voice messages, callbacks and work orders of the last 30 days,
    newest first (the call on the desk left out)."""
    params = {"number": number, "since": since(now), "call": call_id, "rows": HISTORY_ROWS}
    out: dict[str, list[dict[str, Any]]] = {}
    async with asyncio.timeout(HISTORY_TIMEOUT), engine.connect() as conn:
        for kind, sql in _HISTORY.items():
            rows = (await conn.execute(text(sql), params)).mappings().all()
            out[kind] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return out


def snapshot(flow: Any, call_id: str) -> CallContext:
    """What the desk keeps of a call in progress (CallFlow: its menu session and its time
    with the ACD)."""
    person = getattr(flow, "person", None)
    session = getattr(flow, "session", None)
    return CallContext(
        call_id,
        str(getattr(flow, "caller_number", "")),
        str(getattr(person, "queue", "")),
        verified_id=getattr(session, "verified_id", None),
        path=tuple(getattr(session, "path", ())),
        entered=getattr(person, "entered", None) or None,
        answered_at=getattr(person, "answered_at", None) or None,
    )


class CallerRoutes:
    """The desk's call (remembered when each agent is put through) and the routes above."""

    def __init__(self, controller: Controller, tally: DayTally) -> None:
        self.controller = controller
        self.tally = tally
        self.calls = DeskCalls()

    def _flows(self) -> dict[str, Any]:
        # Tests build the app around stand-ins of the controller: some have no calls.
        calls: dict[str, Any] = getattr(self.controller, "calls", {})
        return calls

    def observe(self, fact: Fact) -> None:
        """A journal fact: an agent put through to a caller makes it their desk call, and
        so does an expert answering a consult about it (their wrap-up topic is for it)."""
        if fact.kind not in ("agent", "segment_answered"):
            return
        agent = str(fact.data.get("agent") or "")
        if fact.kind == "segment_answered" and self._consulted_on(agent) != fact.channel_id:
            return
        flow = self._flows().get(fact.channel_id)
        if agent and flow is not None:
            self.calls.put_through(agent, snapshot(flow, fact.channel_id))

    def _current_call(self, number: str) -> str | None:
        desk = getattr(self.controller, "desk", None)
        agent = desk.router.agents.get(number) if desk is not None else None
        return agent.current_call if agent is not None else None

    def _consulted_on(self, number: str) -> str | None:
        return consulted_on(self._current_call(number))

    def desk_call(self, number: str) -> CallContext | None:
        """The agent's desk call: the one they are on (once picked up), else their last."""
        current = self._current_call(number)
        known = self.calls.of(number, current)
        on = desk_call_id(current)  # an expert consulted: the caller's call
        if known is None and on is not None:
            flow = self._flows().get(on)
            if flow is not None:
                known = snapshot(flow, on)
                self.calls.put_through(number, known)
        return known

    def _topics(self) -> TopicsConfig:
        # Tests build the app around stand-ins of the controller: some have no topics.
        topics = getattr(self.controller, "topics", None)
        return topics if isinstance(topics, TopicsConfig) else TopicsConfig()

    async def call(self, request: web.Request) -> web.Response:
        """GET /console/desk/call: the agent's desk call, its caller's history, the topics."""
        number = access.principal(request).agent
        if number is None:
            return web.json_response({"error_id": "no_agent_number"}, status=403)
        context = self.desk_call(number)
        if context is None:
            return web.json_response({"error_id": "no_call"}, status=404)
        body: dict[str, Any] = {
            "call": context.view(),
            "topics": self._topics().listing(),
            "history": None,
        }
        engine = self.controller.engine
        try:
            if engine is None:
                raise ConnectionError("no database")
            now = dt.datetime.now(dt.UTC)
            body["history"] = await caller_history(engine, context.caller, context.call_id, now)
        except (*access.DATABASE_AWAY, TimeoutError) as exc:
            log.warning("caller_history_unavailable", why=type(exc).__name__, agent=number)
            body["history_error"] = "database_unavailable"
        return web.json_response(body)

    async def topic(self, request: web.Request) -> web.Response:
        """POST /console/desk/topic {"topic": code}: the wrap-up topic of the desk call."""
        number = access.principal(request).agent
        if number is None:
            return web.json_response({"error_id": "no_agent_number"}, status=403)
        try:
            body = await request.json()
        except ValueError:
            body = None
        code = body.get("topic") if isinstance(body, dict) else None
        if not isinstance(code, str) or code not in self._topics().topics:
            return web.json_response({"error_id": "unknown_topic"}, status=400)
        context = self.desk_call(number)
        if context is None:
            return web.json_response({"error_id": "no_call"}, status=409)
        self.controller.journal.record(
            Fact(context.call_id, "wrap_up", {"agent": number, "topic": code})
        )
        self.calls.chose(number, code)
        log.info("wrap_up", call_id=context.call_id, agent=number, topic=code)
        return web.json_response({"topic": code})

    async def number(self, request: web.Request) -> web.Response:
        """GET /console/wallboard/number?call=ID: the whole number of a caller on today's
        list to call back, for a supervisor; written to the audit log before it is sent."""
        who = access.principal(request)
        entry = self.tally.to_call_back.get(request.query.get("call", "")[:64])
        if entry is None:
            return web.json_response({"error_id": "not_on_the_list"}, status=404)
        written = await audit.record(
            self.controller.engine,
            audit.Entry(
                who.who,
                "caller_number.reveal",
                role=who.role_text,
                target=mask_number(entry.number),
                source=access.source(request),
                detail={"call": entry.call_id, "why": entry.why},
            ),
        )
        if not written and self.controller.engine is not None:
            return web.json_response({"error_id": "audit_unavailable"}, status=503)
        return web.json_response({"id": entry.call_id, "number": entry.number})


def add_routes(app: web.Application, controller: Controller, tally: DayTally) -> CallerRoutes:
    """The routes above; the caller of this registers `observe` with the journal."""
    routes = CallerRoutes(controller, tally)
    app.router.add_get("/console/desk/call", routes.call)
    app.router.add_post("/console/desk/topic", routes.topic)
    app.router.add_get("/console/wallboard/number", routes.number)
    return routes
