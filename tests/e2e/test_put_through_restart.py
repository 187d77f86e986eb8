"""A controller that dies just after putting a caller (or a call-back's citizen) through to
an agent, before keeping the agent on the caller's channel (hotline/bridging.py
put_through): its successor finds them talking in the call's bridge and carries the
conversation on, instead of queueing the caller again while they talk, or dialling the
citizen again (hotline/reattaching.py resume_unkept)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

import asyncpg

from tests.e2e.test_callback import (
    BOOK_A_CALLBACK,
    callback_row,
    citizen,
    citizen_phone,
    paused_agent,
    trunk_channels,
)
from tests.e2e.test_consult import _entered, _recorded, _segments
from tests.support.calls import events_of, wait_for_call
from tests.support.desk import in_conversation, phone, set_agent
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Hold, Keys, Pause, Speak
from tests.support.system import SystemUnderTest


async def agent_kept(
    observer: AriObserver, on: Callable[[str], bool], value: str = "", since: int = 0
) -> dict[str, Any]:
    """A controller kept an agent on a channel `on` accepts: HOTLINE_AGENT set, not empty,
    starting with `value` (`since`: among the events from that index on)."""
    return await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelVarset"
            and on(str(e.get("channel", {}).get("id", "")))
            and e.get("variable") == "HOTLINE_AGENT"
            and bool(e.get("value"))
            and str(e.get("value")).startswith(value)
        ),
        since=since,
    )


async def restart_unkept(running: SystemUnderTest, observer: AriObserver, channel: str) -> int:
    """Kill the controller, take the agent off `channel` (as if it had died before keeping
    them) and start it again; the index of the first event after the kill."""
    running.controller.stop(signal.SIGKILL)
    await observer.set_variable(channel, "HOTLINE_AGENT", "")
    after_kill = len(observer.events)
    running.controller.start()
    return after_kill


async def test_a_conversation_not_kept_yet_is_carried_on_after_a_restart(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. A citizen asks for a person; 1001 answers: they talk in the call's bridge.
    2. The controller is killed, and the agent is taken off the caller's channel, as if it
       had died between the bridging and keeping the agent there; it is started again.
    3. The successor re-attaches the conversation: the caller is not queued again, 1001
       stays on the call; the caller hangs up: one answered call of 1001's, its part
       ended by the caller, recorded in one file, adopted once.
    """
    agent_phone = phone(running, "1001")
    desk.append(agent_phone)
    await agent_phone.register()
    await set_agent(running, "1001", "login")
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000581"
    )
    await citizen.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Hold(40000), Speak(3000)])
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
    call = row["channel_id"]
    await _entered(observer, f"b-{call}", f"{call}-1001-")
    await agent_kept(observer, lambda channel: channel == call)
    for _ in range(50):  # the answer is stored before the controller dies
        if (await _segments(db, call))[-1]["answered_at"] is not None:
            break
        await asyncio.sleep(0.2)
    after_kill = await restart_unkept(running, observer, call)
    # The successor keeps 1001 on the caller's channel again, with the recording it found.
    kept = await agent_kept(
        observer, lambda channel: channel == call, f"1001|{call}-1001-", since=after_kill
    )
    assert kept["value"].split("|")[2].endswith(f"-{call}-1001.wav"), kept["value"]
    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["disposition"], row["adoptions"]) == ("1001", "answered", 1)
    parts = await _segments(db, call)
    assert [(p["agent"], p["outcome"]) for p in parts] == [("1001", "caller_hangup")]
    await asyncio.sleep(2)  # a second recording, if any, would be stored a second after
    assert [r["agent"] for r in await _recorded(db, call, 1)] == ["1001"]
    log = running.controller.log_tail(200_000)
    assert "conversation_resumed" in log
    found = [line for line in log.splitlines() if "event=conversation_found_unkept" in line]
    # logfmt: a true flag is its bare name (MixMonitor's file of 1001 was found, not a new one)
    assert [line.split()[3:] for line in found] == [[f"call_id={call}", "agent=1001", "recorded"]]
    queued = [line for line in log.splitlines() if "event=queued" in line and call in line]
    assert len(queued) == 1 and "resumed=false" in queued[0], queued  # not queued again


