"""Transfers to expert seats, whispers and escalation through the real Asterisk."""

from __future__ import annotations

import asyncio
import json
import urllib.error

import asyncpg
import pytest

from tests.support.api import agent_api
from tests.support.calls import wait_for_call
from tests.support.desk import after_last_call, agent_states, phone, segments, set_agent
from tests.support.observer import AriObserver, prompts_heard
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Hold, Keys, Pause, Speak, WaitForHangup
from tests.support.system import SystemUnderTest


async def test_a_transfer_to_an_expert_keeps_every_segment(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1001 and expert 1004 log in, 1001 first; a citizen asks for a person (0, 0)
       and 1001 answers.
    2. 1001 presses * 1 on the desk phone: the call goes to the expert queue; the caller
       hears that an expert is coming; 1001 goes to wrap-up, then ready.
    3. 1004 answers, first hears the queue's name and the wait (whisper), then the caller;
       the caller hears "工号1004"; 1004 hangs up; the caller rates 2 (fairly satisfied).
    4. Two segments with their own answer and end times; two recordings; the rating is
       the expert's; 1001's wrap-up was not cut short by the transfer.
    """
    first = phone(running, "1001", keys=(3000, "*1"))  # on until the system takes the call
    expert = phone(running, "1004", talk_ms=7000)
    desk += [first, expert]
    for p, agent in ((first, "1001"), (expert, "1004")):
        await p.register()
        await set_agent(running, agent, "login")
        await asyncio.sleep(0.2)
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000551"
    )
    await citizen.start(
        [
            Pause(1500),
            Keys("0"),
            Pause(800),
            Keys("0"),
            Speak(),
            Hold(),
            Keys("2"),
            WaitForHangup(40000),
        ]
    )
    # The caller rates once asked (after the expert hung up).
    await observer.heard(citizen.number, lambda h: "survey" in h)
    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["queue"], row["disposition"]) == (
        "1004",
        "expert_social_insurance",
        "answered",
    )
    parts = await db.fetch(
        "SELECT * FROM call_segments WHERE channel_id = $1 ORDER BY offered_at", row["channel_id"]
    )
    assert [(p["queue"], p["agent"], p["outcome"]) for p in parts] == [
        ("general", "1001", "transferred"),
        ("expert_social_insurance", "1004", "agent_hangup"),
    ]
    assert all(p["answered_at"] is not None and p["ended_at"] is not None for p in parts)
    assert parts[0]["ended_at"] <= parts[1]["offered_at"]
    survey = await db.fetchrow("SELECT * FROM surveys WHERE channel_id = $1", row["channel_id"])
    assert survey is not None and (survey["agent"], survey["score"]) == ("1004", "fairly_satisfied")
    for _ in range(50):
        recorded = await db.fetch(
            "SELECT agent FROM recordings WHERE channel_id = $1 ORDER BY id", row["channel_id"]
        )
        if len(recorded) == 2:
            break
        await asyncio.sleep(0.2)
    assert sorted(r["agent"] for r in recorded) == ["1001", "1004"]
    assert "transfer-expert" in prompts_heard(observer.events, row["channel_id"])
    whisper = [
        e["playback"]["media_uri"].rsplit("/", 1)[-1]
        for e in observer.events
        if e.get("type") == "PlaybackStarted"
        and e["playback"]["target_uri"].startswith(f"channel:{row['channel_id']}-1004-")
    ]
    assert whisper[:1] == ["queue-name-expert_social_insurance"], whisper
    states = await agent_states(db, "1001")
    # This test's call is 1001's last (earlier tests' states of 1001 come before it).
    after_call = after_last_call(states)
    assert after_call[:3] == ["on_call", "wrap_up", "ready"], states


async def test_the_web_desk_transfers_a_call_and_refuses_what_cannot_be(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
) -> None:
    """
    1. Transfer requests for an agent not on a call, or to an unknown queue, are refused
       with a clear error id.
    2. Agent 1002 takes a call and the web desk transfers it to the general queue, where
       1003 answers: two segments.
    """
    first = phone(running, "1002")
    second = phone(running, "1003", talk_ms=3000)
    desk += [first, second]
    await first.register()
    await set_agent(running, "1002", "login")
    for path, status, error in (
        ("/agents/1002/transfer?queue=general", 409, "agent_not_on_a_call"),
        ("/agents/1002/transfer?queue=nowhere", 400, "unknown_queue"),
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(agent_api, running, path)
        assert refused.value.code == status
        assert json.loads(refused.value.read())["error_id"] == error
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000553"
    )
    await citizen.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Pause(14000)])
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1002")
    await second.register()
    await set_agent(running, "1003", "login")
    moved = await asyncio.to_thread(agent_api, running, "/agents/1002/transfer?queue=general")
    assert moved["call"] == row["channel_id"]
    result = await citizen.finish()
    assert result.ok, result.output
    assert await segments(db, row["channel_id"]) == [
        ("1002", "transferred"),
        ("1003", "agent_hangup"),
    ]


async def test_escalation_widens_to_lower_levels_for_a_caller_already_waiting(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Only agent 1003 (social insurance level 2) is logged in; the social insurance queue
       wants level 3, and after 12 s (test config) accepts level 1.
    2. A citizen presses 0, 1 and waits: they hear their position (1), the estimated wait
       and the callback offer; at 12 s the step widens and 1003 is offered the call.
    """
    agent = phone(running, "1003", talk_ms=2000)
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1003", "login")
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000552"
    )
    result = await citizen.call([Pause(1500), Keys("0"), Pause(800), Keys("1"), Pause(20000)])
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert await segments(db, row["channel_id"]) == [("1003", "agent_hangup")]
    queued = await db.fetchval(
        "SELECT at FROM call_events WHERE channel_id = $1 AND kind = 'queued'", row["channel_id"]
    )
    offered = await db.fetchval(
        "SELECT offered_at FROM call_segments WHERE channel_id = $1", row["channel_id"]
    )
    # Not before the step: level 2 is below the queue's level 3 until then.
    assert (offered - queued).total_seconds() >= 12
    heard = prompts_heard(observer.events, row["channel_id"])
    assert heard[heard.index("queue-position") :][:2] == ["queue-position", "d1"], heard
