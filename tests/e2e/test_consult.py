"""The attended consult (acd/consult.py) through the real Asterisk: agent 1001 asks the
expert queue with * * 1 on the desk phone, the caller holds, expert 1004 answers (whisper),
they talk; then complete, three-way, cancel, or no expert and a work order in one step."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.error
from array import array
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from acd.figures import build_report
from acd.report_figures import Report
from acd.report_records import Period, ReportRules
from hotline.reports import load_records
from ivr.hours import load_hours
from tests.support.api import agent_api
from tests.support.calls import wait_for_call
from tests.support.desk import after_last_call, agent_states, answered_by, phone, rms, set_agent
from tests.support.handset import Handset
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Hold, Keys, Pause, Speak
from tests.support.system import SystemUnderTest

ASK = "**1"  # consult the expert queue (transfers: "1" in the shipped queues.yaml)
WAIT = "," * 8  # the expert answers and hears the whisper meanwhile
# Each phone's own tone (tests/support/handset.py), as in tests/e2e/test_listen_in.py.
VOICES = {"caller": 500, "agent": 1100, "expert": 1700}
HEARD, SILENT = 1500.0, 300.0  # a tone is sent at amplitude 6000


async def _consult_call(
    running: SystemUnderTest, desk: list[DeskPhone], number: str, agent_keys: str, **expert: Any
) -> Caller:
    """1001 and the expert 1004 log in (1001 first, so 1001 takes the call); a citizen asks
    for a person; 1001 answers and presses `agent_keys`. The citizen stays on (Hold)."""
    first = phone(running, "1001", keys=(2000, agent_keys))
    second = phone(running, "1004", **expert)
    desk += [first, second]
    for p, agent in ((first, "1001"), (second, "1004")):
        await p.register()
        await set_agent(running, agent, "login")
        await asyncio.sleep(0.2)
    citizen = Caller(sip_port=running.settings.ports.sip, work_dir=running.work_dir, number=number)
    await citizen.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Hold(40000), Speak(3000)])
    return citizen


async def _entered(observer: AriObserver, bridge: str, channel_prefix: str) -> None:
    """Asterisk put a channel whose id starts with `channel_prefix` into `bridge`."""
    await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelEnteredBridge"
            and e["bridge"]["id"] == bridge
            and e["channel"]["id"].startswith(channel_prefix)
        )
    )


def _rms(pcm: bytes) -> float:
    """Loudness of 16-bit samples (0: silence)."""
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    return (sum(x * x for x in samples) / max(len(samples), 1)) ** 0.5


async def _segments(db: asyncpg.Connection, channel_id: str) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            "SELECT * FROM call_segments WHERE channel_id = $1 ORDER BY offered_at", channel_id
        )
    )


async def _report_of(running: SystemUnderTest, row: asyncpg.Record) -> Report:
    """The report of the call's day over this call only (other tests call today too),
    read through the reports' adapter from what the controller stored."""
    hours = load_hours(running.settings.config_dir)
    rules = ReportRules(timezone=hours.timezone, hours=hours)
    period = Period.day(rules.local(row["started_at"]).date())
    engine = create_async_engine(running.instance.database_url or "")
    try:
        records = await load_records(engine, period, rules)
    finally:
        await engine.dispose()
    mine = [c for c in records.calls if c.call_id == row["channel_id"]]
    return build_report(replace(records, calls=mine), period, rules, dt.datetime.now(dt.UTC))


