"""A controller restart during an attended consult (hotline/reattaching.py): agent and
expert talking are carried on; a consult still ringing its expert is cancelled, the agent
back with the caller. Nobody is cut off and the call's record is whole."""

from __future__ import annotations

import asyncio
import signal
import urllib.error

import asyncpg

from tests.e2e.test_consult import ASK, _consult_call, _entered, _recorded, _segments
from tests.support.api import agent_api
from tests.support.calls import wait_for_call
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.system import SystemUnderTest


async def _stored(db: asyncpg.Connection, call: str, answered: bool) -> None:
    """Until 1004's leg is in the database (offered, or answered too): facts not written
    yet would die with the controller."""
    for _ in range(50):
        parts = {p["agent"]: p for p in await _segments(db, call)}
        if "1004" in parts and (parts["1004"]["answered_at"] is not None or not answered):
            break
        await asyncio.sleep(0.2)


async def _restart_once_stored(
    running: SystemUnderTest, db: asyncpg.Connection, call: str, answered: bool
) -> None:
    """Kill the controller once 1004's leg is in the database, and start it again."""
    await _stored(db, call, answered)
    running.controller.stop(signal.SIGKILL)
    running.controller.start()


async def _back_with_caller(observer: AriObserver, call: str) -> bool:
    """Whether 1001 entered the caller's bridge a second time (put through, then back after
    the restart) within 10 s."""

    def agent_entries() -> int:
        return sum(
            e.get("type") == "ChannelEnteredBridge"
            and e["bridge"]["id"] == f"b-{call}"
            and e["channel"]["id"].startswith(f"{call}-1001-")
            for e in observer.events
        )

    for _ in range(50):
        if agent_entries() == 2:
            return True
        await asyncio.sleep(0.2)
    return agent_entries() == 2


async def test_a_consult_survives_a_restart_and_is_completed_after_it(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. 1001 asks (* * 1); 1004 answers; they talk in their own bridge, the caller holds.
    2. The controller is killed and started again: the consult is re-attached as it was.
    3. The web desk completes it: 1004 joins the caller, 1001's phone is hung up; the
       record is as without the restart (1001 handed over, consult complete, 1004 the
       call's agent), adopted once.
    """
    citizen = await _consult_call(running, desk, "13900000566", ASK)
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
    call = row["channel_id"]
    await _entered(observer, f"x-{call}", f"{call}-1004-")
    await _restart_once_stored(running, db, call, answered=True)
    answer = None
    for _ in range(50):  # the new controller adopts the call in the background
        try:
            answer = await asyncio.to_thread(agent_api, running, "/agents/1001/complete")
            break
        except urllib.error.HTTPError as refused:
            refused.close()
            await asyncio.sleep(0.2)
    assert answer is not None and answer["call"] == call, "1001 is not on the call any more"
    await _entered(observer, f"b-{call}", f"{call}-1004-")
    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["queue"], row["adoptions"]) == ("1004", "expert_social_insurance", 1)
    parts = await _segments(db, call)
    assert [(p["agent"], p["outcome"], p["consulted_by"]) for p in parts] == [
        ("1001", "handed_over", None),
        ("1004", "caller_hangup", "1001"),
    ]
    assert (parts[0]["consult_outcome"], parts[0]["consult_expert"]) == ("complete", "1004")
    # Both parts recorded and stored, 1004's across the restart.
    assert {r["agent"] for r in await _recorded(db, call, 2)} == {"1001", "1004"}


async def test_a_consult_still_ringing_at_a_restart_puts_the_agent_back_with_the_caller(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. 1001 asks (* * 1); 1004's phone rings (nobody answers).
    2. The controller is killed and started again: the consult is cancelled, 1001 is back
       in the caller's bridge (the caller is not queued again); 1004's leg is ended.
    3. The caller hangs up: 1001's segment ends caller_hangup with the consult cancelled,
       1004's offered leg cancelled; adopted once.
    """
    citizen = await _consult_call(running, desk, "13900000567", ASK, mode="no_answer")
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
    call = row["channel_id"]
    await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelCreated" and e["channel"]["id"].startswith(f"{call}-1004-")
        )
    )
    await _restart_once_stored(running, db, call, answered=False)
    assert await _back_with_caller(observer, call), "1001 is not back with the caller"
    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["disposition"], row["adoptions"]) == ("1001", "answered", 1)
    parts = await _segments(db, call)
    assert [(p["agent"], p["outcome"]) for p in parts] == [
        ("1001", "caller_hangup"),
        ("1004", "cancelled"),
    ]
    assert parts[0]["consult_outcome"] == "cancelled"


async def test_an_expert_who_left_while_the_controller_was_down_is_counted_as_talked(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. 1001 asks (* * 1); 1004 answers; they talk in their own bridge.
    2. The controller is killed; 1004's leg hangs up meanwhile; the controller starts again.
    3. 1001 is back with the caller; the consult ended cancelled with 1004 as its expert
       (they talked: the reports count it as answered), 1004's leg ended agent_hangup.
    """
    citizen = await _consult_call(running, desk, "13900000568", ASK)
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
    call = row["channel_id"]
    await _entered(observer, f"x-{call}", f"{call}-1004-")
    expert_leg = next(
        e["channel"]["id"]
        for e in observer.events
        if e.get("type") == "ChannelEnteredBridge"
        and e["bridge"]["id"] == f"x-{call}"
        and e["channel"]["id"].startswith(f"{call}-1004-")
    )
    await _stored(db, call, answered=True)
    running.controller.stop(signal.SIGKILL)
    await observer.hang_up(expert_leg)
    running.controller.start()
    assert await _back_with_caller(observer, call), "1001 is not back with the caller"
    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    await wait_for_call(db, citizen.number)
    parts = await _segments(db, call)
    assert [(p["agent"], p["outcome"]) for p in parts] == [
        ("1001", "caller_hangup"),
        ("1004", "agent_hangup"),
    ]
    assert (parts[0]["consult_outcome"], parts[0]["consult_expert"]) == ("cancelled", "1004")
