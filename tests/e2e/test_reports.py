"""Calls placed through the real Asterisk appear in the day's report with exact figures."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from acd.figures import build_report
from acd.report_records import Period, ReportRules
from hotline.reports import load_records
from ivr.hours import load_hours
from tests.support.calls import events_of, wait_for_call
from tests.support.desk import phone, set_agent
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Keys, Pause
from tests.support.system import SystemUnderTest


async def test_answered_abandoned_in_queue_and_in_menu_in_the_days_report(
    running: SystemUnderTest, db: asyncpg.Connection, desk: list[DeskPhone]
) -> None:
    """
    1. Agent 1001 logs in. Citizen A asks for a person and talks with 1001 for ~10 s.
    2. Meanwhile B asks for a person, waits ~6 s (1001 is busy) and hangs up: abandoned.
    3. C hangs up during the welcome: abandoned in the menu (self-service, never offered).
    4. The day's report over these three calls: offered 2, answered 1, abandoned 1.
    """
    agent = phone(running, "1001")
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1001", "login")

    def citizen(number: str) -> Caller:
        return Caller(sip_port=running.settings.ports.sip, work_dir=running.work_dir, number=number)

    a, b, c = citizen("13900000611"), citizen("13900000612"), citizen("13900000613")
    await a.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Pause(12000)])
    await put_through(db, a.number)  # A is with 1001 by the time B enters the queue
    await b.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Pause(6000)])
    await c.start([Pause(1000)])
    for caller in (a, b, c):
        result = await caller.finish()
        assert result.ok, result.output
    rows = [await wait_for_call(db, caller.number) for caller in (a, b, c)]
    assert [r["disposition"] for r in rows] == ["answered", "abandoned", "abandoned_in_menu"]

    hours = load_hours(running.settings.config_dir)
    rules = ReportRules(timezone=hours.timezone, hours=hours)
    period = Period.day(rules.local(rows[0]["started_at"]).date())
    engine = create_async_engine(running.instance.database_url or "")
    try:
        records = await load_records(engine, period, rules)
    finally:
        await engine.dispose()
    # Other tests of the session call today too: the report over these three calls only.
    ours = {r["channel_id"] for r in rows}
    records = replace(records, calls=[x for x in records.calls if x.call_id in ours])
    assert len(records.calls) == 3
    report = build_report(records, period, rules, dt.datetime.now(dt.UTC))
    fig = report.center
    assert (fig.calls, fig.self_service, fig.offered, fig.answered) == (3, 1, 2, 1)
    assert (fig.abandoned, fig.short_abandoned, fig.answer_rate) == (1, 0, 0.5)
    assert fig.asa is not None and fig.asa > 0  # from entering the queue to 1001's answer
    assert fig.talk_seconds > 5
    assert (report.by_agent["1001"].offered, report.by_agent["1001"].answered) == (1, 1)
    assert sum(sum(h.values()) for h in report.abandoned_by_hour.values()) == 1


async def put_through(db: asyncpg.Connection, number: str, timeout: float = 30) -> None:
    """Once the caller's call has its `agent` event: an agent was put through to them."""
    # The call in progress (an earlier run's call from the same number has ended).
    row = await wait_for_call(db, number, until=lambda r: r["ended_at"] is None, timeout=timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if any(e["kind"] == "agent" for e in await events_of(db, row["channel_id"])):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"call from {number} was never put through to an agent")
