"""A work order filed from the agent's desk on the desk call (建工单, the third answer):

    GET  /console/desk/work-order   agent: the form's choices (lines, types, offices) and
                                    the desk call's line
    POST /console/desk/work-order   agent: {"question", "line", "type", "office",
                                    "callback_number"} -> 201 with the order

The call, the caller's number and the verified ID come from the desk call, never from the
browser (the agent sees them masked); the owner is the agent (first-question
responsibility); the recording is the agent's of this call. One order per call.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import text

from acd.consult import consulted_on
from acd.desk_call import CallContext
from acd.wallboard import mask_number
from acd.work_orders import WorkOrder, WorkOrderError
from hotline import access
from hotline import work_orders_store as store
from hotline.work_orders_web import MAX_TEXT, file_order, text_field

if TYPE_CHECKING:
    from hotline.console_calls import CallerRoutes
    from hotline.controller import Controller

# Types an agent files; voice messages become orders of their own type by themselves.
NOT_FILED_BY_AGENTS = frozenset({"voice_message"})
CALLBACK_NUMBER = re.compile(r"\d{3,20}")
_RECORDING = (
    "SELECT path FROM recordings WHERE channel_id = :call AND agent = :agent"
    " ORDER BY created_at DESC LIMIT 1"
)


def choices(controller: Controller) -> dict[str, Any]:
    """Lines of business (the queues), the types an agent files, the offices."""
    desk = getattr(controller, "desk", None)
    lines = sorted(desk.router.config.queues) if desk is not None else []
    config = controller.work_orders
    types = [kind for kind in config.deadlines if kind not in NOT_FILED_BY_AGENTS]
    offices = [{"code": code, "name": o.name} for code, o in config.offices.items()]
    return {"lines": lines, "types": types, "offices": offices}


def order_fields(
    body: Any, offered: dict[str, Any], call: CallContext, agent: str
) -> dict[str, Any]:
    """The order's fields from the form and the desk call; WorkOrderError names a bad field."""
    if not isinstance(body, dict):
        raise WorkOrderError("bad_json", "the body must be a JSON object")
    question = text_field(body, "question", required=True, limit=MAX_TEXT)
    line = text_field(body, "line", limit=64) or call.queue
    if line not in offered["lines"]:
        raise WorkOrderError("bad_line", f"no queue {line!r} in queues.yaml")
    kind = text_field(body, "type", limit=32) or "standard"
    if kind not in offered["types"]:
        raise WorkOrderError("bad_type", f"no type {kind!r} an agent files in work_orders.yaml")
    office = text_field(body, "office", limit=64)
    if office and office not in {o["code"] for o in offered["offices"]}:
        raise WorkOrderError("unknown_office", f"no office {office!r} in work_orders.yaml")
    callback = text_field(body, "callback_number", limit=20) or call.caller
    if not CALLBACK_NUMBER.fullmatch(callback):
        raise WorkOrderError("bad_callback_number", "a callback number is 3 to 20 digits")
    return {
        "caller_number": call.caller,
        "callback_number": callback,
        "id_number": call.verified_id or "",
        "question": question,
        "line": line,
        "kind": kind,
        "owner": agent,
        "office": office,
        "call_id": call.call_id,
    }


def desk_view(order: WorkOrder) -> dict[str, object]:
    """The order filed, as the desk shows it: no number whole (the page never has one)."""
    return {
        "number": order.number,
        "status": order.status.value,
        "type": order.kind,
        "office": order.office,
        "due_at": order.due_at.isoformat(),
        "callback_number": mask_number(order.callback_number),
    }


def led_by_another(controller: Controller, call: CallContext, agent: str) -> bool:
    """Whether another agent leads the call now: the asking agent while this one is the
    expert consulted (or was, in a consult since cancelled). The one who leads it files."""
    desk = getattr(controller, "desk", None)
    me = desk.router.agents.get(agent) if desk is not None else None
    if me is not None and consulted_on(me.current_call) is not None:
        return True
    person = getattr(controller.calls.get(call.call_id), "person", None)
    leader = getattr(person, "agent", None)
    return isinstance(leader, str) and leader != agent


def _live_recording(controller: Controller, call: CallContext, agent: str) -> str | None:
    """The recording of a conversation still going on (stored only when it ends)."""
    person = getattr(controller.calls.get(call.call_id), "person", None)
    if person is not None and getattr(person, "agent", None) == agent:
        recording = getattr(person, "recording", None)
        return recording if isinstance(recording, str) else None
    return None


def add_routes(app: web.Application, controller: Controller, callers: CallerRoutes) -> None:
    """The routes above, on the desk calls `callers` remembers."""

    async def form(request: web.Request) -> web.Response:
        number = access.principal(request).agent
        if number is None:
            return web.json_response({"error_id": "no_agent_number"}, status=403)
        call = callers.desk_call(number)
        return web.json_response({**choices(controller), "line": call.queue if call else None})

    async def file(request: web.Request) -> web.Response:
        who = access.principal(request)
        if who.agent is None:
            return web.json_response({"error_id": "no_agent_number"}, status=403)
        call = callers.desk_call(who.agent)
        if call is None:
            return web.json_response({"error_id": "no_call"}, status=409)
        if led_by_another(controller, call, who.agent):
            message = "the agent who leads the call files its work order"
            return web.json_response(
                {"error_id": "expert_in_consult", "message": message}, status=409
            )
        try:
            body = await request.json()
        except ValueError:
            body = None
        try:
            fields = order_fields(body, choices(controller), call, who.agent)
        except WorkOrderError as exc:
            return web.json_response({"error_id": exc.error_id, "message": str(exc)}, status=400)
        recording = _live_recording(controller, call, who.agent)
        if recording is None and controller.engine is not None:
            params = {"call": call.call_id, "agent": who.agent}
            try:
                async with controller.engine.connect() as conn:
                    recording = (await conn.execute(text(_RECORDING), params)).scalar()
            except access.DATABASE_AWAY:
                return web.json_response({"error_id": "database_unavailable"}, status=503)
        actor = store.Actor(who.who, who.role_text, access.source(request))
        return await file_order(controller, actor, {**fields, "recording": recording}, desk_view)

    app.router.add_get("/console/desk/work-order", form)
    app.router.add_post("/console/desk/work-order", file)
