"""Stored days (migration 0011, hotline/report_days.py) against the real PostgreSQL: a month
sums its stored days exactly, and a record written late makes its day computed again.

The days are in June 2019 and the agents 92xx, so records other tests write change nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.figures import build_report
from acd.report_figures import Report
from acd.report_records import Period, ReportRules
from acd.report_rollup import rules_key
from hotline.report_days import LOCK_CLASS, hour_key, period_report
from hotline.report_keeper import one_round, store_past_day
from hotline.report_render import ReportDesk
from hotline.reports import load_records
from tests.support.system import SystemUnderTest

ZONE = ZoneInfo("Asia/Shanghai")
JUNE = Period.month(2019, 6)
RULES = ReportRules()
KEY = rules_key(RULES)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def at(day: int, clock: str) -> dt.datetime:
    return dt.datetime.combine(dt.date(2019, 6, day), dt.time.fromisoformat(clock), ZONE)


async def answered_call(db: asyncpg.Connection, day: int, agent: str) -> str:
    cid = f"rd-{uuid.uuid4().hex[:12]}"
    await db.execute(
        "INSERT INTO calls (channel_id, started_at, answered_at, ended_at, disposition)"
        " VALUES ($1, $2, $3, $4, 'answered')",
        cid,
        at(day, "10:00:00"),
        at(day, "10:00:20"),
        at(day, "10:05:00"),
    )
    await db.execute(
        "INSERT INTO call_events (event_id, channel_id, kind, at, data) VALUES"
        " ($1, $3, 'queued', $4, $5::jsonb), ($2, $3, 'agent', $6, $7::jsonb)",
        uuid.uuid4(),
        uuid.uuid4(),
        cid,
        at(day, "10:00:05"),
        '{"queue": "social_insurance"}',
        at(day, "10:00:20"),
        f'{{"agent": "{agent}"}}',
    )
    await db.execute(
        "INSERT INTO call_segments (channel_id, queue, agent, offered_at, answered_at,"
        " ended_at, outcome) VALUES ($1, 'social_insurance', $2, $3, $4, $5, 'agent_hangup')",
        cid,
        agent,
        at(day, "10:00:15"),
        at(day, "10:00:20"),
        at(day, "10:05:00"),
    )
    return cid


async def stored(db: asyncpg.Connection, hour: int = -1) -> set[int]:
    """The days of June stored whole (hour -1), or whose `hour` is stored."""
    rows = await db.fetch(
        "SELECT day FROM report_days WHERE rules_key = $1 AND day >= $2 AND day < $3 AND hour = $4",
        KEY,
        JUNE.start,
        JUNE.end,
        hour,
    )
    return {row["day"].day for row in rows}


def flat(report: Report) -> dict[str, object]:
    out: dict[str, object] = {}

    def walk(value: object, path: str) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}/{key}")
        else:
            out[path] = pytest.approx(value) if isinstance(value, float) else value

    walk(dataclasses.replace(report, period=JUNE, rules=RULES), "")
    return out


async def month(engine: AsyncEngine) -> Report:
    return await period_report(engine, JUNE, RULES, now=NOW)


async def direct(engine: AsyncEngine) -> Report:
    return build_report(await load_records(engine, JUNE, RULES), JUNE, RULES, NOW)


async def test_a_month_sums_its_stored_days_and_a_late_record_is_counted(
    system: SystemUnderTest, db: asyncpg.Connection
) -> None:
    """
    1. Two answered calls (June 10 and 11) and an agent's day; the month is computed and each
       of its 30 days stored (and their hours); the figures equal those computed from all
       the month's records at once.
    2. A late no-answer leg of a call of June 10, 10:00 forgets that hour and that day only;
       the month counts it.
    3. A late pause of June 11 forgets every day whose states reached past it.
    4. An hour with a call still open is not stored (nor its day); once the call has been
       open 6 hours, it is taken as lost and no longer holds them back.
    """
    engine = create_async_engine(system.instance.database_url or "")
    try:
        first = await answered_call(db, 10, "9201")
        await answered_call(db, 11, "9201")
        for day, status, clock in (
            (10, "ready", "09:00:00"),
            (10, "on_call", "10:00:20"),
            (10, "wrap_up", "10:05:00"),
            (10, "ready", "10:05:30"),
            (11, "on_call", "10:00:20"),
            (11, "ready", "10:05:10"),
            (11, "logged_out", "18:00:00"),
        ):
            await db.execute(
                "INSERT INTO agent_state_changes (agent, status, at) VALUES ('9201', $1, $2)",
                status,
                at(day, clock),
            )
        report = await month(engine)
        assert (report.center.answered, report.by_agent["9201"].answered) == (2, 2)
        assert report.by_agent["9201"].wrapup_seconds == 30  # June 11 has no wrap-up
        assert await stored(db) == set(range(1, 31))
        assert flat(await month(engine)) == flat(await direct(engine))  # from stored days

        await db.execute(
            "INSERT INTO call_segments (channel_id, queue, agent, offered_at, ended_at, outcome)"
            " VALUES ($1, 'social_insurance', '9202', $2, $3, 'no_answer')",
            first,
            at(10, "10:00:06"),
            at(10, "10:00:14"),
        )
        assert await stored(db) == set(range(1, 31)) - {10}
        assert await stored(db, hour=10) == set(range(1, 31)) - {10}
        assert await stored(db, hour=9) == set(range(1, 31))  # its other hours stay
        report = await month(engine)
        assert (report.by_agent["9202"].offered, report.by_agent["9202"].no_answer) == (1, 1)
        assert flat(report) == flat(await direct(engine))

        await db.execute(
            "INSERT INTO agent_state_changes (agent, status, at, reason)"
            " VALUES ('9201', 'paused', $1, 'meeting')",
            at(11, "12:00:00"),
        )
        assert await stored(db) == set(range(1, 11))
        report = await month(engine)
        assert report.by_agent["9201"].time.paused_by_reason == {"meeting": 6 * 3600}
        assert flat(report) == flat(await direct(engine))

        await db.execute(
            "INSERT INTO calls (channel_id, started_at) VALUES ($1, $2)",
            f"rd-{uuid.uuid4().hex[:12]}",
            at(20, "09:00:00"),
        )
        soon = at(20, "12:00:00")  # three hours after it began, the call is open
        await period_report(engine, Period.day(dt.date(2019, 6, 20)), RULES, now=soon)
        assert 20 not in await stored(db, hour=9) and 20 not in await stored(db)
        await month(engine)  # years later, it is a call whose end was never written: lost
        assert await stored(db) == set(range(1, 31))
    finally:
        await engine.dispose()


async def test_a_late_record_waits_while_its_day_is_being_stored(
    system: SystemUnderTest, db: asyncpg.Connection
) -> None:
    """The triggers take the shared lock of the hour they touch: a write of a call of June 12
    waits while that hour is locked (as while June 12 is being stored), then goes through."""
    cid = await answered_call(db, 12, "9203")
    holder = await asyncpg.connect(system.dsn)
    try:
        await holder.execute(
            "SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, hour_key(at(12, "10:00"))
        )
        write = asyncio.ensure_future(
            db.execute("UPDATE calls SET disposition = 'answered' WHERE channel_id = $1", cid)
        )
        done, _ = await asyncio.wait({write}, timeout=1.0)
        assert not done  # blocked on the lock, not failed
        await holder.execute("SELECT pg_advisory_unlock_all()")
        await asyncio.wait_for(write, timeout=10)
    finally:
        await holder.close()


async def test_the_daily_files_are_written_once_when_the_day_is_over(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """The keeper's round at 03:00 on July 3, 2019 stores July 2 and writes its daily report
    (CSV, XLSX) and ministry file once; while a call of that day is still open, none; when a
    record of the day changes later, again."""
    day = dt.date(2019, 7, 2)
    cid = f"rd-{uuid.uuid4().hex[:12]}"
    await db.execute(
        "INSERT INTO calls (channel_id, started_at, ended_at, disposition) VALUES"
        " ($1, $2, $3, 'self_service'), ($4, $5, NULL, NULL)",
        f"rd-{uuid.uuid4().hex[:12]}",
        dt.datetime.combine(day, dt.time(9), ZONE),
        dt.datetime.combine(day, dt.time(9, 2), ZONE),
        cid,
        dt.datetime.combine(day, dt.time(23), ZONE),  # open 4 hours at 03:00: not lost yet
    )
    engine = create_async_engine(system.instance.database_url or "")
    desk = ReportDesk()
    now = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3), ZONE)
    try:
        assert await one_round(engine, desk, RULES, tmp_path, now) == []  # a call still open
        await db.execute(
            "UPDATE calls SET ended_at = $2, disposition = 'self_service' WHERE channel_id = $1",
            cid,
            dt.datetime.combine(day, dt.time(23, 5), ZONE),
        )
        written = await one_round(engine, desk, RULES, tmp_path, now)
        assert sorted(p.name for p in written) == [
            "daily-2019-07-02.csv",
            "daily-2019-07-02.xlsx",
            "ministry-2019-07-02.csv",
        ]
        ministry = (tmp_path / "2019-07-02" / "ministry-2019-07-02.csv").read_text()
        header, row = ministry.splitlines()[:2]
        assert dict(zip(header.split(","), row.split(","), strict=True))["calls_received"] == "2"
        assert load_workbook(tmp_path / "2019-07-02" / "daily-2019-07-02.xlsx").sheetnames
        assert await one_round(engine, desk, RULES, tmp_path, now) == []  # once
        await db.execute("UPDATE calls SET disposition = 'answered' WHERE channel_id = $1", cid)
        again = await one_round(engine, desk, RULES, tmp_path, now)  # the day computed anew
        assert len(again) == 3
    finally:
        desk.close()
        await engine.dispose()


async def test_the_keeper_stores_past_days_not_stored_the_latest_first(
    system: SystemUnderTest, db: asyncpg.Connection
) -> None:
    """Calls on 3 and 10 May 2011 (a history imported: no day stored), now 20 May: each
    keeper round stores one of them, the latest first, then there is nothing left to store;
    a record of 10 May written late makes that day the next one stored again."""
    days = [dt.date(2011, 5, 3), dt.date(2011, 5, 10)]
    ids = [f"rd-{uuid.uuid4().hex[:12]}" for _ in days]
    for cid, day in zip(ids, days, strict=True):
        await db.execute(
            "INSERT INTO calls (channel_id, started_at, ended_at, disposition)"
            " VALUES ($1, $2, $3, 'self_service')",
            cid,
            dt.datetime.combine(day, dt.time(9), ZONE),
            dt.datetime.combine(day, dt.time(9, 2), ZONE),
        )
    engine = create_async_engine(system.instance.database_url or "")
    desk = ReportDesk()
    now = dt.datetime.combine(dt.date(2011, 5, 20), dt.time(3), ZONE)
    try:
        assert await store_past_day(engine, desk, RULES, now) == days[1]
        assert await store_past_day(engine, desk, RULES, now) == days[0]
        assert await store_past_day(engine, desk, RULES, now) is None
        whole = await db.fetch(
            "SELECT day FROM report_days WHERE rules_key = $1 AND hour = -1"
            " AND day BETWEEN '2011-05-01' AND '2011-05-31' ORDER BY day",
            KEY,
        )
        assert [r["day"] for r in whole] == days
        await db.execute("UPDATE calls SET disposition = 'answered' WHERE channel_id = $1", ids[1])
        assert await store_past_day(engine, desk, RULES, now) == days[1]
    finally:
        desk.close()
        await engine.dispose()
