"""Keeps reports fast and writes the daily file, in the controller's background.

Every few minutes (one report at a time, in the report thread, as a supervisor's request
would be) it computes today and yesterday: their closed hours get stored, so a month
report made late in a busy day computes only its last hour or two. Once a day is stored
whole, its files are written into `<state>/reports/<date>/`: the daily report (CSV and
XLSX) and the ministry file; written again if the day is computed anew within two days
(a callback booked in the evening and reached the next morning changes its figures), the
time it was computed kept beside them (`.computed`). Nothing is computed while the
journal still has facts to write (after a database outage: the day is not final yet).
Each round also stores one past day that is not (`store_past_day`), the latest first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.report_figures import Report
from acd.report_records import Period, ReportRules
from acd.report_rollup import rules_key
from hotline.report_days import WHOLE_DAY, period_report
from hotline.report_render import ReportDesk, ReportRequest

log = structlog.get_logger("reports")

ROUND_SECONDS = 300.0
FILES = (("daily", "csv"), ("daily", "xlsx"), ("ministry", "csv"))
_WHOLE = (
    "SELECT computed_at FROM report_days WHERE day = :day AND hour = :hour AND rules_key = :key"
)
REWRITE_DAYS = 2  # yesterday and the day before get their files again if computed anew
# Past days not stored (a history imported or restored, days forgotten by a late record, a
# controller that was down): one per round, the latest first, this far back; so any month
# of the last year is read from stored days within a day and a half of a start.
BACKFILL_DAYS = 400
_UNSTORED = (
    "SELECT d.day FROM (SELECT CAST(g AS date) AS day FROM"
    " generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') g) d"
    " WHERE NOT EXISTS (SELECT 1 FROM report_days r WHERE r.day = d.day AND r.hour = -1"
    " AND r.rules_key = :key)"
    " AND EXISTS (SELECT 1 FROM calls c"
    " WHERE c.started_at >= CAST(d.day AS timestamp) AT TIME ZONE :zone"
    " AND c.started_at < CAST(d.day + 1 AS timestamp) AT TIME ZONE :zone)"
    " ORDER BY d.day DESC LIMIT 1"
)


def file_name(kind: str, day: dt.date, fmt: str) -> str:
    """`daily-2026-12-01.csv`, `ministry-2026-12-01.csv`, ..."""
    return f"{kind}-{day.isoformat()}.{fmt}"


async def one_round(
    engine: AsyncEngine,
    desk: ReportDesk,
    rules: ReportRules,
    out_dir: Path,
    now: dt.datetime,
    center: str = "12333",
) -> list[Path]:
    """Store today's and yesterday's closed hours; write the files of the last days stored
    whole, if they are not there or that day was computed anew since. The files written."""
    today = rules.local(now).date()
    yesterday = today - dt.timedelta(days=1)
    for day in (yesterday, today):
        period = Period.day(day)

        async def compute(ex: Executor, period: Period = period) -> Report:
            return await period_report(engine, period, rules, now, ex)

        await desk.run(compute)
    written: list[Path] = []
    for back in range(1, REWRITE_DAYS + 1):
        day = today - dt.timedelta(days=back)
        async with engine.connect() as conn:
            computed = await conn.scalar(
                text(_WHOLE), {"day": day, "hour": WHOLE_DAY, "key": rules_key(rules)}
            )
        if computed is None:
            continue
        folder = out_dir / day.isoformat()
        stamp = folder / ".computed"
        if stamp.exists() and stamp.read_text() == computed.isoformat():
            continue
        for kind, fmt in FILES:
            request = ReportRequest(kind, Period.day(day), fmt, rules, center=center)
            body, _media = await desk.render(engine, request)
            written.append(_write(folder / file_name(kind, day, fmt), body))
        _write(stamp, computed.isoformat().encode())
        log.info("daily_report_written", day=day.isoformat(), files=len(FILES))
    return written


async def store_past_day(
    engine: AsyncEngine, desk: ReportDesk, rules: ReportRules, now: dt.datetime
) -> dt.date | None:
    """Compute (and so store) the latest day before yesterday that has calls and is not
    stored under these rules; the day, or None when every such day is stored."""
    today = rules.local(now).date()
    async with engine.connect() as conn:
        day = await conn.scalar(
            text(_UNSTORED),
            {
                "first": today - dt.timedelta(days=BACKFILL_DAYS),
                "last": today - dt.timedelta(days=2),
                "key": rules_key(rules),
                "zone": rules.timezone,
            },
        )
    if day is None:
        return None

    period = Period.day(day)

    async def compute(ex: Executor) -> Report:
        return await period_report(engine, period, rules, now, ex)

    await desk.run(compute)
    log.info("report_day_backfilled", day=day.isoformat())
    return day  # type: ignore[no-any-return]


def _write(path: Path, body: bytes) -> Path:
    """Whole or not at all, also across a crash: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    with part.open("wb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    part.replace(path)
    return path


async def keep(
    engine: AsyncEngine,
    desk: ReportDesk,
    rules_now: Callable[[], ReportRules],
    out_dir: Path,
    stop: asyncio.Event,
    caught_up: Callable[[], bool],
    every: float = ROUND_SECONDS,
) -> None:
    """`one_round` every `every` seconds until `stop` (the rules as ops last applied them),
    skipped while the journal is behind (`caught_up`)."""
    while not stop.is_set():
        try:
            if caught_up():
                now = dt.datetime.now(dt.UTC)
                await one_round(engine, desk, rules_now(), out_dir, now)
                await store_past_day(engine, desk, rules_now(), now)
        except Exception as exc:  # the database away, a full disk: the next round retries
            log.warning("report_round_failed", error=str(exc)[:200])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