async def test_a_call_back_not_kept_yet_is_carried_on_without_a_second_dial(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Citizen F books a callback (virtual hold); 1001 becomes ready and F's phone answers:
       they talk in the call's bridge.
    2. The controller is killed, the agent is taken off the citizen's channel (as if it had
       died before keeping them), and it is started again.
    3. The conversation is carried on: F is dialled once, the callback is done after one
       attempt, the call answered by 1001.
    """
    await paused_agent(running, desk, "1001", talk_ms=14000)
    await citizen_phone(running, desk, "13900000582", talk_ms=20000)
    f = citizen(running, "13900000582")
    result = await f.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    row = await wait_for_call(db, f.number, until=lambda r: r["queue"] == "general")
    call = row["channel_id"]
    await callback_row(db, call, "pending")
    await set_agent(running, "1001", "ready")
    kept = await agent_kept(observer, lambda channel: channel.startswith(f"{call}-cb"))
    citizen_channel = kept["channel"]["id"]
    for _ in range(50):  # the answer is stored before the controller dies
        if "callback_answered" in [x["kind"] for x in await events_of(db, call)]:
            break
        await asyncio.sleep(0.2)
    after_kill = await restart_unkept(running, observer, citizen_channel)
    await agent_kept(
        observer, lambda channel: channel == citizen_channel, f"1001|{call}-1001-", after_kill
    )
    done = await callback_row(db, call, "done")
    assert done["attempts"] == 1
    assert len(trunk_channels(observer, call)) == 1
    row = await wait_for_call(db, f.number)
    assert (row["disposition"], row["agent"]) == ("answered", "1001")


async def test_a_caller_whose_agent_hung_up_while_the_controller_was_away_is_put_through_again(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. A citizen talks with 1001 in the call's bridge.
    2. The controller is killed; 1001 hangs up meanwhile: the citizen stays alone in the
       call's bridge (Asterisk keeps a mixing bridge with one channel).
    3. Started again, the controller puts the citizen back in the queue, out of that bridge,
       and 1001's phone rings again: the two talk in the call's bridge once more, and the
       call ends answered by 1001, adopted once.
    """
    agent = phone(running, "1001", talk_ms=6000)
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1001", "login")
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000586"
    )
    await citizen.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Hold(40000)])
    call = await observer.call_from(citizen.number)
    await in_conversation(observer, call, "1001")
    running.controller.stop(signal.SIGKILL)
    left = await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelLeftBridge"
            and e["bridge"]["id"] == f"b-{call}"
            and e["channel"]["id"].startswith(f"{call}-1001-")
        )
    )
    after_hang_up = observer.events.index(left)
    running.controller.start()
    # The caller was taken out of the bridge, then put through again (a new leg of 1001's,
    # maybe of the same id: the first one is gone).
    again = await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelEnteredBridge"
            and e["bridge"]["id"] == f"b-{call}"
            and e["channel"]["id"].startswith(f"{call}-1001-")
        ),
        timeout=60,
        since=after_hang_up,
    )
    # Out of the bridge before 1001's phone rang again: a waiting caller, hearing hold music.
    rung = await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelCreated" and e["channel"]["id"].startswith(f"{call}-1001-")
        ),
        since=after_hang_up,
    )
    out = [
        e
        for e in observer.events[after_hang_up : observer.events.index(rung)]
        if e.get("type") == "ChannelLeftBridge" and e["channel"]["id"] == call
    ]
    assert out, "the caller waited again while still in the call's bridge"
    assert observer.events.index(again) > observer.events.index(rung)
    await citizen.go_on()
    assert (await citizen.finish()).ok
    row = await wait_for_call(db, citizen.number)
    assert (row["channel_id"], row["agent"], row["disposition"]) == (call, "1001", "answered")
    assert row["adoptions"] == 1
