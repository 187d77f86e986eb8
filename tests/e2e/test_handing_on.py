"""Where an agent hands a caller on, through the real Asterisk: expert seats off duty (the
agent's `*` + key is refused, they hear why and keep the caller), and another department's
number through the trunk (blind transfer)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import urllib.error

import asyncpg
import pytest

from tests.e2e.test_config_apply import apply
from tests.support.api import agent_api
from tests.support.calls import event_data, events_of, wait_for_call
from tests.support.desk import after_last_call, agent_states, phone, segments, set_agent
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Keys, Pause, WaitForHangup
from tests.support.system import DEPARTMENT_PORT, SystemUnderTest


async def test_off_duty_the_agent_is_told_and_keeps_the_caller(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Ops take the expert seats off duty (hours.yaml `duty: experts` empty) and apply.
    2. Agent 1001 answers a citizen; the web desk's transfer to the expert queue is refused
       (409 no_expert_on_duty); 1001 presses * 1 on the desk phone: they hear that no expert
       is on duty (the caller does not), and the conversation goes on until the caller
       hangs up: one segment, answered, no transfer.
    """
    hours_file = running.settings.config_dir / "hours.yaml"
    original = hours_file.read_text()
    off = re.sub(r"duty:\n  experts:\n(    .*\n)+", "duty:\n  experts: {}\n", original)
    assert off != original
    agent = phone(running, "1001", keys=(3000, "*1"))
    desk.append(agent)
    try:
        hours_file.write_text(off)
        code, out = await apply(running)
        assert code == 0, out
        await agent.register()
        await set_agent(running, "1001", "login")
        citizen = Caller(
            sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000571"
        )
        await citizen.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Pause(8000)])
        row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(
                agent_api, running, "/agents/1001/transfer?queue=expert_social_insurance"
            )
        assert refused.value.code == 409
        assert json.loads(refused.value.read())["error_id"] == "no_expert_on_duty"
        refused.value.close()
        told = await observer.wait_for(
            lambda e: (
                e.get("type") == "PlaybackStarted"
                and e["playback"]["target_uri"].startswith(f"channel:{row['channel_id']}-1001-")
                and e["playback"]["media_uri"].endswith("/expert-off-duty")
            )
        )
        assert told
        result = await citizen.finish()
        assert result.ok, result.output
    finally:
        hours_file.write_text(original)
        code, out = await apply(running)
        assert code == 0, out
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["queue"], row["disposition"]) == ("1001", "general", "answered")
    assert await segments(db, row["channel_id"]) == [("1001", "caller_hangup")]
    events = await events_of(db, row["channel_id"])
    kinds = [e["kind"] for e in events]
    assert "transferred_to_queue" not in kinds
    refusals = [event_data(e) for e in events if e["kind"] == "transfer_refused"]
    assert refusals == [
        {"agent": "1001", "queue": "expert_social_insurance", "reason": "off_duty"}
    ], refusals


async def test_a_blind_transfer_to_another_department_through_the_trunk(
    running: SystemUnderTest, db: asyncpg.Connection, desk: list[DeskPhone]
) -> None:
    """
    1. Agent 1003 answers a citizen and presses * 8 (the housing fund, 12329, `outside:` in
       queues.yaml); the department answers behind the trunk (a SIPp phone).
    2. 1003 leaves (segment `transferred`, wrap-up); the citizen talks with the department,
       which hangs up after 3 s: the citizen's line is ended. The call stays answered, with
       the transfer in its record.
    """
    agent = phone(running, "1003", keys=(2000, "*8"))
    department = DeskPhone(
        user="12329",
        password="-",
        sip_port=running.settings.ports.sip,
        work_dir=running.work_dir / "department-out",
        talk_ms=3000,
        calls=1,
    )
    desk += [agent, department]
    await agent.register()
    await set_agent(running, "1003", "login")
    await department.answer_at(DEPARTMENT_PORT)
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000572"
    )
    result = await citizen.call(
        [Pause(1500), Keys("0"), Pause(800), Keys("0"), WaitForHangup(20000)]
    )
    assert result.ok, result.output
    assert await department.handled_all(10)
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["disposition"]) == ("1003", "answered")
    assert await segments(db, row["channel_id"]) == [("1003", "transferred")]
    events = await events_of(db, row["channel_id"])
    moved = [event_data(e) for e in events if e["kind"] == "transferred_out"]
    assert moved == [{"agent": "1003", "to": "housing_fund", "number": "12329"}]
    assert "transfer_out_ended" in [e["kind"] for e in events]
    states = await agent_states(db, "1003")
    # This test's call is 1003's last (earlier tests' states of 1003 come before it).
    assert after_last_call(states)[:2] == ["on_call", "wrap_up"], states


