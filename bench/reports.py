"""Reports at a big center's size: a year of a 30,000-calls-a-day center, month reports timed.

    ./dev bench reports [OUT.json] [--days 365] [--calls-per-day 30000] [--agents 400] [--fresh]

A private PostgreSQL (instance "bench-reports", port 24533, state in .local/bench-reports)
is filled once by SQL (generate_series; kept for the next run) with `--days` days up to
today: each day's calls arrive between 07:00 and 22:00, 15% end in self-service, 12% give
up in the queue, 3% book a callback, the rest are answered by one of `--agents` agents
(a leg, `queued` and `agent` events, an on_call, wrap_up and ready state each), 60% of
those rated; every agent logs in, pauses for lunch and logs out daily. Today holds the
calls up to now. Then it times, with time.perf_counter:
- one day computed from its records hour by hour, each hour stored (what storing a day
  costs), then the same day again from what was stored,
- a past month cold (its days computed and stored), then warm (read from stored days),
- the current month (stored days, today's stored hours, its last hours live),
and prints the figures. "Now" is 21:30 today, the center's time, whatever the clock says:
the worst hour for the current month. Not a test: nothing here passes or fails on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.report_records import Period, ReportRules
from hotline import REPO_ROOT
from hotline.provision import postgres
from hotline.provision.secrets import load_or_create
from hotline.report_days import period_report
from hotline.settings import Settings
from hotline.store import migrate

ZONE = "Asia/Shanghai"

# One day of generated records: $1 the day (date), $2 calls, $3 agents, $4 the cut-off
# (now, for today). Calls are numbered; their kind follows n mod 100.
_DAY = (
    "CREATE TEMP TABLE g (n int, k int, t0 timestamptz, agent text, cid text) ON COMMIT DROP",
    """INSERT INTO g SELECT n, n % 100,
        (CAST(:day AS timestamp) + interval '7 hours'
            + (n * 54000.0 / :calls) * interval '1 second') AT TIME ZONE 'Asia/Shanghai',
        ((n * 7919) % :agents + 7000)::text,
        'g-' || to_char(CAST(:day AS date), 'YYYYMMDD') || '-' || n
    FROM generate_series(0, :calls - 1) n""",
    "DELETE FROM g WHERE t0 > :cutoff",
    """INSERT INTO calls (channel_id, caller_number, dialed_number, language, started_at,
        answered_at, ended_at, queue, agent, disposition, hangup_side)
    SELECT cid, '139' || lpad((n % 100000000)::text, 8, '0'), '12333', 'zh', t0,
        CASE WHEN k >= 30 THEN t0 + interval '40 s' END,
        t0 + CASE WHEN k < 15 THEN interval '90 s' WHEN k < 27 THEN interval '70 s'
                  WHEN k < 30 THEN interval '50 s' ELSE interval '280 s' END,
        CASE WHEN k >= 15 THEN 'social_insurance' END,
        CASE WHEN k >= 30 THEN agent END,
        CASE WHEN k < 15 THEN 'self_service' WHEN k < 27 THEN 'abandoned'
             WHEN k < 30 THEN 'callback_booked' ELSE 'answered' END, 'caller'
    FROM g""",
    """INSERT INTO call_events (event_id, channel_id, at, kind, data)
    SELECT gen_random_uuid(), cid, t0 + interval '20 s', 'queued',
        '{"queue": "social_insurance"}'::jsonb FROM g WHERE k >= 15
    UNION ALL
    SELECT gen_random_uuid(), cid, t0 + interval '40 s', 'agent',
        jsonb_build_object('agent', agent) FROM g WHERE k >= 30""",
    """INSERT INTO call_segments (channel_id, queue, agent, offered_at, answered_at, ended_at,
        outcome)
    SELECT cid, 'social_insurance', agent, t0 + interval '35 s', t0 + interval '40 s',
        t0 + interval '280 s', 'agent_hangup' FROM g WHERE k >= 30""",
    """INSERT INTO callbacks (channel_id, caller_number, number, queue, entered, requested_at,
        status, attempts, agent, finished_at)
    SELECT cid, '139' || lpad((n % 100000000)::text, 8, '0'),
        '139' || lpad((n % 100000000)::text, 8, '0'), 'social_insurance', 0,
        t0 + interval '45 s', 'done', 1, agent, t0 + interval '900 s'
    FROM g WHERE k BETWEEN 27 AND 29""",
    """INSERT INTO surveys (channel_id, agent, score, at)
    SELECT cid, agent, CASE WHEN n % 10 < 8 THEN 'satisfied' ELSE 'dissatisfied' END,
        t0 + interval '290 s' FROM g WHERE k >= 30 AND n % 5 < 3""",
    """INSERT INTO agent_state_changes (agent, status, at, reason)
    SELECT agent, s.status, t0 + s.after, '' FROM g
    CROSS JOIN (VALUES ('on_call', interval '40 s'), ('wrap_up', interval '280 s'),
                       ('ready', interval '300 s')) s(status, after)
    WHERE k >= 30""",
    """INSERT INTO agent_state_changes (agent, status, at, reason)
    SELECT (7000 + a)::text, s.status,
        (CAST(:day AS timestamp) + s.clock) AT TIME ZONE 'Asia/Shanghai', s.reason
    FROM generate_series(0, :agents - 1) a
    CROSS JOIN (VALUES ('ready', interval '6 h 55 min', ''),
                       ('paused', interval '12 h', 'lunch'),
                       ('ready', interval '12 h 30 min', ''),
                       ('logged_out', interval '22 h 10 min', '')) s(status, clock, reason)
    WHERE (CAST(:day AS timestamp) + s.clock) AT TIME ZONE 'Asia/Shanghai' <= :cutoff""",
)

_FRESH = (
    "TRUNCATE calls, call_events, call_segments, callbacks, surveys, agent_state_changes,"
    " report_days"
)


def say(message: str) -> None:
    """Progress, on stderr."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _settings() -> Settings:
    return Settings(
        instance="bench-reports",
        state_dir=REPO_ROOT / ".local" / "bench-reports",
        pg_port=24533,
        sip_port=24560,
        http_port=24580,
        ari_port=24588,
        ami_port=24538,
        rtp_start=29800,
    )


