"""Work orders in PostgreSQL: create, load, list, change; every change audited with it.

Each change is one short transaction: the order row is locked (FOR UPDATE), the pure core
(acd/work_orders.py) decides, the row and a step are written, and the audit row commits with
them — a change without its audit row, or the reverse, cannot exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.work_order_config import WorkOrdersConfig
from acd.work_orders import (
    AWAITING_ANSWER,
    Change,
    DeadlinePolicy,
    Status,
    WorkOrder,
    WorkOrderError,
    advance,
    open_order,
    order_number,
    take_over,
)
from hotline import audit
from ivr.hours import BusinessHours

log = structlog.get_logger("work_orders")

_COLUMNS = (
    "id, number, caller_number, callback_number, id_number, question, line, kind, office,"
    " owner, status, opened_at, due_at, recording, answer, satisfaction"
)
MAX_LIST = 500  # one API or CLI page
UNFINISHED_CAP = 1_000_000  # a bound, not a page: a center has some thousands open at most


@dataclass(frozen=True)
class Actor:
    """Who changes an order, as the audit log names them."""

    who: str
    role: str = ""
    source: str = ""


@dataclass(frozen=True)
class Filter:
    """List filters; None: any. `office` also confines an office's token to its own orders."""

    status: str | None = None
    office: str | None = None
    owner: str | None = None
    line: str | None = None
    open_only: bool = False
    limit: int = 200


class NotFound(WorkOrderError):
    """No such order (or not one this office may see: the same answer, so as not to tell)."""

    def __init__(self, number: str) -> None:
        super().__init__("no_such_order", f"no work order {number}")


def _order(row: Any, steps: list[Any]) -> WorkOrder:
    return WorkOrder(
        number=row.number,
        caller_number=row.caller_number,
        callback_number=row.callback_number,
        id_number=row.id_number,
        question=row.question,
        line=row.line,
        kind=row.kind,
        office=row.office,
        owner=row.owner,
        opened_at=row.opened_at,
        due_at=row.due_at,
        history=tuple(Change(Status(s.status), s.at, s.by, s.note) for s in steps),
        recording=row.recording,
        answer=row.answer,
        satisfaction=row.satisfaction,
    )


async def _with_steps(conn: AsyncConnection, rows: list[Any]) -> list[WorkOrder]:
    if not rows:
        return []
    steps = await conn.execute(
        text(
            "SELECT order_id, status, at, by, note FROM work_order_steps"
            " WHERE order_id = ANY(:ids) ORDER BY id"
        ),
        {"ids": [r.id for r in rows]},
    )
    by_order: dict[int, list[Any]] = {}
    for step in steps:
        by_order.setdefault(step.order_id, []).append(step)
    return [_order(r, by_order.get(r.id, [])) for r in rows]


async def _step(conn: AsyncConnection, order_id: int, change: Change) -> None:
    await conn.execute(
        text(
            "INSERT INTO work_order_steps (order_id, status, at, by, note)"
            " VALUES (:id, :status, :at, :by, :note)"
        ),
        {
            "id": order_id,
            "status": change.status.value,
            "at": change.at,
            "by": change.by[:80],
            "note": change.note,
        },
    )


def _audit(actor: Actor, what: str, order: WorkOrder, **detail: Any) -> audit.Entry:
    # No ID number, question or answer in the audit log: the order holds them.
    return audit.Entry(
        actor.who,
        what,
        role=actor.role,
        target=order.number,
        source=actor.source,
        detail={"status": order.status.value, "office": order.office, **detail},
    )


_FORGET_CALL = (
    "SELECT report_days_forget_calls_at(ARRAY(SELECT started_at FROM calls"
    " WHERE channel_id = :call_id))"
)