async def test_a_call_with_another_department_survives_a_controller_restart(
    running: SystemUnderTest, db: asyncpg.Connection, desk: list[DeskPhone]
) -> None:
    """
    1. Agent 1003 answers a citizen and presses * 8: the housing fund answers and the citizen
       talks with it.
    2. The controller is killed and started again: the call is re-attached (the department's
       leg is not hung up as a stray, the citizen is not queued again).
    3. The department hangs up 8 s after answering: the citizen's line is ended; the call's
       record is as without the restart (answered, 1003's segment transferred, the transfer
       ended by the department), adopted once.
    """
    agent = phone(running, "1003", keys=(2000, "*8"))
    department = DeskPhone(
        user="12329",
        password="-",
        sip_port=running.settings.ports.sip,
        work_dir=running.work_dir / "department-restart",
        talk_ms=8000,
        calls=1,
    )
    desk += [agent, department]
    await agent.register()
    await set_agent(running, "1003", "login")
    await department.answer_at(DEPARTMENT_PORT)
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000574"
    )
    await citizen.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), WaitForHangup(30000)])
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1003")
    for _ in range(100):
        kinds = [e["kind"] for e in await events_of(db, row["channel_id"])]
        if "transferred_out" in kinds:
            break
        await asyncio.sleep(0.2)
    assert "transferred_out" in kinds, kinds
    running.controller.stop(signal.SIGKILL)
    running.controller.start()
    result = await citizen.finish()
    assert result.ok, result.output
    assert await department.handled_all(10)
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["disposition"], row["adoptions"]) == ("1003", "answered", 1)
    assert await segments(db, row["channel_id"]) == [("1003", "transferred")]
    events = await events_of(db, row["channel_id"])
    ended = [event_data(e) for e in events if e["kind"] == "transfer_out_ended"]
    assert ended == [{"by": "outside"}], ended
    assert "queued" not in [e["kind"] for e in events[len(kinds) :]]


async def test_a_busy_department_leaves_the_agent_with_the_caller(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1003 answers a citizen and presses * 8; the housing fund's line is busy (486).
    2. 1003 alone hears that the line could not be reached and keeps talking with the
       citizen until they hang up: one segment, no transfer.
    """
    agent = phone(running, "1003", keys=(2000, "*8"))
    department = DeskPhone(
        user="12329",
        password="-",
        sip_port=running.settings.ports.sip,
        work_dir=running.work_dir / "department-busy",
        mode="busy",
        calls=1,
    )
    desk += [agent, department]
    await agent.register()
    await set_agent(running, "1003", "login")
    await department.answer_at(DEPARTMENT_PORT)
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000573"
    )
    await citizen.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Pause(7000)])
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1003")
    await observer.wait_for(
        lambda e: (
            e.get("type") == "PlaybackStarted"
            and e["playback"]["target_uri"].startswith(f"channel:{row['channel_id']}-1003-")
            and e["playback"]["media_uri"].endswith("/outside-failed")
        )
    )
    result = await citizen.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["disposition"]) == ("1003", "answered")
    assert await segments(db, row["channel_id"]) == [("1003", "caller_hangup")]
    events = await events_of(db, row["channel_id"])
    failed = [event_data(e) for e in events if e["kind"] == "transfer_out_failed"]
    assert failed == [{"to": "housing_fund", "why": "busy", "cause": 17}], failed
