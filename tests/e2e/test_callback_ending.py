"""Virtual hold that ends well: the citizen's line is closed after a callback, one booking per
number, and a callback not made by its deadline becomes a voice message.

The citizen's phone for the call back sits behind the carrier trunk (a SIPp UAS on the
trunk's port), as a citizen's mobile would.
"""

from __future__ import annotations

import asyncio
import signal

import asyncpg

from tests.e2e.test_callback import (
    BOOK_A_CALLBACK,
    callback_row,
    citizen,
    paused_agent,
    trunk_channels,
)
from tests.e2e.test_callback import citizen_phone as mobile
from tests.support.api import agent_api
from tests.support.calls import wait_for_call
from tests.support.desk import agent_states, answered_by, segments, set_agent
from tests.support.observer import AriObserver, prompts_heard
from tests.support.phones import DeskPhone
from tests.support.sipp import Hold, Keys, Pause, WaitForHangup
from tests.support.system import SystemUnderTest


async def leftover_channels(observer: AriObserver, call_id: str) -> list[str]:
    """Channels of a call still up in Asterisk (waits up to 10 s for them to go)."""
    left: list[str] = []
    for _ in range(50):
        left = [c["name"] for c in await observer.channels() if c["id"].startswith(call_id)]
        if not left:
            break
        await asyncio.sleep(0.2)
    return left