def start_database() -> str:
    """The private cluster, running and migrated; its URL."""
    settings = _settings()
    secrets = load_or_create(settings.state / "secrets.json", [])
    url = postgres.ensure_running(settings, secrets.pg_password, say)
    migrate.upgrade(url)
    return url


async def fill(engine: AsyncEngine, days: int, calls: int, agents: int, now: dt.datetime) -> None:
    """Generate the days not generated yet (a day is there once its first call is)."""
    today = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    first = today - dt.timedelta(days=days - 1)
    for n in range(days):
        day = first + dt.timedelta(days=n)
        async with engine.begin() as conn:
            there = await conn.scalar(
                text("SELECT 1 FROM calls WHERE channel_id = :cid"),
                {"cid": f"g-{day:%Y%m%d}-0"},
            )
            if there and day != today:
                continue
            if day == today:  # today again up to now: its calls so far, from scratch
                mine = {"p": f"g-{day:%Y%m%d}-%", "day": day}
                for table in ("calls", "call_events", "call_segments", "callbacks", "surveys"):
                    await conn.execute(text(f"DELETE FROM {table} WHERE channel_id LIKE :p"), mine)
                await conn.execute(
                    text(
                        "DELETE FROM agent_state_changes"
                        " WHERE at >= CAST(:day AS timestamp) AT TIME ZONE 'Asia/Shanghai'"
                    ),
                    {"day": day},
                )
            values: dict[str, Any] = {"day": day, "calls": calls, "agents": agents, "cutoff": now}
            for statement in _DAY:
                await conn.execute(text(statement), values)
        if n % 30 == 0 or day == today:
            say(f"generated {day} ({n + 1}/{days} days)")


async def timed(what: str, work: Any) -> tuple[float, Any]:
    """Seconds `work` (an awaitable) takes, printed."""
    started = time.perf_counter()
    result = await work
    seconds = time.perf_counter() - started
    say(f"{what}: {seconds:.2f} s")
    return seconds, result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = await asyncio.to_thread(start_database)
    engine = create_async_engine(url, pool_size=4)
    rules = ReportRules(timezone=ZONE)
    # Late in a busy day, whatever the clock says: today's calls up to 21:30, its hours
    # stored up to about 20:00, the rest computed live.
    today = dt.datetime.now(rules.zone).date()
    now = dt.datetime.combine(today, dt.time(21, 30), rules.zone)
    try:
        if args.fresh:
            async with engine.begin() as conn:
                await conn.execute(text(_FRESH))
        await fill(engine, args.days, args.calls_per_day, args.agents, now)
        async with engine.begin() as conn:
            total = await conn.scalar(text("SELECT count(*) FROM calls"))
            await conn.execute(text("ANALYZE"))
        past = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        past_month = Period.month(past.year, past.month)
        this_month = Period.month(today.year, today.month)
        async with engine.begin() as conn:  # a cold start: nothing stored for the past month
            await conn.execute(
                text("DELETE FROM report_days WHERE day >= :a AND day < :b"),
                {"a": past_month.start, "b": this_month.end},
            )
        first_day = Period.day(past_month.start)
        one_day, report = await timed(
            f"one day ({past_month.start}) from its records, its 24 hours stored",
            period_report(engine, first_day, rules, now),
        )
        day_again, report = await timed(
            "the same day again (stored)", period_report(engine, first_day, rules, now)
        )
        cold, report = await timed(
            f"month {past_month.label} cold", period_report(engine, past_month, rules, now)
        )
        warm = []
        for _ in range(args.runs):
            seconds, report = await timed(
                f"month {past_month.label} warm", period_report(engine, past_month, rules, now)
            )
            warm.append(seconds)
        current = []
        for _ in range(args.runs):
            seconds, mine = await timed(
                f"month {this_month.label} (today live)",
                period_report(engine, this_month, rules, now),
            )
            current.append(seconds)
        return {
            "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
            "calls_in_database": total,
            "calls_per_day": args.calls_per_day,
            "days": args.days,
            "past_month": past_month.label,
            "past_month_calls": report.center.calls,
            "current_month_calls": mine.center.calls,
            "today_calls": mine.by_day[today].calls,
            "one_day_seconds": round(one_day, 3),
            "one_day_stored_seconds": round(day_again, 3),
            "month_cold_seconds": round(cold, 3),
            "month_warm_seconds": sorted(round(s, 3) for s in warm),
            "current_month_seconds": sorted(round(s, 3) for s in current),
        }
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", default=str(REPO_ROOT / ".local/bench-reports.json"))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--calls-per-day", type=int, default=30000)
    parser.add_argument("--agents", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="generate the records again")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
