"""Skill-based routing to agents' desk phones through the real Asterisk."""

from __future__ import annotations

import asyncio
import signal
import urllib.request

import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import agent_api
from tests.support.calls import events_of, wait_for_call
from tests.support.desk import answered_by, phone, rms, segments, set_agent
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Hold, Keys, Pause, Speak, WaitForHangup
from tests.support.system import SystemUnderTest


async def test_a_call_reaches_an_agent_is_recorded_and_rated(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1001's desk phone registers; the agent logs in (HTTP API).
    2. A citizen presses 0, then 0 (anything else) and is offered to 1001, who answers.
    3. The caller speaks, the phone echoes; the agent hangs up after a while.
    4. The caller stays for the survey and presses 1 (satisfied); the system says goodbye.
    5. The call row, the segment, the recording (non-silent, hashed, not readable by other
       users) and the rating are stored.
    """
    agent = phone(running, "1001", talk_ms=7000)
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1001", "login")
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000501"
    )
    result = await citizen.call(
        [
            Pause(1500),
            Keys("0"),
            Pause(800),
            Keys("0"),
            Speak(10500),
            Keys("1"),
            WaitForHangup(30000),
        ]
    )
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert (row["queue"], row["agent"], row["disposition"]) == ("general", "1001", "answered")
    assert row["hangup_side"] == "system"
    assert await segments(db, row["channel_id"]) == [("1001", "agent_hangup")]
    survey = await db.fetchrow("SELECT * FROM surveys WHERE channel_id = $1", row["channel_id"])
    assert survey is not None and (survey["agent"], survey["score"]) == ("1001", "satisfied")
    for _ in range(50):
        recording = await db.fetchrow(
            "SELECT * FROM recordings WHERE channel_id = $1", row["channel_id"]
        )
        if recording is not None:
            break
        await asyncio.sleep(0.2)
    assert recording is not None and recording["agent"] == "1001"
    assert recording["seconds"] > 3 and len(recording["sha256"]) == 64
    path = running.settings.root / recording["path"].lstrip("/")
    assert rms(path) > 100, "the recording is silent"
    # A recording is the citizen's and the service's alone: nothing for other users.
    assert path.stat().st_mode & 0o007 == 0, oct(path.stat().st_mode)
    assert path.parent.stat().st_mode & 0o777 == 0o750, oct(path.parent.stat().st_mode)
    greeting = [
        e
        for e in observer.events
        if e.get("type") == "PlaybackStarted"
        and e["playback"]["target_uri"] == f"channel:{row['channel_id']}"
        and e["playback"]["id"].endswith(".agent-number")
    ]
    assert [g["playback"]["media_uri"].rsplit("/", 1)[-1] for g in greeting][:1] == ["agent-intro"]
    # What a restarted controller needs is set on the channel once, when it changes (each set
    # is a request and an event in Asterisk): the menu node (main and person, or person alone
    # when the key came during the welcome), the queue, the agent, the survey; no language.
    kept = [
        e["variable"]
        for e in observer.events
        if e.get("type") == "ChannelVarset"
        and e.get("channel", {}).get("id") == row["channel_id"]
        and e["variable"].startswith("HOTLINE_")
    ]
    assert kept.count("HOTLINE_NODE") in (1, 2), kept
    rest = [v for v in kept if v != "HOTLINE_NODE"]
    expected = ["HOTLINE_QUEUE", "HOTLINE_AGENT", "HOTLINE_SURVEY"]
    assert rest == expected, kept
    states = [
        r["status"]
        for r in await db.fetch(
            "SELECT status FROM agent_state_changes WHERE agent = '1001' ORDER BY id"
        )
    ]
    assert states[-4:] == ["ready", "offered", "on_call", "wrap_up"] or "wrap_up" in states
    # 6. /metrics counted the call offered to and answered in its queue (the answer-rate alert).
    figures = await asyncio.to_thread(metrics, running)
    assert figures[("hotline_calls_offered_total", "general")] >= 1
    assert figures[("hotline_calls_answered_total", "general")] >= 1
    assert figures[("hotline_agents_logged_in", "")] >= 1


def metrics(system: SystemUnderTest) -> dict[tuple[str, str], float]:
    """The controller's /metrics samples by name and queue label."""
    url = f"http://127.0.0.1:{system.settings.ports.http}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    return {
        (s.name, s.labels.get("queue", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_ring_no_answer_pauses_the_agent_and_the_next_one_answers(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agents 1002 (never answers) and 1003 log in, 1002 first (idle longest).
    2. A citizen asks for a person; 1002 rings out (4 s) and is paused "no_answer".
    3. The call goes on to 1003, who answers; the caller hangs up later.
    """
    lazy = phone(running, "1002", mode="no_answer")
    busy_one = phone(running, "1003")
    desk += [lazy, busy_one]
    await lazy.register()
    await busy_one.register()
    await set_agent(running, "1002", "login")
    await asyncio.sleep(0.2)
    await set_agent(running, "1003", "login")
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000502"
    )
    result = await citizen.call([Pause(1500), Keys("0"), Pause(800), Keys("0"), Pause(9000)])
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert await segments(db, row["channel_id"]) == [
        ("1002", "no_answer"),
        ("1003", "caller_hangup"),
    ]
    agents = await asyncio.to_thread(agent_api, running, "/agents", "GET")
    state = agents["agents"]["1002"]
    assert (state["status"], state["reason"]) == ("paused", "no_answer")
    assert row["agent"] == "1003" and row["disposition"] == "answered"


async def test_skills_send_each_call_to_the_right_agent_in_order(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agents: 1001 social insurance level 4; 1002 employment 4; 1003 social insurance 2.
    2. Four citizens call at once: A and C social insurance (level 3+), B employment, D general.
    3. A goes to 1001, B to 1002, D to 1003; C waits for 1001 (1003 is below level 3) and
       gets 1001 after A's call and wrap-up — not 1003.
    """
    for agent in ("1001", "1002", "1003"):
        p = phone(running, agent, talk_ms=3000)
        desk.append(p)
        await p.register()
        await set_agent(running, agent, "login")
    plans = {
        "13900000511": (Keys("1"), 0.0),  # A: social insurance
        "13900000512": (Keys("2"), 0.3),  # B: employment
        "13900000513": (Keys("1"), 0.6),  # C: social insurance, behind A
        "13900000514": (Keys("0"), 0.9),  # D: anything else
    }
    callers = {}
    for number, (line, delay) in plans.items():
        await asyncio.sleep(delay)
        c = Caller(sip_port=running.settings.ports.sip, work_dir=running.work_dir, number=number)
        await c.start([Pause(1500), Keys("0"), Pause(800), line, Hold()])
        callers[number] = c
    # Each caller hangs up once the agent it should reach has talked with it and hung up
    # (C only after A: another agent, or none, leaves C's hold to time out).
    for number, agent in (
        ("13900000511", "1001"),
        ("13900000512", "1002"),
        ("13900000514", "1003"),
        ("13900000513", "1001"),
    ):
        call = await wait_for_call(db, number, until=lambda r: True)
        await answered_by(db, call["channel_id"], agent, ended=True)
        await callers[number].go_on()
    results = [await c.finish() for c in callers.values()]
    assert all(r.ok for r in results), [r.output for r in results if not r.ok]
    rows = {n: await wait_for_call(db, n) for n in plans}
    answered = {n: [s for s in await segments(db, rows[n]["channel_id"])] for n in plans}
    assert [rows[n]["ivr_path"] for n in plans] == [["main", "person"]] * 4
    assert answered["13900000511"] == [("1001", "agent_hangup")]
    assert answered["13900000512"] == [("1002", "agent_hangup")]
    assert answered["13900000513"] == [("1001", "agent_hangup")]
    assert answered["13900000514"] == [("1003", "agent_hangup")]
    first = await db.fetchval(
        "SELECT ended_at FROM call_segments WHERE channel_id = $1",
        rows["13900000511"]["channel_id"],
    )
    second = await db.fetchval(
        "SELECT offered_at FROM call_segments WHERE channel_id = $1",
        rows["13900000513"]["channel_id"],
    )
    assert second > first  # C waited for A's call (and wrap-up) to end


async def test_waiting_callers_keep_their_order_across_a_controller_restart(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1003 is logged in but paused; citizens A, B, C ask for a person, in that order;
       C already called an hour ago, so C goes ahead (the repeat-caller priority).
    2. The controller is killed and restarted: the three calls are adopted, still waiting,
       with their priorities, and the agent is still paused (restored from the database).
    3. The agent becomes ready: C, then A, then B are served, each after the one before.
    """
    agent = phone(running, "1003")
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1003", "login")
    await asyncio.to_thread(agent_api, running, "/agents/1003/pause?reason=meeting")
    numbers = ["13900000521", "13900000522", "13900000523"]
    await db.execute(
        "INSERT INTO calls (channel_id, caller_number, started_at, ended_at)"
        " VALUES ('earlier-523', $1, now() - interval '1 hour', now() - interval '1 hour')",
        numbers[2],
    )
    callers = {}
    calls = {}
    for number in numbers:
        c = Caller(sip_port=running.settings.ports.sip, work_dir=running.work_dir, number=number)
        await c.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Hold(90000)])
        callers[number] = c
        row = await wait_for_call(db, number, until=lambda r: r["queue"] == "general")
        calls[number] = row["channel_id"]
    running.controller.stop(signal.SIGKILL)
    running.controller.start()
    for _ in range(50):  # adoption runs in the background of the new controller
        agents = await asyncio.to_thread(agent_api, running, "/agents", "GET")
        if len(agents["waiting"]) == 3:
            break
        await asyncio.sleep(0.1)
    assert agents["agents"]["1003"]["status"] == "paused"
    assert len(agents["waiting"]) == 3
    priorities = sorted(w["priority"] for w in agents["waiting"].values())
    assert priorities == [0, 0, 5], agents["waiting"]
    await set_agent(running, "1003", "ready")
    # Each caller talks until the next in line would be served by this one agent: C, A, B.
    # Another order leaves the expected caller waiting, and its hold times out.
    for number in [numbers[2], numbers[0], numbers[1]]:
        await answered_by(db, calls[number], "1003")
        await callers[number].go_on()
    results = [await c.finish() for c in callers.values()]
    assert all(r.ok for r in results), [r.output for r in results if not r.ok]
    offered = []
    for number in [numbers[2], numbers[0], numbers[1]]:
        row = await wait_for_call(db, number)
        assert row["adoptions"] == 1 and row["agent"] == "1003", number
        offered.append(
            await db.fetchval(
                "SELECT offered_at FROM call_segments WHERE channel_id = $1 AND agent = '1003'",
                row["channel_id"],
            )
        )
    assert offered == sorted(offered)


async def test_agent_feature_codes_from_the_desk_phone(
    running: SystemUnderTest,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1002's desk phone dials *61 (login): ready.
    2. *63 (pause): paused, reason "break"; *64 (ready): ready; *632: paused for a meeting;
       *639 (no such reason) is refused; *62 (logout): logged out.
    3. Each time the phone hears a confirmation and the system hangs up.
    """
    password = running.instance.secrets.agent_passwords["1002"]
    for code, status, reason in (
        ("*61", "ready", ""),
        ("*63", "paused", "break"),
        ("*64", "ready", ""),
        ("*632", "paused", "meeting"),
        ("*639", "paused", "meeting"),  # no such reason code: refused, nothing changes
        ("*62", "logged_out", ""),
    ):
        desk_phone = Caller(
            sip_port=running.settings.ports.sip,
            work_dir=running.work_dir,
            number="1002",
            auth=("1002", password),
        )
        result = await desk_phone.call([WaitForHangup(15000)], service=code)
        assert result.ok, result.output
        agents = await asyncio.to_thread(agent_api, running, "/agents", "GET")
        state = agents["agents"]["1002"]
        assert (state["status"], state["reason"]) == (status, reason), code


async def test_a_conversation_survives_a_controller_restart(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
) -> None:
    """
    1. A citizen is talking with agent 1001.
    2. The controller is killed and restarted in the middle of the conversation: the call
       is not put back on hold or in a queue; the agent stays on the call.
    3. The agent hangs up; the caller is asked the survey by the new controller, presses 2.
    """
    agent = phone(running, "1001", talk_ms=9000)
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1001", "login")
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000531"
    )
    await citizen.start(
        [
            Pause(1500),
            Keys("0"),
            Pause(800),
            Keys("0"),
            Speak(12000),
            Keys("2"),
            WaitForHangup(30000),
        ]
    )
    row = await wait_for_call(db, citizen.number, until=lambda r: r["agent"] == "1001")
    running.controller.stop(signal.SIGKILL)
    running.controller.start()
    for _ in range(50):
        agents = await asyncio.to_thread(agent_api, running, "/agents", "GET")
        if agents["agents"]["1001"]["status"] == "on_call":
            break
        await asyncio.sleep(0.1)
    assert agents["agents"]["1001"]["status"] == "on_call"
    assert agents["waiting"] == {}
    result = await citizen.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert row["adoptions"] == 1 and row["disposition"] == "answered"
    survey = await db.fetchrow("SELECT * FROM surveys WHERE channel_id = $1", row["channel_id"])
    assert survey is not None and (survey["agent"], survey["score"]) == ("1001", "fairly_satisfied")
    assert await segments(db, row["channel_id"]) == [("1001", "agent_hangup")]


async def test_an_agent_logs_in_at_another_desk_phone_with_a_pin(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
) -> None:
    """
    1. From desk phone 1003, agent 1001 dials *61 1001 * PIN: logged in at phone 1003.
    2. A wrong PIN for agent 1002 from the same phone is refused (1002 stays logged out),
       and the PIN never reaches Asterisk's call records. After three wrong PINs, 1002's
       right PIN is refused too, even from another phone: the PIN is locked.
    3. A citizen's call for a person rings phone 1003 and is agent 1001's.
    4. *62 from phone 1003 logs out agent 1001, who sits there.
    """
    seat = phone(running, "1003", talk_ms=3000)
    desk.append(seat)
    await seat.register()
    secrets = running.instance.secrets
    pin = secrets.agent_pins["1001"]

    async def dial(code: str, at: str = "1003") -> None:
        desk_phone = Caller(
            sip_port=running.settings.ports.sip,
            work_dir=running.work_dir,
            number=at,
            auth=(at, secrets.agent_passwords[at]),
        )
        result = await desk_phone.call([WaitForHangup(15000)], service=code)
        assert result.ok, result.output

    await dial(f"*611001*{pin}")
    wrong = "000000" if secrets.agent_pins["1002"] != "000000" else "111111"
    for _ in range(3):  # lock_after in queues.yaml's hot_desk (default 3)
        await dial(f"*611002*{wrong}")
    await dial(f"*611002*{secrets.agent_pins['1002']}", at="1004")
    agents = await asyncio.to_thread(agent_api, running, "/agents", "GET")
    assert (agents["agents"]["1001"]["status"], agents["agents"]["1001"]["phone"]) == (
        "ready",
        "1003",
    )
    assert agents["agents"]["1002"]["status"] == "logged_out"
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000532"
    )
    result = await citizen.call([Pause(1500), Keys("0"), Pause(800), Keys("0"), Pause(6000)])
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert row["agent"] == "1001"
    await dial("*62")
    agents = await asyncio.to_thread(agent_api, running, "/agents", "GET")
    assert agents["agents"]["1001"]["status"] == "logged_out"
    cdr = running.settings.on_host(running.settings.asterisk_dir) / "log" / "cdr-csv" / "Master.csv"
    assert not cdr.exists() or pin not in cdr.read_text(errors="replace")


async def test_a_caller_who_hangs_up_while_the_agents_number_is_said_ends_the_call_cleanly(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. A citizen is put through to agent 1001: the agent's number is played to each of them
       before they join the call's bridge.
    2. The citizen hangs up while it plays (before the bridge).
    3. The call is answered by 1001 and ended by the caller; nothing counts as a recording
       that failed; the agent is free again; no channel or bridge of the call is left.
    """
    agent = phone(running, "1001", talk_ms=20000)
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1001", "login")
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000536"
    )
    await citizen.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Hold(30000)])
    call = await observer.call_from(citizen.number)
    await observer.wait_for(
        lambda e: (
            e.get("type") == "PlaybackStarted"
            and e["playback"]["target_uri"] == f"channel:{call}"
            and e["playback"]["id"].endswith(".agent-number")
        )
    )
    await citizen.go_on()
    assert (await citizen.finish()).ok
    row = await wait_for_call(db, citizen.number)
    assert row["channel_id"] == call and row["ended_at"] is not None
    assert (row["agent"], row["disposition"], row["hangup_side"]) == (
        "1001",
        "answered",
        "caller",
    )
    kinds = [e["kind"] for e in await events_of(db, call)]
    assert "recording_failed" not in kinds, kinds
    for _ in range(50):
        agents = await asyncio.to_thread(agent_api, running, "/agents", "GET")
        channels = [c["id"] for c in await observer.channels() if c["id"].startswith(call)]
        bridges = [b["id"] for b in await observer.bridges() if b["id"] == f"b-{call}"]
        if agents["agents"]["1001"]["status"] != "on_call" and not channels and not bridges:
            break
        await asyncio.sleep(0.2)
    assert agents["agents"]["1001"]["status"] != "on_call", agents["agents"]["1001"]
    assert (channels, bridges) == ([], [])
