"""Keeps reports fast and writes the daily file, in the controller's background.

Every few minutes (one report at a time, in the report thread, as a supervisor's request
would be) it computes today and yesterday: their closed hours get stored, so a month
report made late in a busy day computes only its last hour or two. Once a day is stored
whole, its files are written into `<state>/reports/<date>/`: the daily report (CSV and
XLSX) and the ministry file; written again if the day is computed anew within two days
(a callback booked in the evening and reached the next morning changes its figures), the
time it was computed kept beside them (`.computed`). Nothing is computed while the
journal still has facts to write (after a database outage: the day is not final yet).
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

from acd.figures import Report
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
                await one_round(engine, desk, rules_now(), out_dir, dt.datetime.now(dt.UTC))
        except Exception as exc:  # the database away, a full disk: the next round retries
            log.warning("report_round_failed", error=str(exc)[:200])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
