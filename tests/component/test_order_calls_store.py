"""What the center's calls about a work order write with it, in the test instance's real
PostgreSQL: the call-back's step, each follow-up attempt counted once, the last one stored
as not reached; every change audited."""

from __future__ import annotations

import datetime as dt

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.work_orders import DeadlinePolicy, Status
from hotline import REPO_ROOT
from hotline import order_calls_store as calls
from hotline import work_orders_store as store
from ivr.hours import load_hours
from tests.support.system import SystemUnderTest


async def _answered_order(engine: AsyncEngine, caller: str, now: dt.datetime) -> str:
    """A work order owned by 1001, sent to the employment office and answered: the
    follow-up is due. Returns its number."""
    owner = store.Actor("1001", "agent")
    order = await store.create(
        engine,
        actor=owner,
        at=now,
        policy=DeadlinePolicy(),
        hours=load_hours(REPO_ROOT / "dialplan"),
        caller_number=caller,
        callback_number="",
        id_number="",
        question="失业金何时到账",
        line="employment",
        kind="standard",
        owner="1001",
        office="employment",
    )
    n = order.number
    await store.change(engine, n, Status.SENT, actor=owner, at=now)
    office = store.Actor("token:employment", "office")
    await store.change(engine, n, Status.ANSWERED, actor=office, at=now, answer="已发放")
    return n


async def test_follow_up_attempts_are_counted_once_and_the_last_stored_as_not_reached(
    system: SystemUnderTest, db: asyncpg.Connection
) -> None:
    engine = create_async_engine(system.instance.database_url or "")
    now = dt.datetime.now(dt.UTC)
    try:
        n = await _answered_order(engine, "13900000581", now)
        (texted,) = [s for o, s in await calls.follow_up_candidates(engine) if o.number == n]
        assert texted.called_back_at is None
        note = "call-back wo1 by 1001: talked, 5 s"
        agent = store.Actor("agent:1001", "agent")
        await calls.call_noted(engine, n, actor=agent, at=now, note=note, reached=True)
        (state,) = [s for o, s in await calls.follow_up_candidates(engine) if o.number == n]
        assert (state.attempts, state.called_back_at) == (0, now)
        # Two scans that read the same count place one call.
        assert await calls.claim_attempt(engine, n, 0, now)
        assert not await calls.claim_attempt(engine, n, 0, now)
        tried = await calls.follow_up_ended(
            engine, n, verdict="retry", result="not_reached", satisfaction=None, attempt=1, at=now
        )
        assert tried.status is Status.ANSWERED
        assert await calls.claim_attempt(engine, n, 1, now)
        done = await calls.follow_up_ended(
            engine,
            n,
            verdict="no_answer",
            result="not_reached",
            satisfaction=None,
            attempt=2,
            at=now,
        )
        assert (done.status, done.satisfaction) == (Status.FOLLOWED_UP, None)
        assert [c.note for c in done.history[-3:]] == [
            note,
            "follow-up attempt 1: not reached",
            "follow-up: not_reached (attempt 2)",
        ]
        assert not [o for o, _ in await calls.follow_up_candidates(engine) if o.number == n]
    finally:
        await engine.dispose()
    row = await db.fetchrow("SELECT * FROM work_orders WHERE number = $1", n)
    assert (row["status"], row["follow_up_result"], row["follow_up_attempts"]) == (
        "followed_up",
        "not_reached",
        2,
    )
    audited = await db.fetch("SELECT what FROM audit_log WHERE target = $1 ORDER BY id", n)
    assert [a["what"] for a in audited][-3:] == [
        "workorder.call",
        "workorder.follow_up_attempt",
        "workorder.followed_up",
    ]


async def test_a_follow_up_cut_short_by_a_restart_is_given_back_for_a_later_attempt(
    system: SystemUnderTest, db: asyncpg.Connection
) -> None:
    engine = create_async_engine(system.instance.database_url or "")
    now = dt.datetime.now(dt.UTC)
    try:
        n = await _answered_order(engine, "13900000582", now)
        assert await calls.claim_attempt(engine, n, 0, now)
        later = now + dt.timedelta(seconds=5)
        cut = await calls.follow_up_interrupted(engine, n, attempt=1, at=later)
        assert cut.history[-1].note == (
            "follow-up attempt 1: interrupted by a restart, placed again later"
        )
        (state,) = [s for o, s in await calls.follow_up_candidates(engine) if o.number == n]
        assert (state.attempts, state.last_attempt) == (0, now)  # spaced from its start
        again = await calls.follow_up_interrupted(engine, n, attempt=1, at=later)
        assert len(again.history) == len(cut.history)  # given back once
    finally:
        await engine.dispose()
    audited = await db.fetch("SELECT what FROM audit_log WHERE target = $1 ORDER BY id", n)
    assert [a["what"] for a in audited][-1:] == ["workorder.follow_up_attempt"]
