"""Reports read back from PostgreSQL: a hand-made day of records, through the adapter, the
CLI (CSV, XLSX read back with openpyxl, the ministry file) and the HTTP API, exact figures.

The day is in 2031 and the agents are 91xx, so records other tests write today change
nothing here.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import create_async_engine

from acd.report_records import Period, ReportRules
from hotline.report_days import period_report
from hotline.web import Metrics, make_app
from ivr.hours import load_hours
from tests.support.system import SystemUnderTest

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2031, 3, 4)  # a Tuesday
NEXT = DAY + dt.timedelta(days=1)


def at(clock: str, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), ZONE)


async def call(
    db: asyncpg.Connection,
    cid: str,
    start: dt.datetime,
    end: dt.datetime,
    disposition: str,
    adoptions: int = 0,
) -> None:
    await db.execute(
        "INSERT INTO calls (channel_id, started_at, ended_at, disposition, adoptions)"
        " VALUES ($1, $2, $3, $4, $5)",
        cid,
        start,
        end,
        disposition,
        adoptions,
    )


async def event(
    db: asyncpg.Connection, cid: str, moment: dt.datetime, kind: str, queue: str = "", **data: str
) -> None:
    await db.execute(
        "INSERT INTO call_events (event_id, channel_id, at, kind, data)"
        " VALUES ($1, $2, $3, $4, $5::jsonb)",
        uuid.uuid4(),
        cid,
        moment,
        kind,
        json.dumps({"queue": queue, **data} if queue else data),
    )


async def leg(
    db: asyncpg.Connection,
    cid: str,
    queue: str,
    agent: str,
    offered: dt.datetime,
    answered: dt.datetime | None,
    ended: dt.datetime,
    outcome: str,
    put_through: bool = True,
) -> None:
    """A leg; an answered one is put through to the caller (its `agent` event) unless not."""
    if answered is not None and put_through:
        await event(db, cid, answered + dt.timedelta(milliseconds=300), "agent", agent=agent)
    await db.execute(
        "INSERT INTO call_segments (channel_id, queue, agent, offered_at, answered_at,"
        " ended_at, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        cid,
        queue,
        agent,
        offered,
        answered,
        ended,
        outcome,
    )


async def states(
    db: asyncpg.Connection, agent: str, *changes: tuple[str, dt.datetime, str]
) -> None:
    await db.executemany(
        "INSERT INTO agent_state_changes (agent, status, reason, at) VALUES ($1, $2, $3, $4)",
        [(agent, status, reason, moment) for status, moment, reason in changes],
    )


async def a_day_of_records(db: asyncpg.Connection) -> None:
    si, expert = "social_insurance", "expert_social_insurance"
    # A: answered in 15 s, adopted by a restarted controller (which recorded `queued` again).
    await call(db, "rep-A", at("09:00:00"), at("09:03:30"), "answered", adoptions=1)
    await event(db, "rep-A", at("09:00:10"), "queued", si)
    await event(db, "rep-A", at("09:01:00"), "queued", si)
    await leg(
        db, "rep-A", si, "9101", at("09:00:12"), at("09:00:25"), at("09:03:25"), "agent_hangup"
    )
    await db.execute(
        "INSERT INTO surveys (channel_id, agent, score, at) VALUES ('rep-A', '9101',"
        " 'satisfied', $1)",
        at("09:03:29"),
    )
    # B: abandoned after 3 s (a short abandon). C: self-service only.
    await call(db, "rep-B", at("09:10:00"), at("09:10:08"), "abandoned")
    await event(db, "rep-B", at("09:10:05"), "queued", si)
    await call(db, "rep-C", at("10:00:00"), at("10:01:00"), "self_service")
    # T: 9101 answers in 5 s, transfers to the expert queue; 9102 answers there in 30 s.
    await call(db, "rep-T", at("10:00:00"), at("10:06:00"), "answered")
    await event(db, "rep-T", at("10:00:05"), "queued", si)
    await leg(
        db, "rep-T", si, "9101", at("10:00:06"), at("10:00:10"), at("10:02:10"), "transferred"
    )
    await event(db, "rep-T", at("10:02:10"), "transferred_to_queue", expert)
    await event(db, "rep-T", at("10:02:10"), "queued", expert)
    await leg(
        db, "rep-T", expert, "9102", at("10:02:20"), at("10:02:40"), at("10:05:40"), "agent_hangup"
    )
    # H: the expert picks up but the caller hangs up during the whisper: abandoned.
    await call(db, "rep-H", at("11:00:00"), at("11:00:12"), "abandoned")
    await event(db, "rep-H", at("11:00:05"), "queued", si)
    await leg(
        db,
        "rep-H",
        si,
        "9102",
        at("11:00:06"),
        at("11:00:08"),
        at("11:00:12"),
        "caller_hangup",
        put_through=False,
    )
    # V: booked a callback, reached on the first attempt.
    await call(db, "rep-V", at("08:59:50"), at("09:33:30"), "answered")
    await event(db, "rep-V", at("09:00:00"), "queued", si)
    await db.execute(
        "INSERT INTO callbacks (channel_id, number, queue, entered, requested_at, attempts,"
        " agent, status, finished_at) VALUES ('rep-V', '13900000000', $1, 0, $2, 1, '9102',"
        " 'done', $3)",
        si,
        at("09:01:00"),
        at("09:33:20"),
    )
    await leg(
        db, "rep-V", si, "9102", at("09:30:00"), at("09:30:20"), at("09:33:20"), "agent_hangup"
    )
    # M: arrives before midnight, answered (in 10 s) and wrapped up after it.
    await call(db, "rep-M", at("23:59:50"), at("00:02:10", NEXT), "answered")
    await event(db, "rep-M", at("23:59:55"), "queued", si)
    await leg(
        db,
        "rep-M",
        si,
        "9102",
        at("23:59:56"),
        at("00:00:05", NEXT),
        at("00:02:05", NEXT),
        "agent_hangup",
    )
    await states(
        db,
        "9101",
        ("logged_out", at("17:00:00", DAY - dt.timedelta(days=1)), ""),
        ("ready", at("08:30:00"), ""),
        ("on_call", at("09:00:25"), ""),
        ("on_call", at("09:01:00"), ""),  # restored by the restarted controller
        ("wrap_up", at("09:03:25"), ""),
        ("ready", at("09:03:35"), ""),
        ("on_call", at("10:00:10"), ""),
        ("wrap_up", at("10:02:10"), ""),
        ("ready", at("10:02:20"), ""),
        ("paused", at("11:00:00"), "meeting"),
        ("logged_out", at("12:00:00"), ""),
    )
    await states(
        db,
        "9102",
        ("ready", at("08:30:00"), ""),
        ("on_call", at("09:30:20"), ""),
        ("wrap_up", at("09:33:20"), ""),
        ("ready", at("09:33:30"), ""),
        ("on_call", at("10:02:40"), ""),
        ("wrap_up", at("10:05:40"), ""),
        ("ready", at("10:05:55"), ""),
        ("logged_out", at("18:00:00"), ""),
        ("ready", at("23:30:00"), ""),
        ("on_call", at("00:00:05", NEXT), ""),
        ("wrap_up", at("00:02:05", NEXT), ""),
        ("ready", at("00:02:15", NEXT), ""),
        ("logged_out", at("00:30:00", NEXT), ""),
    )
    # 9103 came in ready the day before (after a pause earlier still): its starting state
    # is its latest change before the period, not any earlier one.
    await states(
        db,
        "9103",
        ("paused", at("09:00:00", DAY - dt.timedelta(days=2)), "training"),
        ("ready", at("17:00:00", DAY - dt.timedelta(days=1)), ""),
        ("logged_out", at("10:00:00"), ""),
    )
    await db.execute(
        "INSERT INTO voice_messages (channel_id, recording, seconds, created_at, due_on)"
        " VALUES ('rep-W', '/rep/w.wav', 5, $1, $2)",
        at("10:30:00"),
        DAY + dt.timedelta(days=7),
    )


AHT = (190 + 130 + 195 + 190 + 130) / 4  # A, T (both parts), V, M: talk + wrap-up


def hotline_cli(system: SystemUnderTest, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", "report", *args, "--instance", "test"],
        env=system.controller.env,
        capture_output=True,
        timeout=60,
        check=False,
    )


async def test_a_day_read_back_through_the_adapter_the_cli_and_the_api(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    await a_day_of_records(db)
    hours = load_hours(system.settings.config_dir)
    engine = create_async_engine(system.instance.database_url or "")
    try:
        report = await period_report(
            engine, Period.day(DAY), ReportRules(hours=hours), now=at("12:00:00", NEXT)
        )
        c = report.center
        assert (c.calls, c.self_service, c.offered, c.answered, c.abandoned) == (7, 1, 6, 4, 2)
        assert (c.short_abandoned, c.answer_rate, c.answered_by_callback) == (1, 4 / 6, 1)
        assert (c.asa, c.service_level, c.service_level_2, c.transfers) == (10, 1.0, 1.0, 1)
        assert c.aht == pytest.approx(AHT)
        assert (c.callbacks_booked, c.callbacks_reached, c.survey_answers) == (1, 1, 1)
        assert report.by_queue["expert_social_insurance"].asa == 30
        assert report.by_queue["social_insurance"].offered == 6
        a1, a2 = report.by_agent["9101"], report.by_agent["9102"]
        assert (a1.answered, a1.transfers, a1.talk_seconds, a1.wrapup_seconds) == (2, 1, 300, 20)
        assert (a1.time.logged_in, a1.time.paused_by_reason, a1.logins) == (
            12600,
            {"meeting": 3600},
            1,
        )
        assert (a1.time.on_call, a2.answered, a2.wrapup_seconds, a2.logins) == (300, 3, 35, 2)
        assert a2.offered == 4
        assert (a2.time.logged_in, a2.time.on_call) == (34200 + 1800, 360)
        assert report.voice_messages.received == 1
        a3 = report.by_agent["9103"]
        assert (a3.time.logged_in, a3.time.ready, a3.time.paused_by_reason) == (36000, 36000, {})

        app = make_app(
            api_controller(system, engine),
            SimpleNamespace(connected=False),  # type: ignore[arg-type]
            Metrics(),
        )
        async with TestClient(TestServer(app)) as client:
            token = {"Authorization": f"Bearer {system.instance.secrets.api_token}"}
            resp = await client.get(f"/reports/daily?date={DAY}")
            assert resp.status == 401
            resp = await client.get(f"/reports/daily?date={DAY}", headers=token)
            center = (await resp.json())["calls"][0]
            assert (center["offered"], center["answered"], center["asa_seconds"]) == (6, 4, 10.0)
            resp = await client.get("/reports/agents?month=2031-03&format=csv", headers=token)
            assert resp.headers["Content-Type"].startswith("text/csv")
            # quality_samples, _scored, _score (none drawn) beside the satisfaction
            assert "9101,2,2,0,1,300.0,20.0,160.0,1,1.0,0,0,,1," in await resp.text()
            resp = await client.get("/reports/daily?date=2031-02-30", headers=token)
            assert (resp.status, (await resp.json())["error_id"]) == (400, "bad_date")
    finally:
        await engine.dispose()

    # The CLI reads the same database (the controller need not run).
    out = hotline_cli(system, "daily", "--date", str(DAY), "--format", "csv")
    assert out.returncode == 0, out.stderr.decode()
    lines = out.stdout.decode().splitlines()
    center_row = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert (center_row["offered"], center_row["answered"], center_row["answer_rate"]) == (
        "6",
        "4",
        "0.6667",
    )
    xlsx = tmp_path / "day.xlsx"
    out = hotline_cli(
        system, "daily", "--date", str(DAY), "--format", "xlsx", "--output", str(xlsx)
    )
    assert out.returncode == 0, out.stderr.decode()
    book = load_workbook(io.BytesIO(xlsx.read_bytes()))
    rows = list(book["calls"].iter_rows(values_only=True))
    header: list[Any] = list(rows[0])
    assert rows[1][header.index("abandoned")] == 2
    assert rows[1][header.index("aht_seconds")] == round(AHT, 1)
    out = hotline_cli(system, "ministry", "--date", str(DAY), "--center", "330483")
    assert out.returncode == 0, out.stderr.decode()
    assert (
        out.stdout.decode()
        .splitlines()[1]
        .startswith("12333-daily-v1,330483,2031-03-04,workday,20,5,7,1,0,6,4,2,1,0.6667,")
    )


def api_controller(system: SystemUnderTest, engine: Any) -> Any:
    """What the report routes read: the database, the hours and the token."""
    return SimpleNamespace(
        config=SimpleNamespace(api_token=system.instance.secrets.api_token),
        hours=load_hours(system.settings.config_dir),
        engine=engine,
        desk=None,
    )
