"""`hotline report …`: the reports from the command line, for scripts and the daily file.

    hotline report daily --date 2026-12-01 [--format csv|xlsx|json] [--output FILE]
    hotline report weekly --date 2026-12-01
    hotline report monthly --month 2026-12
    hotline report agents --month 2026-12       (or --date; with quarterly satisfaction)
    hotline report ministry --date 2026-12-01 [--center CODE]
    hotline report staffing --month 2026-12 [--target 0.8 --seconds 20]
Read straight from the instance's PostgreSQL (running; the controller need not).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from acd.report_records import ReportRules
from hotline.report_render import (
    FORMATS,
    KINDS,
    BadRequest,
    ReportRequest,
    bounded,
    parse_period,
    render,
)


def _within(name: str) -> Callable[[str], float]:
    """An option's type: a number within the HTTP API's bounds (report_render.BOUNDS)."""

    def parse(raw: str) -> float:
        try:
            return bounded(name, raw)
        except BadRequest as exc:
            raise argparse.ArgumentTypeError(str(exc).replace("_", "-")) from None

    return parse


def register(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add `report` to the CLI (`add` makes a subcommand with --instance)."""
    report = add("report", "call-center reports: daily, weekly, monthly, agents, ministry, ...")
    report.add_argument("kind", choices=KINDS)
    report.add_argument("--date", default=None, help="YYYY-MM-DD (daily, weekly, ministry)")
    report.add_argument("--month", default=None, help="YYYY-MM (monthly, agents, staffing)")
    report.add_argument("--from", dest="first", default=None, help="YYYY-MM-DD (custom)")
    report.add_argument("--to", dest="last", default=None, help="YYYY-MM-DD, included (custom)")
    report.add_argument("--format", default="csv", choices=sorted(FORMATS))
    report.add_argument("--output", default=None, help="write to FILE (default: stdout)")
    report.add_argument("--sl-seconds", type=_within("sl_seconds"), default=20.0, help="SL's T")
    report.add_argument(
        "--short-abandon-seconds", type=_within("short_abandon_seconds"), default=5.0
    )
    report.add_argument("--center", default="12333", help="the ministry file's center code")
    report.add_argument(
        "--target", type=_within("target"), default=0.8, help="staffing: SL to reach (0.01-0.999)"
    )
    report.add_argument("--seconds", type=_within("seconds"), default=20.0, help="staffing: SL's T")
    report.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Compute the report from the instance's database and write it."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine

    from hotline.instance import controller_instance
    from hotline.settings import load_settings

    instance = controller_instance(load_settings(instance=args.instance))
    hours = instance.center.hours
    try:
        wanted = ReportRequest(
            args.kind,
            parse_period(args.kind, args.date, args.month, args.first, args.last),
            args.format,
            ReportRules(
                timezone=hours.timezone,
                hours=hours,
                service_seconds=args.sl_seconds,
                short_abandon_seconds=args.short_abandon_seconds,
            ),
            center=args.center,
            target=args.target,
            seconds=args.seconds,
        )
    except BadRequest as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    assert instance.database_url is not None

    async def run() -> bytes:
        engine = create_async_engine(instance.database_url or "")
        try:
            body, _ = await render(engine, wanted)
        finally:
            await engine.dispose()
        return body

    try:
        body = asyncio.run(run())
    except BadRequest as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (SQLAlchemyError, OSError) as exc:
        print(
            f"error: the database is not reachable ({type(exc).__name__}); is the instance "
            "running (`hotline status`)?",
            file=sys.stderr,
        )
        return 1
    if args.output:
        Path(args.output).write_bytes(body)
    elif args.format == "xlsx" and sys.stdout.isatty():
        print("error: XLSX is binary: give --output FILE", file=sys.stderr)
        return 2
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0