async def create(
    engine: AsyncEngine,
    *,
    actor: Actor,
    at: dt.datetime,
    policy: DeadlinePolicy,
    hours: BusinessHours,
    caller_number: str,
    callback_number: str,
    id_number: str,
    question: str,
    line: str,
    kind: str,
    owner: str | None,
    office: str = "",
    recording: str | None = None,
    call_id: str | None = None,
) -> WorkOrder:
    """A new open order, numbered `<year><8 digits>`; audited as `workorder.create`."""
    async with engine.begin() as conn:
        sequence = (await conn.execute(text("SELECT nextval('work_order_numbers')"))).scalar_one()
        # The year the center's calendar is in, not the server's (an order at 23:30 UTC on
        # 31 December is next year's in Beijing).
        local_year = at.astimezone(ZoneInfo(hours.timezone)).year
        order = open_order(
            number=order_number(local_year, sequence % 10**8 or 1),
            caller_number=caller_number,
            callback_number=callback_number,
            id_number=id_number,
            question=question,
            line=line,
            kind=kind,
            owner=owner,
            by=actor.who,
            at=at,
            policy=policy,
            hours=hours,
            office=office,
            recording=recording,
        )
        order_id = (
            await conn.execute(
                text(
                    "INSERT INTO work_orders (number, caller_number, callback_number, id_number,"
                    " question, line, kind, office, owner, status, opened_at, due_at, recording,"
                    " call_id) VALUES (:number, :caller, :callback, :id_number, :question,"
                    " :line, :kind, :office, :owner, :status, :opened_at, :due_at, :recording,"
                    " :call_id) RETURNING id"
                ),
                {
                    "number": order.number,
                    "caller": order.caller_number[:64],
                    "callback": order.callback_number[:64],
                    "id_number": order.id_number[:18],
                    "question": order.question,
                    "line": order.line[:64],
                    "kind": order.kind,
                    "office": order.office,
                    "owner": order.owner,
                    "status": order.status.value,
                    "opened_at": order.opened_at,
                    "due_at": order.due_at,
                    "recording": order.recording,
                    "call_id": call_id,
                },
            )
        ).scalar_one()
        await _step(conn, order_id, order.history[0])
        if call_id is not None and not call_id.startswith("vm:"):
            # The call's stored report hour and day (report_days) counted it without an
            # order: forget them (the 0011 triggers do so for the call's own rows).
            await conn.execute(text(_FORGET_CALL), {"call_id": call_id})
        entry = _audit(actor, "workorder.create", order, type=kind, due_at=order.due_at.isoformat())
        await audit.write(conn, entry)
    return order


async def find(engine: AsyncEngine, number: str, office: str | None = None) -> WorkOrder | None:
    """One order by number; with `office`, only if it is that office's."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    f"SELECT {_COLUMNS} FROM work_orders WHERE number = :n"
                    " AND (CAST(:office AS text) IS NULL OR office = :office)"
                ),
                {"n": number, "office": office},
            )
        ).all()
        found = await _with_steps(conn, list(rows))
    return found[0] if found else None


async def listing(engine: AsyncEngine, query: Filter, cap: int = MAX_LIST) -> list[WorkOrder]:
    """Orders matching the filter, the soonest due first (at most `cap`)."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    f"SELECT {_COLUMNS} FROM work_orders"
                    " WHERE (CAST(:status AS text) IS NULL OR status = :status)"
                    " AND (CAST(:office AS text) IS NULL OR office = :office)"
                    " AND (CAST(:owner AS text) IS NULL OR owner = :owner)"
                    " AND (CAST(:line AS text) IS NULL OR line = :line)"
                    " AND (NOT :open_only OR status <> 'closed')"
                    " ORDER BY due_at, id LIMIT :limit"
                ),
                {
                    "status": query.status,
                    "office": query.office,
                    "owner": query.owner,
                    "line": query.line,
                    "open_only": query.open_only,
                    "limit": min(max(query.limit, 1), cap),
                },
            )
        ).all()
        return await _with_steps(conn, list(rows))


async def progress(
    engine: AsyncEngine, number: str, config: WorkOrdersConfig, hours: BusinessHours
) -> dict[str, Any] | None:
    """What the voice menu reads for a case number: status, the office's prompt and, while
    the answer is awaited, the deadline's date (in the center's time zone)."""
    if not number.isdigit() or len(number) != 12:
        return None
    order = await find(engine, number)
    if order is None:
        return None
    office = config.offices.get(order.office)
    awaited = order.status in AWAITING_ANSWER
    return {
        "number": order.number,
        "status": order.status.value,
        "office_prompt": office.prompt if office is not None else None,
        "due": hours.local_date(order.due_at) if awaited else None,
    }


