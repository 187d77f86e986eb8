"""The center is full (HOTLINE_MAX_CALLERS citizens on the line): the next caller hears that
all lines are busy, before any answer, and is refused as busy; the calls in progress go on."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hotline.provision import asterisk
from tests.support.calls import event_data, events_of
from tests.support.observer import AriObserver
from tests.support.sipp import Caller, Pause, Refused, WaitForHangup
from tests.support.system import SystemUnderTest


@pytest.fixture
async def two_lines(running: SystemUnderTest) -> AsyncIterator[SystemUnderTest]:
    """The controller restarted to take two citizens at once; the usual one afterwards."""
    await asyncio.to_thread(running.controller.stop)
    running.controller.env["HOTLINE_MAX_CALLERS"] = "2"
    try:
        await asyncio.to_thread(running.controller.start)
        yield running
    finally:
        await asyncio.to_thread(running.controller.stop)
        del running.controller.env["HOTLINE_MAX_CALLERS"]
        await asyncio.to_thread(running.controller.start)


def refusals(system: SystemUnderTest) -> dict[str, float]:
    """hotline_calls_refused_total by reason, and the limit, from /metrics."""
    url = f"http://127.0.0.1:{system.settings.ports.http}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    return {
        s.labels.get("reason", s.name): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in ("hotline_calls_refused_total", "hotline_max_callers")
    }


async def channel_of(observer: AriObserver, number: str, state: str = "Ring") -> str:
    """The id of the channel a caller's number came in on, once it is in `state` (Asterisk's
    own view: rows left by an earlier run cannot be mistaken for it)."""
    event = await observer.wait_for(
        lambda e: (
            e.get("type") in ("ChannelCreated", "ChannelStateChange")
            and e["channel"]["caller"]["number"] == number
            and e["channel"]["state"] == state
        )
    )
    return str(event["channel"]["id"])


async def row_of(db: asyncpg.Connection, channel_id: str, ended: bool = True) -> asyncpg.Record:
    """The call's row once written (and closed, when `ended`): the journal writes later."""
    for _ in range(150):
        row = await db.fetchrow("SELECT * FROM calls WHERE channel_id = $1", channel_id)
        if row is not None and (row["ended_at"] is not None or not ended):
            return row
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {'closed ' if ended else ''}row for {channel_id}")


async def test_a_caller_beyond_the_limit_hears_lines_busy_and_is_refused_as_busy(
    two_lines: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. Two citizens call and stay in the menu: the two lines are taken.
    2. A third calls: early media (183) plays "all lines busy" in Mandarin then English,
       then 486 Busy Here; the call was never answered, its record says `lines_busy`, and
       /metrics counts the refusal.
    3. The two calls went on meanwhile; once one hangs up, the next caller is answered.
    """
    system = two_lines
    sip, work = system.settings.ports.sip, system.work_dir
    held = [Caller(sip_port=sip, work_dir=work, number=f"1390000330{i}") for i in (1, 2)]
    for caller in held:
        await caller.start([WaitForHangup(30000)])
    lines = [await channel_of(observer, c.number, "Up") for c in held]
    assert refusals(system) == {"lines_busy": 0.0, "hotline_max_callers": 2.0}

    third = Caller(sip_port=sip, work_dir=work, number="13900003303")
    result = await third.call([Refused(486)])
    assert result.ok, result.output
    refused = await channel_of(observer, third.number)
    row = await row_of(db, refused)
    assert row["disposition"] == "lines_busy" and row["hangup_side"] == "system"
    assert row["answered_at"] is None  # early media only: the caller pays nothing
    events = await events_of(db, refused)
    played = [event_data(e) for e in events if e["kind"] == "prompt_played"]
    assert [(p["media"].split("/")[-2:], p["state"]) for p in played] == [
        (["zh", "lines-busy"], "done"),
        (["en", "lines-busy"], "done"),
    ]
    assert "refused" in [e["kind"] for e in events]
    states = [
        e["channel"]["state"] for e in observer.events if e.get("channel", {}).get("id") == refused
    ]
    assert "Up" not in states, states
    assert refusals(system) == {"lines_busy": 1.0, "hotline_max_callers": 2.0}

    for line in lines:  # both still in progress, untouched by the refusal
        assert (await row_of(db, line, ended=False))["ended_at"] is None
    await observer.hang_up(lines[0])
    assert (await held[0].finish()).ok
    await row_of(db, lines[0])  # closed: its line is free again
    fourth = Caller(sip_port=sip, work_dir=work, number="13900003304")
    assert (await fourth.call([Pause(500)])).ok
    assert (await row_of(db, await channel_of(observer, fourth.number, "Up")))["answered_at"]
    await observer.hang_up(lines[1])
    assert (await held[1].finish()).ok


def restart_asterisk(system: SystemUnderTest, maxcalls: int) -> None:
    """Asterisk stopped and started again with its `maxcalls` set; the controller too, so
    that it is connected when this returns."""
    settings = system.settings
    conf = settings.on_host(settings.asterisk_dir) / "etc" / "asterisk.conf"
    system.controller.stop()
    asterisk.stop(settings, system.instance.asterisk_proc)
    text = re.sub(r"(?m)^maxcalls = \d+$", f"maxcalls = {maxcalls}", conf.read_text())
    conf.write_text(text)
    system.instance.asterisk_proc = asterisk.start(settings, lambda _m: None)
    system.controller.start()


@pytest.fixture
async def one_call_in_asterisk(running: SystemUnderTest) -> AsyncIterator[SystemUnderTest]:
    """Asterisk's own limit at one call (the controller's far above it); restored after."""
    await asyncio.to_thread(restart_asterisk, running, 1)
    try:
        yield running
    finally:
        await asyncio.to_thread(restart_asterisk, running, running.settings.channels)


async def test_past_asterisk_maxcalls_a_caller_gets_503_and_nothing_is_left_half_set_up(
    one_call_in_asterisk: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. Asterisk's maxcalls is 1 and a citizen is in the menu.
    2. A second citizen calls: 503 Service Unavailable at once (no early media, no answer);
       the controller never saw the call and Asterisk keeps no channel of it.
    """
    system = one_call_in_asterisk
    sip, work = system.settings.ports.sip, system.work_dir
    first = Caller(sip_port=sip, work_dir=work, number="13900003311")
    await first.start([WaitForHangup(20000)])
    line = await channel_of(observer, first.number, "Up")
    second = Caller(sip_port=sip, work_dir=work, number="13900003312")
    result = await second.call([Refused(503, early_media=False)])
    assert result.ok, result.output
    assert (
        await db.fetchval("SELECT count(*) FROM calls WHERE caller_number = $1", second.number) == 0
    )
    left = [c for c in await observer.channels() if c["caller"]["number"] == second.number]
    assert left == []
    await observer.hang_up(line)
    assert (await first.finish()).ok
