"""What the center's calls about work orders write with the order (migration 0014_follow_up):
a call-back's step in the history, the follow-up's attempts and its result. Each change is
one transaction with its audit row, as in hotline/work_orders_store.py.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.order_calls import FollowUpState
from acd.work_orders import Status, WorkOrder, advance, noted
from hotline import audit
from hotline import work_orders_store as store

SYSTEM = store.Actor("system", "system")


async def _locked(conn: AsyncConnection, number: str) -> tuple[int, WorkOrder]:
    rows = (
        await conn.execute(
            text(f"SELECT {store._COLUMNS} FROM work_orders WHERE number = :n FOR UPDATE"),
            {"n": number},
        )
    ).all()
    if not rows:
        raise store.NotFound(number)
    (order,) = await store._with_steps(conn, list(rows))
    return rows[0].id, order


async def call_noted(
    engine: AsyncEngine,
    number: str,
    *,
    actor: store.Actor,
    at: dt.datetime,
    note: str,
    reached: bool,
) -> WorkOrder:
    """A call-back about the order took place (`reached`: the citizen talked with the
    owner, which starts the follow-up's clock): a step in its history, audited."""
    async with engine.begin() as conn:
        order_id, before = await _locked(conn, number)
        after = noted(before, note, by=actor.who, at=at)
        if reached:
            await conn.execute(
                text("UPDATE work_orders SET called_back_at = :at WHERE id = :id"),
                {"at": at, "id": order_id},
            )
        await store._step(conn, order_id, after.history[-1])
        entry = store._audit(actor, "workorder.call", after, reached=reached)
        await audit.write(conn, entry)
    return after


async def follow_up_candidates(
    engine: AsyncEngine, limit: int = 1000
) -> list[tuple[WorkOrder, FollowUpState]]:
    """Answered orders whose follow-up has no result yet, with what is known of it (the
    oldest `limit`: a bound on one scan, far above the answered orders a center holds)."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    f"SELECT {store._COLUMNS}, called_back_at, follow_up_attempts,"
                    " follow_up_last FROM work_orders WHERE status = 'answered'"
                    " AND follow_up_result IS NULL ORDER BY id LIMIT :limit"
                ),
                {"limit": limit},
            )
        ).all()
        orders = await store._with_steps(conn, list(rows))
    return [
        (order, FollowUpState(row.follow_up_attempts, row.follow_up_last, row.called_back_at))
        for order, row in zip(orders, rows, strict=True)
    ]


async def claim_attempt(engine: AsyncEngine, number: str, made: int, at: dt.datetime) -> bool:
    """Count one more follow-up attempt, unless another one was counted since `made` was
    read (the attempt is then not placed: never two calls for one attempt)."""
    async with engine.begin() as conn:
        result = await conn.execute(
            text(
                "UPDATE work_orders SET follow_up_attempts = follow_up_attempts + 1,"
                " follow_up_last = :at WHERE number = :n AND follow_up_attempts = :made"
                " AND status = 'answered' AND follow_up_result IS NULL"
            ),
            {"n": number, "made": made, "at": at},
        )
    return bool(result.rowcount)


async def follow_up_ended(
    engine: AsyncEngine,
    number: str,
    *,
    verdict: str,
    result: str,
    satisfaction: int | None,
    attempt: int,
    at: dt.datetime,
) -> WorkOrder:
    """One follow-up attempt's end (`verdict` from acd/order_calls.after_attempt): the
    order becomes `followed_up` with the rating (or as not reached), or notes the attempt."""
    async with engine.begin() as conn:
        order_id, before = await _locked(conn, number)
        if before.status is not Status.ANSWERED:
            return before  # changed meanwhile (sent back to the office): nothing to store
        if verdict == "retry":
            after = noted(before, f"follow-up attempt {attempt}: not reached", by="system", at=at)
            what = "workorder.follow_up_attempt"
        else:
            stored = "not_reached" if verdict == "no_answer" else result
            note = f"follow-up: {stored} (attempt {attempt})"
            after = advance(
                before,
                Status.FOLLOWED_UP,
                by="system",
                at=at,
                note=note,
                satisfaction=satisfaction,
            )
            await conn.execute(
                text(
                    "UPDATE work_orders SET status = :status, satisfaction = :satisfaction,"
                    " follow_up_result = :result WHERE id = :id"
                ),
                {
                    "status": after.status.value,
                    "satisfaction": after.satisfaction,
                    "result": stored,
                    "id": order_id,
                },
            )
            what = f"workorder.{after.status.value}"
        await store._step(conn, order_id, after.history[-1])
        await audit.write(conn, store._audit(SYSTEM, what, after, attempt=attempt))
    return after


async def follow_up_interrupted(
    engine: AsyncEngine, number: str, *, attempt: int, at: dt.datetime
) -> WorkOrder:
    """A controller restart cut follow-up attempt `attempt` short: it is given back (not
    counted), so the watch places it again once `retry_after_minutes` have passed since it
    began; the history says so. Nothing changes if the order moved on meanwhile."""
    async with engine.begin() as conn:
        order_id, before = await _locked(conn, number)
        given_back = await conn.execute(
            text(
                "UPDATE work_orders SET follow_up_attempts = follow_up_attempts - 1"
                " WHERE id = :id AND follow_up_attempts = :attempt AND status = 'answered'"
                " AND follow_up_result IS NULL"
            ),
            {"id": order_id, "attempt": attempt},
        )
        if not given_back.rowcount:
            return before
        note = f"follow-up attempt {attempt}: interrupted by a restart, placed again later"
        after = noted(before, note, by="system", at=at)
        await store._step(conn, order_id, after.history[-1])
        entry = store._audit(SYSTEM, "workorder.follow_up_attempt", after, attempt=attempt)
        await audit.write(conn, entry)
    return after