async def from_voice_messages(
    engine: AsyncEngine, *, policy: DeadlinePolicy, hours: BusinessHours, limit: int = 200
) -> list[WorkOrder]:
    """Open voice messages (and expired callbacks) not yet work orders become orders of type
    `voice_message`, with no owner (so on the 督办 list until a supervisor gives them one):
    one list of deferred answers. Idempotent: the order's call_id is `vm:<message id>`."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT v.id, v.caller_number, v.callback_number, v.recording, v.seconds,"
                    " v.created_at FROM voice_messages v WHERE v.status = 'open' AND NOT EXISTS"
                    " (SELECT 1 FROM work_orders w WHERE w.call_id = 'vm:' || v.id)"
                    " ORDER BY v.id LIMIT :limit"
                ),
                {"limit": limit},
            )
        ).all()
    made = []
    for row in rows:
        if row.recording:
            question = f"语音留言（{round(row.seconds)}秒），请听录音后回电。"
        else:
            question = "预约回电未能接通，请回电。"
        try:
            made.append(
                await create(
                    engine,
                    actor=Actor("system", "system"),
                    at=row.created_at,
                    policy=policy,
                    hours=hours,
                    caller_number=row.caller_number or "",
                    callback_number=row.callback_number or "",
                    id_number="",
                    question=question,
                    line="voicemail",
                    kind="voice_message",
                    owner=None,
                    recording=row.recording,
                    call_id=f"vm:{row.id}",
                )
            )
        except IntegrityError:  # another controller took it first
            continue
        except WorkOrderError as exc:  # no number to call back: nothing an agent can do
            log.warning("voice_message_not_an_order", message=row.id, error=str(exc))
    return made


async def unfinished(engine: AsyncEngine) -> list[WorkOrder]:
    """Every order not closed (what the 督办 scan reads; not capped like an API page, where
    an unfinished order left out would never be chased)."""
    return await listing(engine, Filter(open_only=True, limit=UNFINISHED_CAP), UNFINISHED_CAP)


async def change(
    engine: AsyncEngine,
    number: str,
    to: Status | None,
    *,
    actor: Actor,
    at: dt.datetime,
    note: str = "",
    office: str | None = None,
    answer: str | None = None,
    satisfaction: int | None = None,
    new_owner: str | None = None,
    only_office: str | None = None,
    only_owner: str | None = None,
    roster: frozenset[str] | None = None,
) -> WorkOrder:
    """One step (`to`), or a new owner (`to` None, `new_owner`): locked, decided by the core,
    written with its audit row. `only_office`: an office's token may touch its orders only;
    `only_owner`: an agent may change only the orders they own (checked under the lock);
    `roster`: the 工号 a new owner must be one of."""
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                text(
                    f"SELECT {_COLUMNS} FROM work_orders WHERE number = :n"
                    " AND (CAST(:office AS text) IS NULL OR office = :office) FOR UPDATE"
                ),
                {"n": number, "office": only_office},
            )
        ).all()
        if not rows:
            raise NotFound(number)
        (before,) = await _with_steps(conn, list(rows))
        if only_owner is not None and before.owner != only_owner:
            raise WorkOrderError("not_your_order", "only its owner or a supervisor may change it")
        if to is None:
            after = take_over(before, new_owner or "", by=actor.who, at=at, agents=roster)
            what = "workorder.owner"
        else:
            after = advance(
                before,
                to,
                by=actor.who,
                at=at,
                note=note,
                office=office,
                answer=answer,
                satisfaction=satisfaction,
            )
            what = f"workorder.{to.value}"
        await conn.execute(
            text(
                "UPDATE work_orders SET status = :status, office = :office, owner = :owner,"
                " answer = :answer, satisfaction = :satisfaction WHERE id = :id"
            ),
            {
                "status": after.status.value,
                "office": after.office,
                "owner": after.owner,
                "answer": after.answer,
                "satisfaction": after.satisfaction,
                "id": rows[0].id,
            },
        )
        await _step(conn, rows[0].id, after.history[-1])
        await audit.write(conn, _audit(actor, what, after, owner=after.owner or ""))
    return after
