"""Keeps reports fast and writes the daily file, in the controller's background.

Every few minutes (one report at a time, in the report thread, as a supervisor's request
would be) it computes today and yesterday: their closed hours get stored, so a month
report made late in a busy day computes only its last hour or two. Once yesterday is
stored whole, its files are written once into `<state>/reports/<date>/`: the daily report
(CSV and XLSX) and the ministry file. A database that is away is retried at the next
round; nothing is lost, the files are written late.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
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
_WHOLE = "SELECT 1 FROM report_days WHERE day = :day AND hour = :hour AND rules_key = :key"


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
    """Store today's and yesterday's closed hours; write yesterday's files if it is closed
    and they are not there yet. The files written."""
    today = rules.local(now).date()
    yesterday = today - dt.timedelta(days=1)
    for day in (yesterday, today):
        period = Period.day(day)

        async def compute(ex: Executor, period: Period = period) -> Report:
            return await period_report(engine, period, rules, now, ex)

        await desk.run(compute)
    async with engine.connect() as conn:
        whole = await conn.scalar(
            text(_WHOLE), {"day": yesterday, "hour": WHOLE_DAY, "key": rules_key(rules)}
        )
    if not whole:
        return []
    folder = out_dir / yesterday.isoformat()
    written = []
    for kind, fmt in FILES:
        path = folder / file_name(kind, yesterday, fmt)
        if path.exists():
            continue
        request = ReportRequest(kind, Period.day(yesterday), fmt, rules, center=center)
        body, _media = await desk.render(engine, request)
        folder.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_bytes(body)
        part.replace(path)  # a reader never sees half a file
        written.append(path)
    if written:
        log.info("daily_report_written", day=yesterday.isoformat(), files=len(written))
    return written


async def keep(
    engine: AsyncEngine,
    desk: ReportDesk,
    rules_now: Callable[[], ReportRules],
    out_dir: Path,
    stop: asyncio.Event,
    every: float = ROUND_SECONDS,
) -> None:
    """`one_round` every `every` seconds until `stop` (the rules as ops last applied them)."""
    while not stop.is_set():
        try:
            await one_round(engine, desk, rules_now(), out_dir, dt.datetime.now(dt.UTC))
        except Exception as exc:  # the database away, a full disk: the next round retries
            log.warning("report_round_failed", error=str(exc)[:200])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