async def _recorded(db: asyncpg.Connection, channel_id: str, count: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = []
    for _ in range(50):
        rows = list(
            await db.fetch("SELECT * FROM recordings WHERE channel_id = $1 ORDER BY id", channel_id)
        )
        if len(rows) >= count:
            break
        await asyncio.sleep(0.2)
    return rows


async def test_consult_then_complete_leaves_the_caller_with_the_expert(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. 1001 presses * * 1: the caller holds (music in the bridge), 1004 hears the whisper,
       then 1001 and 1004 talk in a bridge of their own.
    2. 1001 presses * 1: 1001's phone is hung up, 1004 joins the caller's bridge.
    3. Segments: 1001 handed over (consult complete, expert 1004, seconds talked), 1004
       consulted by 1001; the call's agent is 1004; both legs recorded.
    """
    citizen = await _consult_call(running, desk, "13900000561", ASK + WAIT + "*1", ring_ms=300)
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
    call = row["channel_id"]
    await _entered(observer, f"x-{call}", f"{call}-1004-")
    bridges = {b["id"]: set(b["channels"]) for b in await observer.bridges()}
    assert bridges[f"b-{call}"] == {call}  # the caller holds alone
    assert {c.rsplit("-", 1)[0] for c in bridges[f"x-{call}"]} == {f"{call}-1001", f"{call}-1004"}
    await _entered(observer, f"b-{call}", f"{call}-1004-")
    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["queue"]) == ("1004", "expert_social_insurance")
    parts = await _segments(db, call)
    assert [(p["agent"], p["outcome"], p["consulted_by"]) for p in parts] == [
        ("1001", "handed_over", None),
        ("1004", "caller_hangup", "1001"),
    ]
    assert (parts[0]["consult_outcome"], parts[0]["consult_expert"]) == ("complete", "1004")
    assert parts[0]["consult_queue"] == "expert_social_insurance"
    assert parts[0]["consult_seconds"] > 0
    recorded = {r["agent"]: r for r in await _recorded(db, call, 2)}
    assert set(recorded) == {"1001", "1004"}
    # 1001's recording is of the caller's channel: past the greeting (3 s), while the caller
    # was silent and 1001 away consulting, what it has is the hold music the caller heard.
    wav = (running.settings.root / recorded["1001"]["path"].lstrip("/")).read_bytes()
    assert _rms(wav[44 + 16000 * 5 :]) > 100, "the caller heard no hold music"


async def test_consult_then_three_way_where_all_three_hear_each_other(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. 1001 asks (* * 1); 1004 answers; they talk (both phones echo what they hear: their
       bridge stays silent, nobody speaks there).
    2. The web desk makes it three-way: Asterisk has the caller, 1001 and 1004 in one bridge.
    3. The caller speaks: 1004's recording (what 1004 hears and says, on 1004's channel)
       carries the caller's voice, which 1004 can only hear in the caller's bridge; 1001's
       (on the caller's channel) is not silent either. (Who hears whom is measured on each
       phone in the test after this one.)
    4. 1004 hangs up: 1001 and the caller go on; consult outcome three_way.
    """
    citizen = await _consult_call(running, desk, "13900000562", ASK, talk_ms=14000)
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
    call = row["channel_id"]
    await _entered(observer, f"x-{call}", f"{call}-1004-")
    answer = await asyncio.to_thread(agent_api, running, "/agents/1001/three-way")
    assert answer["call"] == call
    await _entered(observer, f"b-{call}", f"{call}-1004-")
    await _entered(observer, f"b-{call}", f"{call}-1001-")
    (bridge,) = [b for b in await observer.bridges() if b["id"] == f"b-{call}"]
    assert len(bridge["channels"]) == 3, bridge  # caller, 1001, 1004
    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    parts = await _segments(db, call)
    assert [(p["agent"], p["consulted_by"]) for p in parts] == [("1001", None), ("1004", "1001")]
    assert parts[0]["consult_outcome"] == "three_way"
    recorded = {r["agent"]: r for r in await _recorded(db, call, 2)}
    assert set(recorded) == {"1001", "1004"}
    for agent in ("1001", "1004"):
        path = running.settings.root / recorded[agent]["path"].lstrip("/")
        assert rms(path) > 100, f"{agent}'s recording is silent"


async def _heard(ears: dict[str, Handset]) -> dict[str, dict[str, int]]:
    """From now, after 1.5 s: how loud each voice was on each phone over its last second."""
    start = asyncio.get_running_loop().time() + 0.4
    await asyncio.sleep(1.5)
    return {
        leg: {who: round(ear.level(hz, start, start + 1.0)) for who, hz in VOICES.items()}
        for leg, ear in ears.items()
    }


async def test_three_way_audio_each_phone_hears_the_other_two(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    Each phone speaks a tone of its own (caller 500 Hz, 1001 1100 Hz, expert 1004 1700 Hz)
    and what each one receives is measured.
    1. 1001 presses * * 1, 1004 answers: 1001 and 1004 hear each other; the caller hears
       hold music and neither of them; 1004 does not hear the caller.
    2. Three-way (web desk): each of the three phones hears the other two.
    3. 1001 presses * 0 (lets the expert go): 1004's leg is hung up; the caller and 1001
       still hear each other.
    """
    ears = {who: await Handset(hz).open() for who, hz in VOICES.items()}
    agent = phone(running, "1001", media_port=ears["agent"].port)
    expert = phone(running, "1004", media_port=ears["expert"].port)
    desk += [agent, expert]
    for p in (agent, expert):
        await p.register()
        await set_agent(running, p.user, "login")
        await asyncio.sleep(0.2)  # 1001 first: 1001 takes the call
    citizen = Caller(
        sip_port=running.settings.ports.sip,
        work_dir=running.work_dir,
        number="13900000565",
        media_port=ears["caller"].port,
    )
    try:
        await citizen.start([Hold(60000)])
        created = await observer.wait_for(
            lambda e: (
                e.get("type") == "ChannelCreated"
                and e["channel"]["caller"]["number"] == citizen.number
            )
        )
        call = created["channel"]["id"]
        await asyncio.sleep(1.5)  # the welcome has begun: Asterisk sends, the handset answers
        await ears["caller"].press("0")
        await asyncio.sleep(0.5)
        await ears["caller"].press("0")
        await answered_by(db, call, "1001", timeout=20)
        await _entered(observer, f"b-{call}", f"{call}-1001-")

        await ears["agent"].press(ASK)
        await _entered(observer, f"x-{call}", f"{call}-1004-")
        since = asyncio.get_running_loop().time()
        heard = await _heard(ears)
        assert heard["agent"]["expert"] > HEARD and heard["expert"]["agent"] > HEARD, heard
        assert heard["caller"]["agent"] < SILENT and heard["caller"]["expert"] < SILENT, heard
        assert heard["expert"]["caller"] < SILENT, heard
        assert ears["caller"].heard_since(since), "the caller heard nothing (no hold music)"

        await asyncio.to_thread(agent_api, running, "/agents/1001/three-way")
        await _entered(observer, f"b-{call}", f"{call}-1004-")
        heard = await _heard(ears)
        for leg, others in heard.items():
            assert all(level > HEARD for who, level in others.items() if who != leg), heard

        await ears["agent"].press("*0")
        await observer.wait_for(
            lambda e: (
                e.get("type") == "ChannelDestroyed"
                and e["channel"]["id"].startswith(f"{call}-1004-")
            )
        )
        heard = await _heard(ears)
        assert heard["caller"]["agent"] > HEARD and heard["agent"]["caller"] > HEARD, heard
        assert heard["caller"]["expert"] < SILENT and heard["agent"]["expert"] < SILENT, heard
        (bridge,) = [b for b in await observer.bridges() if b["id"] == f"b-{call}"]
        assert len(bridge["channels"]) == 2, bridge  # the caller and 1001

        await citizen.go_on()
        assert (await citizen.finish()).ok
        await wait_for_call(db, citizen.number)  # its segments are written by then
        parts = await _segments(db, call)
        assert [(p["agent"], p["outcome"]) for p in parts] == [
            ("1001", "caller_hangup"),
            ("1004", "consult_ended"),
        ]
        assert parts[0]["consult_outcome"] == "three_way"
    finally:
        for ear in ears.values():
            await ear.close()


async def test_consult_then_cancel_puts_the_agent_back_with_the_caller(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """1001 asks, 1004 answers and talks with 1001, 1001 presses * 0: 1004's phone is hung
    up (wrap-up), 1001 is back in the caller's bridge; consult outcome cancelled. (Before
    the call, the API refuses a consult of an unknown queue, and one with no call.)"""
    for path, status, error in (
        ("/agents/1001/consult?queue=nowhere", 400, "unknown_queue"),
        ("/agents/1001/three-way", 409, "agent_not_on_a_call"),
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(agent_api, running, path)
        assert refused.value.code == status
        assert json.loads(refused.value.read())["error_id"] == error
    citizen = await _consult_call(running, desk, "13900000563", ASK + WAIT + "*0")
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
    call = row["channel_id"]
    await _entered(observer, f"x-{call}", f"{call}-1004-")
    await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelDestroyed" and e["channel"]["id"].startswith(f"{call}-1004-")
        )
    )
    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert row["agent"] == "1001"
    parts = await _segments(db, call)
    assert [(p["agent"], p["outcome"]) for p in parts] == [
        ("1001", "caller_hangup"),
        ("1004", "consult_cancel"),
    ]
    assert (parts[0]["consult_outcome"], parts[0]["consult_expert"]) == ("cancelled", "1004")
    # In the reports: one call answered by 1001; the consult is 1004's work, not a call.
    report = await _report_of(running, row)
    c, expert = report.center, report.by_agent["1004"]
    assert (c.offered, c.answered, c.abandoned, c.handled) == (1, 1, 0, 2)
    assert (c.consults_asked, c.consults_answered, c.consults_cancelled) == (1, 1, 1)
    assert report.by_queue["expert_social_insurance"].consults_cancelled == 1
    assert (expert.answered, expert.consults, expert.resolved_directly) == (1, 1, 0)
    assert expert.talk_seconds > 0
    states = await agent_states(db, "1004")
    # This test's consult is 1004's last call (earlier tests' states of 1004 come before it).
    assert after_last_call(states)[:2] == ["on_call", "wrap_up"], states
    entered = [
        e["channel"]["id"]
        for e in observer.events
        if e.get("type") == "ChannelEnteredBridge" and e["bridge"]["id"] == f"b-{call}"
    ]
    # 1001 entered the caller's bridge twice: when put through, and back after the cancel.
    assert sum(c.startswith(f"{call}-1001-") for c in entered) == 2, entered


async def test_no_expert_answers_the_agent_is_back_and_opens_a_work_order(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. 1001 asks (* * 1); 1004's phone rings but nobody answers; after the expert queue's
       consult_timeout (6 s here) 1001 hears that no expert is free and is back with the
       caller.
    2. 1001 presses * 0: a work order for the call, owned by 1001, with 1001's recording.
    """
    keys = ASK + "," * 10 + "*0"
    citizen = await _consult_call(running, desk, "13900000564", keys, mode="no_answer")
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
    call = row["channel_id"]
    await observer.wait_for(
        lambda e: (
            e.get("type") == "PlaybackStarted"
            and e["playback"]["target_uri"].startswith(f"channel:{call}-1001-")
            and "consult-no-expert" in e["playback"]["media_uri"]
        )
    )
    order = None
    for _ in range(100):
        order = await db.fetchrow("SELECT * FROM work_orders WHERE call_id = $1", call)
        if order is not None:
            break
        await asyncio.sleep(0.2)
    assert order is not None, "no work order opened"
    assert (order["owner"], order["line"]) == ("1001", "expert_social_insurance")
    assert order["caller_number"] == citizen.number
    assert order["recording"] and order["recording"].endswith("-1001.wav")
    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    parts = await _segments(db, call)
    assert parts[0]["agent"] == "1001"
    assert (parts[0]["consult_outcome"], parts[0]["consult_expert"]) == ("no_expert", None)
    assert [p["agent"] for p in parts] == ["1001", "1004"]  # 1004 was rung, did not answer
    report = await _report_of(running, await wait_for_call(db, citizen.number))
    c = report.center
    assert (c.offered, c.answered, c.abandoned, c.consults_asked, c.consults_no_expert) == (
        1,
        1,
        0,
        1,
        1,
    )
    assert (report.by_agent["1004"].answered, report.by_agent["1004"].consults) == (0, 0)
