"""Week and month reports from stored days (`report_days`, migration 0011).

A past day is computed from its records once, when nothing of it can still change (every
call of the day has ended and the agents' states it reads are an hour behind us), and
stored; triggers in PostgreSQL forget it if a record of it is written later. A week or a
month then sums its stored days (acd/report_rollup.py), computes today live and the
missing past days once, and reads the period's voice messages fresh (their open/overdue
figures depend on today).

Storing a day takes session advisory locks on the UTC hours its records span (the
triggers take the same locks shared), so a record written while its day is being stored
waits, then forgets the stored day: a stored day is never older than its records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.figures import Report, build_report, voice_message_figures
from acd.report_records import Period, ReportRules, VoiceMessageRecord
from acd.report_rollup import combine, day_from_json, day_to_json, rules_key
from hotline.reports import in_thread, read_records

log = structlog.get_logger("reports")

LOCK_CLASS = 12333  # as in migration 0011: keys (LOCK_CLASS, UTC hours since 2000-01-01)
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
STATES_AFTER_LAST_CALL = dt.timedelta(hours=1)  # reports.py _STATES reads this far past
STARTING_STATES = dt.timedelta(hours=24)  # late states this far back are locked out too

_STORED = (
    "SELECT day, body FROM report_days WHERE rules_key = :key AND day >= :first AND day < :end"
)
_DAY_STATUS = (
    "SELECT count(*) FILTER (WHERE ended_at IS NULL) AS open, count(*) AS calls,"
    " max(ended_at) AS last_end FROM calls WHERE started_at >= :start AND started_at < :end"
)
_STORE = (
    "INSERT INTO report_days (day, rules_key, zone, window_end, calls, body)"
    " VALUES (:day, :key, :zone, :window_end, :calls, CAST(:body AS jsonb))"
    " ON CONFLICT (day, rules_key) DO UPDATE SET zone = EXCLUDED.zone,"
    " window_end = EXCLUDED.window_end, calls = EXCLUDED.calls, body = EXCLUDED.body,"
    " computed_at = now()"
)
_VOICE_MESSAGES = (
    "SELECT created_at, due_on, origin, status FROM voice_messages"
    " WHERE created_at >= :start AND created_at < :end"
)


def hour_key(moment: dt.datetime) -> int:
    """The advisory lock key of the UTC hour holding `moment` (report_hour_key in SQL)."""
    return int((moment - EPOCH).total_seconds() // 3600)


async def period_report(
    engine: AsyncEngine,
    period: Period,
    rules: ReportRules,
    now: dt.datetime | None = None,
    executor: Executor | None = None,
) -> Report:
    """The period's report: a day from its records, a week or a month from its days."""
    moment = now or dt.datetime.now(dt.UTC)
    if period.kind == "day":
        async with engine.connect() as conn:
            records = await read_records(conn, period, rules, executor)
        return await in_thread(executor, build_report, records, period, rules, moment)
    key = rules_key(rules)
    async with engine.connect() as conn:
        stored = await _stored(conn, period, key)
        voice = await _voice_messages(conn, period, rules)
    today = rules.local(moment).date()
    days: list[Report] = []
    for day in period.days():
        if day in stored:
            days.append(day_from_json(day, rules, stored[day]))
        else:  # not stored yet, or today, or ahead (nothing, unless a test wrote it there)
            days.append(await day_report(engine, day, rules, moment, executor))
    figures = voice_message_figures(voice, period, rules, today)
    return await in_thread(executor, combine, period, rules, days, figures)


async def _stored(conn: AsyncConnection, period: Period, key: str) -> dict[dt.date, dict[str, Any]]:
    bounds = {"key": key, "first": period.start, "end": period.end}
    rows = (await conn.execute(text(_STORED), bounds)).all()
    await conn.commit()
    return {row.day: row.body for row in rows}


async def _voice_messages(
    conn: AsyncConnection, period: Period, rules: ReportRules
) -> Sequence[VoiceMessageRecord]:
    start, end = period.bounds(rules.zone)
    rows = (await conn.execute(text(_VOICE_MESSAGES), {"start": start, "end": end})).all()
    await conn.commit()
    return [VoiceMessageRecord(r.created_at, r.due_on, r.origin, r.status) for r in rows]


async def day_report(
    engine: AsyncEngine,
    day: dt.date,
    rules: ReportRules,
    now: dt.datetime,
    executor: Executor | None = None,
) -> Report:
    """A day's report from its records, stored when the day can no longer change."""
    period = Period.day(day)
    start, end = period.bounds(rules.zone)
    async with engine.connect() as conn:
        status = (await conn.execute(text(_DAY_STATUS), {"start": start, "end": end})).one()
        await conn.commit()
        window_end = max(end, (status.last_end or end) + STATES_AFTER_LAST_CALL)
        if status.open or now < window_end:
            records = await read_records(conn, period, rules, executor)
            return await in_thread(executor, build_report, records, period, rules, now)
        keys = range(hour_key(start - STARTING_STATES), hour_key(window_end) + 1)
        stored = False
        try:
            for k in keys:  # ascending, as the triggers take theirs
                await conn.execute(
                    text("SELECT pg_advisory_lock(:c, :k)"), {"c": LOCK_CLASS, "k": k}
                )
            await conn.commit()
            records = await read_records(conn, period, rules, executor)
            report = await in_thread(executor, build_report, records, period, rules, now)
            body = json.dumps(day_to_json(report))
            await conn.execute(
                text(_STORE),
                {
                    "day": day,
                    "key": rules_key(rules),
                    "zone": rules.timezone,
                    "window_end": window_end,
                    "calls": len(records.calls),
                    "body": body,
                },
            )
            await conn.commit()
            stored = True
        except DBAPIError as exc:  # a deadlock with a late write: that write wins
            await conn.rollback()
            log.warning("report_day_not_stored", day=day.isoformat(), error=str(exc).split("\n")[0])
            records = await read_records(conn, period, rules, executor)
            report = await in_thread(executor, build_report, records, period, rules, now)
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock_all()"))
            await conn.commit()
        if stored:
            log.info("report_day_stored", day=day.isoformat(), calls=len(records.calls))
        return report
