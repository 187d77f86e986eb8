"""Reports from stored hours and days (`report_days`, migration 0011).

An hour is computed from its records once nothing of it can still change (every call that
arrived in it has ended, and the agents' states it reads are behind us), and stored; a day
is stored once its 24 hours are, as their sum. Triggers in PostgreSQL forget a stored hour
or day when a record of it is written later. A day's report then sums its hours (the
hours not stored yet, today's last ones, computed live), a week or a month its days, and
the period's voice messages are read fresh (open/overdue depend on today). Each figure is
a sum over calls by arrival or agents' time clipped to the hour (acd/report_rollup.py), so
the sums equal a computation over the whole period.

Storing an hour takes session advisory locks on the UTC hours its records span (the
triggers take the same locks shared), so a record written while its hour is being stored
waits, then forgets the stored hour: a stored figure is never older than its records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.agent_activity import STATES_AFTER_LAST_CALL  # reports.py _STATES reads this far past
from acd.figures import build_report, voice_message_figures, work_order_topics
from acd.report_figures import Report, VoiceMessageFigures
from acd.report_records import Period, Records, ReportRules, VoiceMessageRecord
from acd.report_rollup import combine, day_from_json, day_to_json, rules_key
from hotline.reports import in_thread, read_records

log = structlog.get_logger("reports")

# As in migration 0011: keys (class, UTC hours since 2000-01-01); calls' rows lock the hour
# their call started in, agents' states the hour they happened in. Storing an hour locks
# that one hour of calls (calls in progress started later and go on unhindered) and the
# states its window spans (live states are recent: the triggers skip them).
LOCK_CLASS = 12333
STATES_LOCK_CLASS = 12334
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
STARTING_STATES = dt.timedelta(hours=24)  # late states this far back are locked out too
# An hour is stored this long after the last states it reads: the triggers skip records
# more recent than half of it (migration 0011, RECENT), and the journal's writes lag.
STORE_AFTER = dt.timedelta(minutes=10)
# A call still open this long after it started is taken as lost (its end never written:
# it ended while no controller ran); it no longer keeps its hour from being stored.
LOST_AFTER = dt.timedelta(hours=6)
WHOLE_DAY = -1  # report_days.hour of a day's row

# The days stored whole, and the hours of the other days only (a month reads 30 rows).
_STORED = (
    "SELECT day, hour, window_end, body FROM report_days r"
    " WHERE rules_key = :key AND day >= :first AND day < :end AND (hour = -1 OR NOT EXISTS"
    " (SELECT 1 FROM report_days w WHERE w.day = r.day AND w.hour = -1"
    " AND w.rules_key = r.rules_key))"
)
_STATUS = (
    "SELECT count(*) FILTER (WHERE ended_at IS NULL AND started_at > :lost) AS open,"
    " count(*) AS calls, max(ended_at) AS last_end"
    " FROM calls WHERE started_at >= :start AND started_at < :end"
)
_STORE = (
    "INSERT INTO report_days (day, hour, rules_key, zone, window_end, calls, body)"
    " VALUES (:day, :hour, :key, :zone, :window_end, :calls, CAST(:body AS jsonb))"
    " ON CONFLICT (day, hour, rules_key) DO UPDATE SET zone = EXCLUDED.zone,"
    " window_end = EXCLUDED.window_end, calls = EXCLUDED.calls, body = EXCLUDED.body,"
    " computed_at = now()"
)
_HOURS = (
    "SELECT hour, window_end, body FROM report_days"
    " WHERE day = :day AND hour >= 0 AND rules_key = :key"
)
# Work orders by the day they were opened (no index on opened_at: the table holds the few
# calls not answered on the call; a year of a big center's is read in well under a second).
_ORDER_TOPICS = (
    "SELECT kind, line, count(*) AS n FROM work_orders"
    " WHERE opened_at >= :start AND opened_at < :end GROUP BY kind, line"
)
_VOICE_MESSAGES = (
    "SELECT created_at, due_on, origin, status FROM voice_messages"
    " WHERE created_at >= :start AND created_at < :end"
)


def hour_key(moment: dt.datetime) -> int:
    """The advisory lock key of the UTC hour holding `moment` (report_hour_key in SQL)."""
    return int((moment - EPOCH).total_seconds() // 3600)


@dataclass
class Part:
    """An hour's or a day's report, and the end of the agents' states it read (None: not
    closed, so not stored)."""

    report: Report
    window_end: dt.datetime | None


async def period_report(
    engine: AsyncEngine,
    period: Period,
    rules: ReportRules,
    now: dt.datetime | None = None,
    executor: Executor | None = None,
) -> Report:
    """The period's report (a day, a week or a month) from stored hours and days, computing
    and storing those missing."""
    moment = now or dt.datetime.now(dt.UTC)
    key = rules_key(rules)
    async with engine.connect() as conn:
        stored = await _stored(conn, period, key)
        voice = await _voice_messages(conn, period, rules)
        start, end = period.bounds(rules.zone)
        orders = (await conn.execute(text(_ORDER_TOPICS), {"start": start, "end": end})).all()
        await conn.commit()
    days = [
        (await _day(engine, day, rules, moment, stored, executor)).report for day in period.days()
    ]
    figures = voice_message_figures(voice, period, rules, rules.local(moment).date())
    report = await in_thread(executor, combine, period, rules, days, figures)
    return replace(report, order_topics=work_order_topics((r.kind, r.line, r.n) for r in orders))


async def _stored(
    conn: AsyncConnection, period: Period, key: str
) -> dict[tuple[dt.date, int], tuple[dt.datetime, dict[str, Any]]]:
    bounds = {"key": key, "first": period.start, "end": period.end}
    rows = (await conn.execute(text(_STORED), bounds)).all()
    await conn.commit()
    return {(row.day, row.hour): (row.window_end, row.body) for row in rows}


async def _voice_messages(
    conn: AsyncConnection, period: Period, rules: ReportRules
) -> Sequence[VoiceMessageRecord]:
    start, end = period.bounds(rules.zone)
    rows = (await conn.execute(text(_VOICE_MESSAGES), {"start": start, "end": end})).all()
    await conn.commit()
    return [VoiceMessageRecord(r.created_at, r.due_on, r.origin, r.status) for r in rows]


async def _day(
    engine: AsyncEngine,
    day: dt.date,
    rules: ReportRules,
    now: dt.datetime,
    stored: dict[tuple[dt.date, int], tuple[dt.datetime, dict[str, Any]]],
    executor: Executor | None,
) -> Part:
    """A day: stored, or the sum of its hours (stored once they all are)."""
    if (day, WHOLE_DAY) in stored:
        window_end, body = stored[(day, WHOLE_DAY)]
        return Part(day_from_json(day, rules, body), window_end)
    period = Period.day(day)
    if period.bounds(rules.zone)[0] > now:  # ahead: nothing, unless a test wrote it there
        return await _block(engine, period, rules, now, executor)
    hours: list[Part] = []
    for hour in range(24):
        if (day, hour) in stored:
            window_end, body = stored[(day, hour)]
            hours.append(Part(day_from_json(day, rules, body), window_end))
        else:
            hours.append(await _block(engine, Period.one_hour(day, hour), rules, now, executor))
    report = await in_thread(
        executor, combine, period, rules, [h.report for h in hours], VoiceMessageFigures()
    )
    ends = [h.window_end for h in hours]
    if any(end is None for end in ends):
        return Part(report, None)
    window_end = max(end for end in ends if end is not None)
    start, end = period.bounds(rules.zone)
    async with engine.connect() as conn:
        try:
            # Summed again from the hours stored now, under their locks: another process
            # (the CLI) may have stored an hour again since this one read it.
            await _lock(conn, start, end, window_end)
            rows = (await conn.execute(text(_HOURS), {"day": day, "key": rules_key(rules)})).all()
            await conn.commit()
            if len(rows) != 24:
                return Part(report, None)
            again = [day_from_json(day, rules, row.body) for row in rows]
            whole = await in_thread(executor, combine, period, rules, again, VoiceMessageFigures())
            window_end = max(row.window_end for row in rows)
            await _store(conn, period, rules, whole, window_end, whole.center.calls)
        except DBAPIError as exc:  # a deadlock with a late write: that write wins
            log.warning("report_day_not_stored", day=day.isoformat(), error=str(exc)[:200])
            return Part(report, None)
        finally:
            await _unlock(conn)
    return Part(whole, window_end)


# Volatile functions run after the sort (PostgreSQL 9.6 on): the locks are taken in order.
_LOCK = (
    "SELECT count(*) FROM (SELECT pg_advisory_lock(c, k) FROM"
    " (SELECT CAST(:calls AS integer) AS c,"
    " generate_series(CAST(:c0 AS integer), CAST(:c1 AS integer)) AS k"
    " UNION ALL SELECT CAST(:states AS integer),"
    " generate_series(CAST(:s0 AS integer), CAST(:s1 AS integer))) keys"
    " ORDER BY c, k) locked"
)


async def _lock(
    conn: AsyncConnection, start: dt.datetime, end: dt.datetime, window_end: dt.datetime
) -> None:
    """The advisory locks of a block's calls' hours [start, end) and of the agents' states
    it reads, ascending, in one statement (the triggers take theirs in the same order)."""
    keys = {
        "calls": LOCK_CLASS,
        "c0": hour_key(start),
        "c1": hour_key(end - dt.timedelta(microseconds=1)),
        "states": STATES_LOCK_CLASS,
        "s0": hour_key(start - STARTING_STATES),
        "s1": hour_key(window_end),
    }
    await conn.execute(text(_LOCK), keys)
    await conn.commit()


async def _unlock(conn: AsyncConnection) -> None:
    await conn.rollback()
    await conn.execute(text("SELECT pg_advisory_unlock_all()"))
    await conn.commit()


async def _store(
    conn: AsyncConnection,
    period: Period,
    rules: ReportRules,
    report: Report,
    window_end: dt.datetime,
    calls: int,
) -> None:
    values = {
        "day": period.start,
        "hour": WHOLE_DAY if period.hour is None else period.hour,
        "key": rules_key(rules),
        "zone": rules.timezone,
        "window_end": window_end,
        "calls": calls,
        "body": json.dumps(day_to_json(report)),
    }
    await conn.execute(text(_STORE), values)
    await conn.commit()


async def _computed(
    conn: AsyncConnection,
    period: Period,
    rules: ReportRules,
    now: dt.datetime,
    executor: Executor | None,
) -> tuple[Records, Report]:
    """The period's records (one snapshot) and its report from them."""
    records = await read_records(conn, period, rules, executor)
    return records, await in_thread(executor, build_report, records, period, rules, now)


