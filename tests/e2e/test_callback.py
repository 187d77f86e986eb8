"""Virtual hold through the real Asterisk: the caller hangs up, keeps their place, is called back.

The caller's phone for the call back sits behind the carrier trunk (a SIPp phone on the
trunk's port), as a citizen's mobile would.
"""

from __future__ import annotations

import asyncio
import signal

import asyncpg
import pytest

from tests.support.api import agent_api
from tests.support.calls import event_data, events_of, wait_for_call
from tests.support.desk import agent_states, answered_by, phone, segments, set_agent
from tests.support.observer import AriObserver, prompts_heard
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Hold, Keys, Pause, WaitForHangup
from tests.support.system import DEPARTMENT_PORT, SystemUnderTest


def citizen(system: SystemUnderTest, number: str) -> Caller:
    return Caller(sip_port=system.settings.ports.sip, work_dir=system.work_dir, number=number)


# Press 0 (a person), 0 (anything else), wait for the offer, 1 (call me back), 1 (this number).
HEAR_THE_OFFER = [
    Pause(1500),
    Keys("0"),
    Pause(800),
    Keys("0"),
    Hold(),  # until the test heard the position, the wait and the offer
    Keys("1"),
    Pause(1500),
    Keys("1"),
    WaitForHangup(20000),
]
# The key works at any time while waiting: the other scenarios press it during the offer.
BOOK_A_CALLBACK = [*HEAR_THE_OFFER[:4], Pause(2500), *HEAR_THE_OFFER[5:]]


async def paused_agent(
    system: SystemUnderTest, desk: list[DeskPhone], agent: str, **kwargs: object
) -> None:
    """The agent's phone registers; the agent logs in and pauses: citizens wait."""
    agent_phone = phone(system, agent, **kwargs)
    desk.append(agent_phone)
    await agent_phone.register()
    await set_agent(system, agent, "login")
    await set_agent(system, agent, "pause")


async def citizen_phone(
    system: SystemUnderTest, desk: list[DeskPhone], number: str, **kwargs: object
) -> DeskPhone:
    """The citizen's own phone behind the trunk, where callbacks ring."""
    mobile = DeskPhone(
        user=number,
        password="-",
        sip_port=system.settings.ports.sip,
        work_dir=system.work_dir / f"mobile-{number}",
        **kwargs,  # type: ignore[arg-type]
    )
    desk.append(mobile)
    await mobile.answer_at(DEPARTMENT_PORT)
    return mobile


def trunk_channels(observer: AriObserver, call_id: str) -> list[str]:
    """The call-back channels dialled for a call, in order."""
    return [
        e["channel"]["id"]
        for e in observer.events
        if e.get("type") == "ChannelCreated"
        and e["channel"]["name"].startswith("PJSIP/trunk")
        and e["channel"]["id"].startswith(call_id + "-cb")
    ]


async def callback_row(db: asyncpg.Connection, channel_id: str, status: str) -> asyncpg.Record:
    for _ in range(150):
        row = await db.fetchrow("SELECT * FROM callbacks WHERE channel_id = $1", channel_id)
        if row is not None and row["status"] == status:
            return row
        await asyncio.sleep(0.2)
    raise AssertionError(f"callback of {channel_id} never {status}: {row}")


