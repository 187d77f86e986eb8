"""Work orders over the HTTP API (roles in hotline/roles.py; the middleware checks them).

    POST /work-orders                      agent (owner: themself) or supervisor: open one
    GET  /work-orders?status=&office=&owner=&line=&open=1&limit=   (an agent: their own)
    GET  /work-orders/escalations          supervisor: the 督办 list (overdue, near due, no owner)
    GET  /work-orders/{number}
    POST /work-orders/{number}/status      {status, note?, office?, answer?, satisfaction?}
    POST /work-orders/{number}/owner       supervisor: {owner}
    POST /work-orders/{number}/call        the owner (or a supervisor): call the citizen back

An office's token (role "office", bound to an office code) sees only its office's orders and
may only answer them or send them back (status "answered" or "open"); an agent changes only
the orders they own, and never records the office's answer; a new owner is an agent of the
roster, and a closed order keeps its owner. Each change is audited with the order
(hotline/work_orders_store.py); the citizen is texted the number when the order is opened and
the answer when it comes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from acd.work_orders import Status, WorkOrder, WorkOrderError, escalations
from hotline import access, sms
from hotline import work_orders_store as store
from hotline.order_calls import OrderCallRefused
from hotline.roles import Principal

if TYPE_CHECKING:
    from hotline.controller import Controller

NUMBER = r"{number:\d{12}}"
FILTER_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_TEXT = 4000  # a question or an answer
OFFICE_STEPS = frozenset({Status.ANSWERED, Status.OPEN})  # answer it, or send it back
STATUS_CODES = {
    "no_such_order": 404,
    "transition_not_allowed": 409,
    "order_closed": 409,
    "not_your_order": 403,
    "not_your_step": 403,
}


def _refuse(error_id: str, status: int, message: str = "") -> web.Response:
    body = {"error_id": error_id, **({"message": message[:300]} if message else {})}
    return web.json_response(body, status=status)


def _refused(exc: WorkOrderError) -> web.Response:
    return _refuse(exc.error_id, STATUS_CODES.get(exc.error_id, 400), str(exc))


def text_field(body: dict[str, Any], name: str, required: bool = False, limit: int = 64) -> str:
    """A text field of a request's body, stripped; WorkOrderError names a bad one."""
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise WorkOrderError(f"bad_{name}", f"{name}: text of at most {limit} characters")
    return value.strip()


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise WorkOrderError("bad_json", "the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise WorkOrderError("bad_json", "the body must be a JSON object")
    return body


def _actor(request: web.Request, who: Principal) -> store.Actor:
    return store.Actor(who.who, who.role_text, access.source(request))


def _is_office(who: Principal) -> bool:
    return "office" in who.roles and not who.roles & {"supervisor", "agent"}


async def file_order(
    controller: Controller,
    actor: store.Actor,
    fields: dict[str, Any],
    view: Callable[[WorkOrder], dict[str, object]] = WorkOrder.public,
) -> web.Response:
    """Open an order (`fields`: work_orders_store.create's) and text the citizen its number:
    201 with the order as `view` shows it, 409 if the call has one already, 503 without
    the database."""
    if controller.engine is None:
        return _refuse("database_unavailable", 503)
    try:
        order = await store.create(
            controller.engine,
            actor=actor,
            at=dt.datetime.now(dt.UTC),
            policy=controller.work_orders.policy(),
            hours=controller.hours,
            **fields,
        )
    except WorkOrderError as exc:
        return _refused(exc)
    except IntegrityError:  # ux_work_orders_call_id: one order per call
        return _refuse("call_has_work_order", 409, "an order was filed on this call already")
    except access.DATABASE_AWAY:
        return _refuse("database_unavailable", 503)
    await sms.notify(
        controller.sms,
        order.callback_number,
        sms.taken_text(order, ZoneInfo(controller.hours.timezone)),
        order.number,
    )
    return web.json_response(view(order), status=201)


def add_routes(app: web.Application, controller: Controller) -> None:
    """Register the work-order routes; the controller gives the database, the calendar,
    the work-order config and the SMS gateway (read at each request: config apply)."""

    def engine_or_none() -> Any:
        return controller.engine

    async def create(request: web.Request) -> web.Response:
        who = access.principal(request)
        engine = engine_or_none()
        if engine is None:
            return _refuse("database_unavailable", 503)
        config = controller.work_orders
        try:
            body = await _body(request)
            kind = text_field(body, "type") or "standard"
            office = text_field(body, "office")
            if office and office not in config.offices:
                raise WorkOrderError("unknown_office", f"no office {office!r} in work_orders.yaml")
            id_number = text_field(body, "id_number", limit=18).upper()
            if id_number and not re.fullmatch(r"\d{17}[\dX]", id_number):
                raise WorkOrderError("bad_id_number", "an ID number is 17 digits and a digit or X")
            # The call it was filed on (calls.channel_id): the reports' direct resolution.
            call_id = text_field(body, "call_id")
            if call_id.startswith("vm:"):
                raise WorkOrderError("bad_call_id", "vm: names a voice message's order")
            owner = who.agent if "agent" in who.roles and who.agent else text_field(body, "owner")
            fields = {
                "caller_number": text_field(body, "caller_number"),
                "callback_number": text_field(body, "callback_number"),
                "id_number": id_number,
                "question": text_field(body, "question", required=True, limit=MAX_TEXT),
                "line": text_field(body, "line", required=True),
                "kind": kind,
                "owner": owner or None,
                "office": office,
                "recording": text_field(body, "recording", limit=200) or None,
                "call_id": call_id or None,
            }
        except WorkOrderError as exc:
            return _refused(exc)
        return await file_order(controller, _actor(request, who), fields)

    async def listing(request: web.Request) -> web.Response:
        who, q = access.principal(request), request.query
        engine = engine_or_none()
        if engine is None:
            return _refuse("database_unavailable", 503)
        for name in ("status", "office", "owner", "line"):
            if name in q and not FILTER_VALUE.fullmatch(q[name]):
                return _refuse("bad_filter", 400, name)
        try:
            limit = int(q.get("limit", "200"))
        except ValueError:
            return _refuse("bad_filter", 400, "limit")
        office = who.office if _is_office(who) else q.get("office")
        owner = q.get("owner")
        if "agent" in who.roles and "supervisor" not in who.roles:
            owner = who.agent or "-"  # an agent lists the orders they own, whatever they ask
        query = store.Filter(
            status=q.get("status"),
            office=office,
            owner=owner,
            line=q.get("line"),
            open_only=q.get("open", "") in ("1", "yes", "true"),
            limit=limit,
        )
        orders = await store.listing(engine, query)
        return web.json_response({"work_orders": [o.public() for o in orders]})

    async def show(request: web.Request) -> web.Response:
        who = access.principal(request)
        engine = engine_or_none()
        if engine is None:
            return _refuse("database_unavailable", 503)
        number = request.match_info["number"]
        order = await store.find(engine, number, who.office if _is_office(who) else None)
        if order is None:
            return _refuse("no_such_order", 404)
        return web.json_response(order.public())

    async def status(request: web.Request) -> web.Response:
        who = access.principal(request)
        engine = engine_or_none()
        if engine is None:
            return _refuse("database_unavailable", 503)
        number = request.match_info["number"]
        try:
            body = await _body(request)
            try:
                to = Status(text_field(body, "status", required=True))
            except ValueError as exc:
                raise WorkOrderError(
                    "unknown_status", "status: one of " + ", ".join(Status)
                ) from exc
            only_office = only_owner = None
            if _is_office(who):
                if to not in OFFICE_STEPS:
                    raise WorkOrderError("not_your_order", "an office answers or sends back")
                only_office = who.office or "-"
            elif "supervisor" not in who.roles:
                # The answer is the office's (or a supervisor's on its behalf), not the owner's.
                if to is Status.ANSWERED:
                    raise WorkOrderError("not_your_step", "the office answers an order")
                only_owner = who.agent or "-"
            satisfaction = body.get("satisfaction")
            if satisfaction is not None and not isinstance(satisfaction, int):
                raise WorkOrderError("bad_satisfaction", "satisfaction is 1 to 5")
            office = text_field(body, "office") or None
            if office is not None and office not in controller.work_orders.offices:
                raise WorkOrderError("unknown_office", f"no office {office!r}")
            order = await store.change(
                engine,
                number,
                to,
                actor=_actor(request, who),
                at=dt.datetime.now(dt.UTC),
                note=text_field(body, "note", limit=MAX_TEXT),
                office=office,
                answer=text_field(body, "answer", limit=MAX_TEXT) or None,
                satisfaction=satisfaction,
                only_office=only_office,
                only_owner=only_owner,
            )
        except WorkOrderError as exc:
            return _refused(exc)
        if to is Status.ANSWERED:
            await sms.notify(
                controller.sms, order.callback_number, sms.answer_text(order), order.number
            )
        return web.json_response(order.public())

    async def owner(request: web.Request) -> web.Response:
        who = access.principal(request)
        engine = engine_or_none()
        if engine is None:
            return _refuse("database_unavailable", 503)
        try:
            body = await _body(request)
            order = await store.change(
                engine,
                request.match_info["number"],
                None,
                actor=_actor(request, who),
                at=dt.datetime.now(dt.UTC),
                new_owner=text_field(body, "owner", required=True, limit=16),
                roster=frozenset(a.number for a in controller.roster.agents),
            )
        except WorkOrderError as exc:
            return _refused(exc)
        return web.json_response(order.public())

    async def escalation_list(request: web.Request) -> web.Response:
        engine = engine_or_none()
        if engine is None:
            return _refuse("database_unavailable", 503)
        desk = getattr(controller, "desk", None)
        agents = frozenset(desk.router.agents) if desk is not None else None
        found = escalations(
            await store.unfinished(engine),
            dt.datetime.now(dt.UTC),
            controller.hours,
            controller.work_orders.policy(),
            agents,
        )
        return web.json_response({"escalations": [escalation_row(e) for e in found]})

    async def call(request: web.Request) -> web.Response:
        """The owner's call-back (hotline/order_calls.py): their desk phone rings first,
        then the citizen's number; 202 with the call's id, or a refusal."""
        who = access.principal(request)
        engine = engine_or_none()
        if engine is None:
            return _refuse("database_unavailable", 503)
        order = await store.find(engine, request.match_info["number"])
        if order is None:
            return _refuse("no_such_order", 404)
        if "supervisor" not in who.roles and (who.agent is None or order.owner != who.agent):
            return _refuse("not_your_order", 403, "only its owner or a supervisor")
        if order.owner is None:
            return _refuse("no_owner", 409, "give the order an owner first")
        if order.status is Status.CLOSED or not order.callback_number:
            return _refuse("nothing_to_call", 409, "closed, or no number to call")
        try:
            call_id = await controller.order_calls.call_back(order, order.owner)
        except OrderCallRefused as exc:
            return _refuse(exc.error_id, 409, str(exc))
        body = {"call": call_id, "order": order.number, "agent": order.owner}
        return web.json_response(body, status=202)

    # /escalations before /{number}: the first matching route wins.
    app.router.add_get("/work-orders/escalations", escalation_list)
    app.router.add_post("/work-orders", create)
    app.router.add_get("/work-orders", listing)
    app.router.add_get(f"/work-orders/{NUMBER}", show)
    app.router.add_post(f"/work-orders/{NUMBER}/status", status)
    app.router.add_post(f"/work-orders/{NUMBER}/owner", owner)
    app.router.add_post(f"/work-orders/{NUMBER}/call", call)


def escalation_row(e: Any) -> dict[str, Any]:
    """One 督办 line as the API and the CLI show it."""
    return {
        "number": e.number,
        "reason": e.reason,
        "due_at": e.due_at.isoformat(),
        "owner": e.owner,
        "office": e.office,
        "status": e.status.value,
    }