def _still_closed(
    records: Records, end: dt.datetime, window_end: dt.datetime, now: dt.datetime
) -> bool:
    """Whether the records read under the locks are those the decision to store was made
    on: no call open (lost ones apart), and the states read within the locked window."""
    ends = [c.ended_at for c in records.calls if c.ended_at is not None]
    if any(c.ended_at is None and c.started_at > now - LOST_AFTER for c in records.calls):
        return False
    return max([end, *(e + STATES_AFTER_LAST_CALL for e in ends)]) <= window_end


async def _block(
    engine: AsyncEngine,
    period: Period,
    rules: ReportRules,
    now: dt.datetime,
    executor: Executor | None,
) -> Part:
    """An hour (or a day ahead) from its records, stored when it can no longer change."""
    start, end = period.bounds(rules.zone)
    async with engine.connect() as conn:
        bounds = {"start": start, "end": end, "lost": now - LOST_AFTER}
        status = (await conn.execute(text(_STATUS), bounds)).one()
        await conn.commit()
        window_end = max(end, (status.last_end or end) + STATES_AFTER_LAST_CALL)
        if not status.calls and start > now:  # ahead, empty: nothing to read
            return Part(build_report(Records(), period, rules, now), None)
        if status.open or now < window_end + STORE_AFTER or period.hour is None:
            return Part((await _computed(conn, period, rules, now, executor))[1], None)
        try:
            await _lock(conn, start, end, window_end)
            records, report = await _computed(conn, period, rules, now, executor)
            if not _still_closed(records, end, window_end, now):  # a replay came meanwhile
                return Part(report, None)
            await _store(conn, period, rules, report, window_end, len(records.calls))
        except DBAPIError as exc:  # a deadlock with a late write: that write wins
            await conn.rollback()
            log.warning("report_hour_not_stored", hour=period.label, error=str(exc)[:200])
            return Part((await _computed(conn, period, rules, now, executor))[1], None)
        finally:
            await _unlock(conn)
        return Part(report, window_end)