async def test_after_a_callback_the_citizen_is_asked_the_survey_and_hung_up(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1001 is paused; the citizen asks for a person, books a callback and hangs up.
    2. The agent becomes ready: the agent hears why, the citizen's mobile (behind the trunk)
       rings and answers; they talk; the agent hangs up first.
    3. The citizen, still on the line, hears the satisfaction question, presses 1, and the
       center hangs up: the mobile receives a BYE (it would wait for one forever).
    4. The call is closed: answered by 1001, the callback done, the survey stored for 1001.
    """
    await paused_agent(running, desk, "1001", talk_ms=8000)
    citizens_phone = await mobile(running, desk, "13900001111", keys=(12000, "1"), calls=1)
    caller = citizen(running, "13900001111")
    result = await caller.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    row = await wait_for_call(db, caller.number, until=lambda r: r["queue"] == "general")
    await callback_row(db, row["channel_id"], "pending")
    await set_agent(running, "1001", "ready")
    assert await citizens_phone.handled_all(timeout=60), "the citizen's line was never closed"
    (line,) = trunk_channels(observer, row["channel_id"])
    assert "survey" in prompts_heard(observer.events, line)
    row = await wait_for_call(db, caller.number)
    assert (row["disposition"], row["agent"]) == ("answered", "1001")
    done = await callback_row(db, row["channel_id"], "done")
    assert (done["attempts"], done["agent"]) == (1, "1001")
    survey = await db.fetchrow(
        "SELECT agent, score FROM surveys WHERE channel_id = $1", row["channel_id"]
    )
    assert survey is not None and tuple(survey) == ("1001", "satisfied")
    assert await segments(db, row["channel_id"]) == [("1001", "agent_hangup")]


async def test_a_citizen_who_hangs_up_first_ends_the_callback_conversation(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. A callback is booked and made; the citizen hangs up first during the conversation.
    2. The agent's phone is hung up (it would wait for a BYE forever), the agent goes to
       wrap-up; the call is answered, the callback done, the segment ended by the caller.
    """
    await paused_agent(running, desk, "1002")
    await mobile(running, desk, "13900001112", talk_ms=4000)
    caller = citizen(running, "13900001112")
    result = await caller.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    row = await wait_for_call(db, caller.number, until=lambda r: r["queue"] == "general")
    await callback_row(db, row["channel_id"], "pending")
    await set_agent(running, "1002", "ready")
    row = await wait_for_call(db, caller.number, timeout=60)
    left = await leftover_channels(observer, row["channel_id"])
    assert left == [], f"the agent's line was never closed: {left}"
    assert (row["disposition"], row["agent"]) == ("answered", "1002")
    await callback_row(db, row["channel_id"], "done")
    assert await segments(db, row["channel_id"]) == [("1002", "caller_hangup")]
    assert "wrap_up" in await agent_states(db, "1002")


async def test_an_agent_hanging_up_during_the_callback_whisper_stops_the_ringing(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. A callback is booked; the citizen's mobile will never answer.
    2. Agent 1003 takes it and hangs up while still hearing "回拨电话…": the citizen's
       phone stops ringing at once (no call from the center with nobody behind it).
    3. The callback goes back to its place; agent 1004 takes the second and last attempt,
       which rings out: the call ends as callback_failed, nothing left pending.
    """
    await paused_agent(running, desk, "1003", talk_ms=1500)
    await mobile(running, desk, "13900001113", mode="no_answer")
    caller = citizen(running, "13900001113")
    result = await caller.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    row = await wait_for_call(db, caller.number, until=lambda r: r["queue"] == "general")
    call_id = row["channel_id"]
    await callback_row(db, call_id, "pending")
    await set_agent(running, "1003", "ready")
    first = await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelDestroyed" and e["channel"]["id"].startswith(call_id + "-cb1")
        ),
        timeout=20,
    )
    await set_agent(running, "1003", "logout")
    assert first["channel"]["state"] != "Up"  # stopped ringing, never put through to nobody
    await paused_agent(running, desk, "1004")
    await set_agent(running, "1004", "ready")
    failed = await callback_row(db, call_id, "failed")
    assert failed["attempts"] == 2
    assert len(trunk_channels(observer, call_id)) == 2
    assert await segments(db, call_id) == [("1003", "agent_hangup"), ("1004", "not_reached")]
    row = await wait_for_call(db, caller.number)
    assert row["disposition"] == "callback_failed"


REBOOK = [Pause(1500), Keys("0"), Pause(800), Keys("0"), Pause(2500), Keys("1"), Pause(1500)]


async def test_one_pending_callback_per_number_and_a_daily_cap(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1001 is paused; the citizen books a callback.
    2. The same number calls again and asks for a callback: told that one is booked and keeps
       its earlier place; hung up; that call is not an abandon; one callback pending.
    3. The callback is made (the citizen hangs up after talking).
    4. The same number calls again and asks for a callback: today's bookings are used up
       (1 a day in the tests), so the caller keeps waiting on the line and is answered.
    """
    await paused_agent(running, desk, "1001")
    await mobile(running, desk, "13900001115", talk_ms=3000)
    first = citizen(running, "13900001115")
    result = await first.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    booked = await wait_for_call(db, first.number, until=lambda r: r["queue"] == "general")
    await callback_row(db, booked["channel_id"], "pending")
    again = citizen(running, "13900001115")
    result = await again.call([*REBOOK, Keys("1"), WaitForHangup(20000)])
    assert result.ok, result.output
    second = await wait_for_call(db, again.number)
    assert second["channel_id"] != booked["channel_id"]
    assert second["disposition"] == "callback_duplicate"
    assert "callback-exists" in prompts_heard(observer.events, second["channel_id"])
    pending = await db.fetch(
        "SELECT channel_id FROM callbacks WHERE number = $1 AND status = 'pending'",
        first.number,
    )
    assert [r["channel_id"] for r in pending] == [booked["channel_id"]]
    await set_agent(running, "1001", "ready")
    await callback_row(db, booked["channel_id"], "done")
    await set_agent(running, "1001", "pause")
    third = citizen(running, "13900001115")
    await third.start([*REBOOK, Keys("1"), Hold(60000)])
    row = await wait_for_call(
        db,
        third.number,
        until=lambda r: r["channel_id"] not in (booked["channel_id"], second["channel_id"]),
    )
    await observer.wait_for(
        lambda e: (
            e.get("type") == "PlaybackStarted"
            and e["playback"]["target_uri"] == f"channel:{row['channel_id']}"
            and e["playback"]["media_uri"].endswith("/callback-limit")
        ),
        timeout=20,
    )
    await asyncio.sleep(3)  # the notice ends; the caller is back in line
    await set_agent(running, "1001", "ready")
    await answered_by(db, row["channel_id"], "1001")  # answered on the line; then hangs up
    await third.go_on()
    result = await third.finish()
    assert result.ok, result.output
    row = await wait_for_call(
        db,
        third.number,
        until=lambda r: r["ended_at"] is not None and r["channel_id"] == row["channel_id"],
    )
    assert (row["disposition"], row["agent"]) == ("answered", "1001")
    assert (
        await db.fetchval("SELECT count(*) FROM callbacks WHERE channel_id = $1", row["channel_id"])
        == 0
    )


async def test_a_callback_past_its_deadline_becomes_a_voice_message(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1002 is paused; the citizen books a callback.
    2. Its deadline passes while the controller is down (set in the past in the database,
       as a night and a day without agents would); the controller starts again.
    3. The callback is not silently kept nor dropped: it ends as expired, a voice message
       with the citizen's number and an answer date takes its place, and the call is closed.
    """
    await paused_agent(running, desk, "1002")
    caller = citizen(running, "13900001116")
    result = await caller.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    row = await wait_for_call(db, caller.number, until=lambda r: r["queue"] == "general")
    booked = await callback_row(db, row["channel_id"], "pending")
    assert booked["deadline"] is not None and booked["deadline"] > booked["requested_at"]
    running.controller.stop(signal.SIGTERM)
    await db.execute(
        "UPDATE callbacks SET deadline = now() - interval '1 minute' WHERE channel_id = $1",
        row["channel_id"],
    )
    running.controller.start()
    await callback_row(db, row["channel_id"], "expired")
    message = None
    for _ in range(50):
        message = await db.fetchrow(
            "SELECT callback_number, origin, due_on, recording FROM voice_messages"
            " WHERE channel_id = $1",
            row["channel_id"],
        )
        if message is not None:
            break
        await asyncio.sleep(0.2)
    assert message is not None
    assert (message["callback_number"], message["origin"]) == ("13900001116", "callback_expired")
    assert message["recording"] is None and message["due_on"] > booked["requested_at"].date()
    row = await wait_for_call(db, caller.number)
    assert row["disposition"] == "callback_expired"
    listed = await asyncio.to_thread(agent_api, running, "/callbacks", "GET")
    assert row["channel_id"] not in {c["call"] for c in listed["callbacks"]}


async def test_supervisors_see_pending_callbacks_with_their_age(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1004 is paused; a citizen books a callback.
    2. GET /callbacks lists it with the number, queue, age, attempts and deadline.
    3. The agent serves it (the citizen's phone is busy: it fails) and the list is empty.
    """
    await paused_agent(running, desk, "1004")
    await mobile(running, desk, "13900001117", mode="busy")
    caller = citizen(running, "13900001117")
    result = await caller.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    row = await wait_for_call(db, caller.number, until=lambda r: r["queue"] == "general")
    await callback_row(db, row["channel_id"], "pending")
    listed = await asyncio.to_thread(agent_api, running, "/callbacks", "GET")
    (entry,) = [c for c in listed["callbacks"] if c["call"] == row["channel_id"]]
    assert entry["number"] == "13900001117" and entry["queue"] == "general"
    assert entry["age_seconds"] >= 5 and entry["attempts"] == 0 and entry["deadline"]
    assert entry["position"] >= 1 and listed["open"] is True
    await set_agent(running, "1004", "ready")
    await callback_row(db, row["channel_id"], "failed")
    listed = await asyncio.to_thread(agent_api, running, "/callbacks", "GET")
    assert row["channel_id"] not in {c["call"] for c in listed["callbacks"]}