async def test_a_callback_keeps_its_place_and_calls_the_agent_first(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1003 is logged in but paused: citizens wait.
    2. Citizen A waits, hears the callback offer, presses 1, confirms the number with 1,
       hears that the place is kept, and the system hangs up. Then citizen B calls and waits.
    3. The agent becomes ready: A's callback comes first (A was first), the agent answers,
       then A's phone (behind the trunk) rings and answers; they talk; then B is served.
    4. A's call is answered by 1003 (not abandoned), its callback row is done after 1 attempt.
    """
    await paused_agent(running, desk, "1003", talk_ms=4000)
    await citizen_phone(running, desk, "13900000541", talk_ms=7000)
    a = citizen(running, "13900000541")
    await a.start(HEAR_THE_OFFER)
    await observer.heard(a.number, lambda h: "callback-offer" in h)
    await a.go_on()
    result = await a.finish()
    assert result.ok, result.output
    row_a = await wait_for_call(db, a.number, until=lambda r: r["queue"] == "general")
    await callback_row(db, row_a["channel_id"], "pending")
    heard = prompts_heard(observer.events, row_a["channel_id"])
    assert "callback-offer" in heard and "callback-registered" in heard, " ".join(heard)
    b = citizen(running, "13900000542")
    await b.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Hold(90000)])
    waiting_b = await wait_for_call(db, b.number, until=lambda r: r["queue"] == "general")
    await set_agent(running, "1003", "ready")
    done = await callback_row(db, row_a["channel_id"], "done")
    assert (done["attempts"], done["agent"], done["number"]) == (1, "1003", "13900000541")
    await answered_by(db, waiting_b["channel_id"], "1003")  # B talks to the agent, then hangs up
    await b.go_on()
    result_b = await b.finish()
    assert result_b.ok, result_b.output
    row_a = await wait_for_call(db, a.number)
    assert (row_a["disposition"], row_a["agent"]) == ("answered", "1003")
    assert await segments(db, row_a["channel_id"]) == [("1003", "agent_hangup")]
    row_b = await wait_for_call(db, b.number)
    assert [agent for agent, _ in await segments(db, row_b["channel_id"])] == ["1003"]
    a_ended = await db.fetchval(
        "SELECT ended_at FROM call_segments WHERE channel_id = $1", row_a["channel_id"]
    )
    b_offered = await db.fetchval(
        "SELECT offered_at FROM call_segments WHERE channel_id = $1", row_b["channel_id"]
    )
    assert b_offered > a_ended, "B was served before A's callback, who was first"
    kinds = [e["kind"] for e in await events_of(db, row_a["channel_id"])]
    assert kinds.count("callback_attempt") == 1 and "callback_answered" in kinds
    recording = await db.fetchval(
        "SELECT count(*) FROM recordings WHERE channel_id = $1", row_a["channel_id"]
    )
    assert recording == 1
    assert "no_answer" not in await agent_states(db, "1003")


@pytest.mark.parametrize(
    ("mode", "number"), [("no_answer", "13900000543"), ("busy", "13900001114")]
)
async def test_an_unanswered_callback_dials_once_per_attempt_then_gives_up(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
    mode: str,
    number: str,
) -> None:
    """
    1. Citizen C books a callback while agent 1002 is paused; C's phone will never answer
       (it rings out, or it is busy on every attempt).
    2. The agent becomes ready and answers; C's phone rings out (5 s) or is busy; the agent is ready
       again at once (not paused); 2 s later the second and last attempt rings out.
    3. The trunk was dialled exactly twice; the call ends as callback_failed, not abandoned;
       the callback row says failed after 2 attempts.
    """
    await paused_agent(running, desk, "1002")
    await citizen_phone(running, desk, number, mode=mode)
    c = citizen(running, number)
    result = await c.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    row = await wait_for_call(db, c.number, until=lambda r: r["queue"] == "general")
    await callback_row(db, row["channel_id"], "pending")
    await set_agent(running, "1002", "ready")
    failed = await callback_row(db, row["channel_id"], "failed")
    assert failed["attempts"] == 2
    row = await wait_for_call(db, c.number)
    assert row["disposition"] == "callback_failed"
    events = await events_of(db, row["channel_id"])
    attempts = [event_data(e)["attempt"] for e in events if e["kind"] == "callback_attempt"]
    assert attempts == [1, 2]
    dialled = trunk_channels(observer, row["channel_id"])
    assert len(dialled) == 2, dialled
    assert await segments(db, row["channel_id"]) == [
        ("1002", "not_reached"),
        ("1002", "not_reached"),
    ]
    states = await agent_states(db, "1002")
    assert "no_answer" not in states and states[-1] == "ready", states


async def test_a_booked_callback_survives_a_controller_restart(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1001 is paused; citizen D books a callback and hangs up.
    2. The controller is killed and restarted: D's callback is waiting again, in place.
    3. The agent becomes ready: D is called back and talks to 1001.
    """
    await paused_agent(running, desk, "1001", talk_ms=5000)
    await citizen_phone(running, desk, "13900000544", talk_ms=8000)
    d = citizen(running, "13900000544")
    result = await d.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    row = await wait_for_call(db, d.number, until=lambda r: r["queue"] == "general")
    booked = await callback_row(db, row["channel_id"], "pending")
    running.controller.stop(signal.SIGKILL)
    running.controller.start()
    agents = await asyncio.to_thread(agent_api, running, "/agents", "GET")
    assert agents["waiting"] == {
        row["channel_id"]: {"queue": "general", "position": 1, "callback": True, "priority": 0}
    }
    await set_agent(running, "1001", "ready")
    done = await callback_row(db, row["channel_id"], "done")
    assert (done["attempts"], done["agent"], done["entered"]) == (1, "1001", booked["entered"])
    row = await wait_for_call(db, d.number)
    assert (row["disposition"], row["agent"], row["adoptions"]) == ("answered", "1001", 1)


async def test_a_callback_conversation_survives_a_restart_without_a_second_dial(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Citizen E books a callback; agent 1001 becomes ready and E's phone answers.
    2. While they talk, the controller is killed and restarted: the conversation is
       re-attached, not dialled again.
    3. The agent hangs up; the callback is done after exactly one dial.
    """
    await paused_agent(running, desk, "1001", talk_ms=14000)
    await citizen_phone(running, desk, "13900000545", talk_ms=20000)
    e = citizen(running, "13900000545")
    result = await e.call(BOOK_A_CALLBACK)
    assert result.ok, result.output
    row = await wait_for_call(db, e.number, until=lambda r: r["queue"] == "general")
    await callback_row(db, row["channel_id"], "pending")
    await set_agent(running, "1001", "ready")
    for _ in range(100):
        kinds = [x["kind"] for x in await events_of(db, row["channel_id"])]
        if "callback_answered" in kinds:
            break
        await asyncio.sleep(0.2)
    assert "callback_answered" in kinds
    running.controller.stop(signal.SIGKILL)
    running.controller.start()
    agents = await asyncio.to_thread(agent_api, running, "/agents", "GET")
    assert agents["waiting"] == {} and agents["agents"]["1001"]["status"] == "on_call"
    done = await callback_row(db, row["channel_id"], "done")
    assert done["attempts"] == 1
    assert len(trunk_channels(observer, row["channel_id"])) == 1
    row = await wait_for_call(db, e.number)
    assert (row["disposition"], row["agent"]) == ("answered", "1001")


async def test_at_max_wait_a_callback_is_booked_in_the_callers_place(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1002 (employment) is paused; citizen F asks for employment (0, 2) and waits.
    2. At the queue's max wait (12 s here) F is told the wait is long and that we will call
       back in turn; F confirms the number (1) and hangs up. Not abandoned.
    3. The agent becomes ready; F is called back and answers.
    """
    await paused_agent(running, desk, "1002", talk_ms=4000)
    await citizen_phone(running, desk, "13900000546", talk_ms=7000)
    f = citizen(running, "13900000546")
    await f.start(
        [
            Pause(1500),
            Keys("0"),
            Pause(800),
            Keys("2"),
            Hold(),
            Keys("1"),
            WaitForHangup(20000),
        ]
    )
    # 1 (this number) as soon as told the wait is long (the number is read back meanwhile).
    await observer.heard(f.number, lambda h: "queue-long-wait" in h)
    await f.go_on()
    result = await f.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, f.number, until=lambda r: r["queue"] == "employment")
    await callback_row(db, row["channel_id"], "pending")
    heard = prompts_heard(observer.events, row["channel_id"])
    assert "queue-long-wait" in heard and "callback-registered" in heard, " ".join(heard)
    await set_agent(running, "1002", "ready")
    done = await callback_row(db, row["channel_id"], "done")
    assert (done["attempts"], done["agent"]) == (1, "1002")
    row = await wait_for_call(db, f.number)
    assert row["disposition"] == "answered"


async def test_a_callback_whose_turn_comes_before_the_caller_hangs_up_is_put_through(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Citizen G books a callback while agent 1001 is paused.
    2. While G still hears that the callback is booked, the agent becomes ready: G is put
       through on the line they are on; nobody dials G's phone.
    """
    await paused_agent(running, desk, "1001", talk_ms=4000)
    g = citizen(running, "13900000547")
    await g.start([*BOOK_A_CALLBACK[:-1], Hold(60000)])
    row = await wait_for_call(db, g.number, until=lambda r: r["queue"] == "general")
    await callback_row(db, row["channel_id"], "pending")
    await set_agent(running, "1001", "ready")
    await answered_by(db, row["channel_id"], "1001")  # put through: G talks, then hangs up
    await g.go_on()
    result = await g.finish()
    assert result.ok, result.output
    done = await callback_row(db, row["channel_id"], "done")
    assert (done["attempts"], done["agent"]) == (0, "1001")
    row = await wait_for_call(db, g.number)
    assert (row["disposition"], row["agent"]) == ("answered", "1001")
    assert not [
        e
        for e in observer.events
        if e.get("type") == "ChannelCreated" and "-cb" in e["channel"]["id"]
    ]
