"""One way to ask for a report, shared by the HTTP API and the CLI: which report, which
period, which format; the answer is the file's bytes and its media type."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.quality import AgentQuality, overall
from acd.report_figures import Report
from acd.report_records import Period, ReportRules
from acd.survey import AgentRatings
from hotline import report_export as export
from hotline.ministry_export import ministry_csv
from hotline.quality_store import per_agent_month
from hotline.report_days import period_report
from hotline.reports import agent_ratings, in_thread, quarters_back, staffing_plan

T = TypeVar("T")

KINDS = ("daily", "weekly", "monthly", "custom", "agents", "ministry", "staffing")
MAX_RANGE_DAYS = 366  # a custom period: up to a year of days
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class BadRequest(ValueError):
    """The request names no report, period or format we know; the message says why."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class ReportRequest:
    """What to compute and how to hand it over."""

    kind: str
    period: Period
    fmt: str = "csv"
    rules: ReportRules = field(default_factory=ReportRules)
    center: str = "12333"  # the ministry file's center code
    target: float = 0.8  # staffing: the service level to reach
    seconds: float = 20.0  # staffing: within this many seconds


# The numbers a report request may carry, and their bounds (the HTTP API and the CLI alike):
# a staffing target of 1 or more is never reached, and Erlang C's search would not end.
BOUNDS: dict[str, tuple[float, float]] = {
    "target": (0.01, 0.999),
    "seconds": (1, 3600),
    "sl_seconds": (1, 3600),
    "short_abandon_seconds": (0, 600),
}


def bounded(name: str, raw: str) -> float:
    """`raw` as a number within BOUNDS[name], or BadRequest saying why."""
    low, high = BOUNDS[name]
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"bad_{name}", f"{name} must be a number") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise BadRequest(f"bad_{name}", f"{name} must be between {low:g} and {high:g}")
    return value


def _day(name: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"bad_{name}", f"{name} must be YYYY-MM-DD") from None


def parse_period(
    kind: str,
    date: str | None,
    month: str | None,
    first: str | None = None,
    last: str | None = None,
) -> Period:
    """daily/weekly/ministry need --date YYYY-MM-DD; monthly --month YYYY-MM; agents and
    staffing take either; custom needs from and to (YYYY-MM-DD, both included)."""
    if kind not in KINDS:
        raise BadRequest("unknown_report", f"unknown report {kind!r}: one of {', '.join(KINDS)}")
    if kind == "custom":
        if not (first and last):
            raise BadRequest("period_required", "the custom report needs from= and to=")
        start, end = _day("from", first), _day("to", last)
        if not 0 <= (end - start).days < MAX_RANGE_DAYS:
            raise BadRequest(
                "bad_range", f"to must be from or later, {MAX_RANGE_DAYS} days at most"
            )
        return Period.between(start, end)
    if month and kind in ("monthly", "agents", "staffing"):
        if not re.fullmatch(r"\d{4}-\d{2}", month) or not 1 <= int(month[5:]) <= 12:
            raise BadRequest("bad_month", "month must be YYYY-MM")
        return Period.month(int(month[:4]), int(month[5:]))
    if date and kind != "monthly":
        day = _day("date", date)
        return Period.week(day) if kind == "weekly" else Period.day(day)
    wanted = "month=YYYY-MM" if kind == "monthly" else "date=YYYY-MM-DD"
    if kind in ("agents", "staffing"):
        wanted += " or month=YYYY-MM"
    raise BadRequest("period_required", f"the {kind} report needs {wanted}")


def check_format(kind: str, fmt: str) -> None:
    """The ministry file is CSV only; every other report is CSV, JSON or XLSX."""
    if fmt not in FORMATS or (kind == "ministry" and fmt != "csv"):
        raise BadRequest(
            "unknown_format",
            f"format must be one of {', '.join(FORMATS)}"
            if kind != "ministry"
            else "the ministry file is CSV",
        )


async def render(
    engine: AsyncEngine, request: ReportRequest, executor: Executor | None = None
) -> tuple[bytes, str]:
    """The report's file and media type (the maths and the file are made in `executor`'s
    thread; None: asyncio's default executor, which the CLI can spare)."""
    check_format(request.kind, request.fmt)
    report = await period_report(engine, request.period, request.rules, executor=executor)
    ratings, quality = None, None
    if request.kind == "agents":
        ratings = await agent_ratings(engine, request.period, request.rules, executor=executor)
        quality = await agent_quality(engine, request.period)
    return await in_thread(executor, _file, request, report, ratings, quality)


async def agent_quality(engine: AsyncEngine, period: Period) -> AgentQuality:
    """Quality scores (质检) per agent: in the period, and per month over the quarters of
    the satisfaction beside them (by the day of the call judged)."""
    in_period = await per_agent_month(engine, period.start, period.end)
    by_month = await per_agent_month(engine, quarters_back(period), period.end)
    return AgentQuality({a: overall(m) for a, m in in_period.items()}, by_month)


class ReportDesk:
    """Reports served by the controller, which must not compete with calls: one report at a
    time (a second request waits its turn), its maths and file in a thread of its own, not
    in asyncio's default executor (shared with the callers' work, e.g. password checks)."""

    def __init__(self) -> None:
        self._turn = asyncio.Semaphore(1)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hotline-report")

    async def run(self, job: Callable[[Executor], Awaitable[T]]) -> T:
        """`job(executor)` once the reports before it are done."""
        async with self._turn:
            return await job(self._thread)

    async def render(self, engine: AsyncEngine, request: ReportRequest) -> tuple[bytes, str]:
        """The report's file and media type, in its turn."""
        return await self.run(lambda executor: render(engine, request, executor))

    def close(self) -> None:
        """Let the thread go once the report it is making (if any) is done."""
        self._thread.shutdown(wait=False)


def _file(
    request: ReportRequest,
    report: Report,
    ratings: AgentRatings | None,
    quality: AgentQuality | None = None,
) -> tuple[bytes, str]:
    kind, fmt = request.kind, request.fmt
    if kind == "ministry":
        return ministry_csv(report, request.center).encode(), FORMATS["csv"]
    staffing = (
        staffing_plan(report, request.target, request.seconds) if kind == "staffing" else None
    )
    if fmt == "json":
        body = export.to_json(report, ratings, staffing, quality)
        return export.dumps(body).encode(), FORMATS[fmt]
    if kind == "agents":
        assert ratings is not None
        tables = {
            "agents": export.agent_table(report, quality),
            "quarterly_satisfaction": export.ratings_table(ratings),
        }
    elif kind == "staffing":
        assert staffing is not None
        tables = {"staffing": export.staffing_table(staffing)}
    else:
        tables = {"calls": export.call_table(report)}
    if fmt == "csv":
        header, rows = next(iter(tables.values()))
        return export.to_csv(header, rows).encode(), FORMATS[fmt]
    sheets = export.report_sheets(report, ratings, quality)
    if staffing is not None:
        sheets = {"summary": sheets["summary"], **tables}
    return export.to_xlsx(sheets), FORMATS[fmt]
