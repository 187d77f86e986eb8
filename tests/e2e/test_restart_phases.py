"""A controller restart with a call in every phase at once: nobody is dropped.

At one moment the center has a caller in the menu, one typing their ID number, two waiting
for a person, one whose agent's phone is ringing, one talking, one answering the survey and
a callback whose citizen's phone is ringing. The controller is then killed (SIGKILL, a crash)
or stopped (SIGTERM, what `hotline restart --controller` sends) and started again.

Each caller's SIPp script is timed from the moment the first call starts (t0 below): it
expects what it should hear after the restart, or hangs up itself at its planned time;
SIPp fails if Asterisk hangs up on it, so a dropped call fails its script.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import pytest

from hotline.citizens import demo_id
from tests.e2e.test_callback import callback_row
from tests.e2e.test_callback_ending import mobile
from tests.support.api import agent_api
from tests.support.calls import events_of, wait_for_call
from tests.support.desk import phone, set_agent
from tests.support.observer import AriObserver, prompts_heard
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Keys, Pause, Step, WaitForHangup
from tests.support.system import SystemUnderTest

# When the scene must be set (the restart comes at about t0 + 17 s): the scripts' timings
# after the restart assume it.
KILL_BY = 23.0


@dataclass
class Script:
    """A caller's steps, placed on the test's clock: `until` pauses up to a time after t0."""

    starts_at: float
    steps: list[Step] = field(default_factory=list)
    now: float = 0.0

    def __post_init__(self) -> None:
        self.now = self.starts_at

    def keys(self, keys: str) -> Script:
        self.steps.append(Keys(keys))
        self.now += 0.7 * len(keys)
        return self

    def pause(self, seconds: float) -> Script:
        self.steps.append(Pause(round(seconds * 1000)))
        self.now += seconds
        return self

    def until(self, t: float) -> Script:
        assert t > self.now, (t, self.now)
        return self.pause(t - self.now)

    def to_queue(self, key: str) -> Script:
        """0 (a person) during the welcome, then the queue's key in the person menu."""
        return self.pause(1.5).keys("0").pause(0.8).keys(key)

    def then(self, *steps: Step) -> list[Step]:
        return [*self.steps, *steps]


def citizen(system: SystemUnderTest, number: str) -> Caller:
    return Caller(sip_port=system.settings.ports.sip, work_dir=system.work_dir, number=number)


async def agents(system: SystemUnderTest) -> dict[str, dict[str, str]]:
    """Each agent's state as the controller sees it."""
    result = await asyncio.to_thread(agent_api, system, "/agents", "GET")
    return dict(result["agents"])


async def agent_status(system: SystemUnderTest, agent: str, status: str) -> None:
    """Wait until the controller says the agent is in that status."""
    for _ in range(100):
        if (await agents(system))[agent]["status"] == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"agent {agent} never {status}: {(await agents(system))[agent]}")


async def offered_after(db: asyncpg.Connection, call_id: str, moment: float) -> float:
    """When the call was first offered to an agent after `moment` (epoch seconds)."""
    at = await db.fetchval(
        "SELECT min(extract(epoch FROM offered_at)) FROM call_segments"
        " WHERE channel_id = $1 AND offered_at > to_timestamp($2)",
        call_id,
        moment,
    )
    assert at is not None, f"{call_id} was never offered after the restart"
    return float(at)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "sigterm"])
async def test_a_restart_with_calls_in_every_phase_drops_none(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
    how: signal.Signals,
) -> None:
    """
    1. Agents 1001-1004 log in, paused. C asks for employment, books a callback, hangs up.
    2. T talks with 1001; S talks with 1004, who hangs up (then paused): S hears the survey.
       R, W1, W2 wait for a person, in that order; M is in the menu; I has chosen the pension
       query and is typing the ID number.
    3. 1002 takes C's callback: C's mobile rings; 1003 becomes ready: its phone rings for R.
    4. The controller dies or is stopped, and starts again. Every call is adopted where it
       was: M in the menu; I back at the self-service menu (the ID keys typed so far are
       secrets, never kept on the channel: I chooses the pension query again); R, W1,
       W2 waiting in their places; T still talking; S asked the survey again (answers 1).
       C's callback is still pending: as README's known limits say, the ringing mobile is
       dialled again (a second attempt); the legs the dead controller rang are hung up.
    5. 1004 becomes ready: R, then W1, then W2 are offered in that order. Everyone's script
       ends as planned; every call row is closed with a disposition; no channel is left.
    """
    n = int(how)
    numbers = {name: f"1390000{n:02d}{i:02d}" for i, name in enumerate("CTSRWXMI", 1)}
    numbers["W1"], numbers["W2"] = numbers.pop("W"), numbers.pop("X")
    phones = {
        "1001": phone(running, "1001"),
        "1002": phone(running, "1002"),
        "1003": phone(running, "1003", ring_ms=3000),  # rings through the restart
        "1004": phone(running, "1004", talk_ms=3000),  # hangs up first: the survey
    }
    desk.extend(phones.values())
    for agent, desk_phone in phones.items():
        await desk_phone.register()
        await set_agent(running, agent, "login")
        await set_agent(running, agent, "pause")
    # The mobile rings 3.5 s (of 5) before it answers: the restart falls in that ring.
    await mobile(running, desk, numbers["C"], ring_ms=3500, talk_ms=6000, calls=2)

    scripts: dict[str, list[Step]] = {
        # Employment, then 1 (call me back) and 1 (this number); hung up once booked.
        "C": Script(0)
        .to_queue("2")
        .pause(2.5)
        .keys("1")
        .pause(1.5)
        .keys("1")
        .then(WaitForHangup(20000)),
        "T": Script(6).to_queue("0").until(40).steps,  # talking until after the restart
        "S": Script(6.5).to_queue("0").until(30).then(Keys("1"), WaitForHangup(20000)),
        "I": Script(7)
        .pause(1.5)
        .keys("1")  # self-service
        .pause(1.5)
        .keys("1")  # pension
        .pause(1.5)
        .keys(demo_id(1)[:4])  # typed before the controller goes: I is in ID entry
        .until(27)
        .keys("1")  # after the restart: the pension query again, from its menu
        .pause(4)
        .steps,
        "R": Script(8).to_queue("0").until(45).steps,
        "W1": Script(8.5).to_queue("0").until(45).steps,
        "W2": Script(9).to_queue("0").until(50).steps,
        "M": Script(12).until(32).steps,  # in the menu throughout
    }
    starts = {"C": 0, "T": 6, "S": 6.5, "I": 7, "R": 8, "W1": 8.5, "W2": 9, "M": 12}
    callers = {name: citizen(running, numbers[name]) for name in scripts}
    loop = asyncio.get_running_loop()
    t0 = loop.time()

    async def place(name: str) -> None:
        await asyncio.sleep(max(0.0, t0 + starts[name] - loop.time()))
        await callers[name].start(scripts[name])

    placing = asyncio.gather(*(place(name) for name in scripts))

    async def row(
        name: str, until: Callable[[asyncpg.Record], bool] = lambda r: r["ended_at"] is not None
    ) -> asyncpg.Record:
        return await wait_for_call(db, numbers[name], until=until, timeout=30)

    # T to 1001, then S to 1004 (who is paused for after S's call).
    await row("T", lambda r: r["queue"] == "general")
    await set_agent(running, "1001", "ready")
    await agent_status(running, "1001", "on_call")
    await row("S", lambda r: r["queue"] == "general")
    await set_agent(running, "1004", "ready")
    await agent_status(running, "1004", "on_call")
    await set_agent(running, "1004", "pause")
    c = await row("C", lambda r: r["queue"] == "employment")
    await callback_row(db, c["channel_id"], "pending")
    booked = await callers["C"].finish()
    assert booked.ok, booked.output
    await placing
    r = await row("R", lambda r: r["queue"] == "general")
    for name in ("W1", "W2"):
        await row(name, lambda r: r["queue"] == "general")
    # 1002 takes C's callback (the oldest), then 1003 is offered R (the next in line).
    await set_agent(running, "1002", "ready")
    await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelCreated"
            and e["channel"]["id"].startswith(c["channel_id"] + "-cb1")
        ),
        timeout=10,
    )
    await set_agent(running, "1003", "ready")
    await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelCreated"
            and e["channel"]["id"].startswith(r["channel_id"] + "-1003")
        ),
        timeout=10,
    )
    s = await row("S", lambda r: r["agent"] == "1004")
    assert "survey" in prompts_heard(observer.events, s["channel_id"]), "S is not in the survey"
    at_kill = await agents(running)
    assert at_kill["1003"]["status"] == "offered", at_kill
    assert loop.time() - t0 < KILL_BY, f"the scene took {loop.time() - t0:.1f} s to set"

    killed_at = time.time()
    running.controller.stop(how)
    running.controller.start()

    await asyncio.sleep(1)  # the new controller adopts the calls in the background
    await set_agent(running, "1004", "ready")
    on_the_line = [name for name in scripts if name != "C"]
    results = await asyncio.gather(*(callers[name].finish() for name in on_the_line))
    failed = {
        name: res.output for name, res in zip(on_the_line, results, strict=True) if not res.ok
    }
    assert not failed, failed
    rows = {name: await row(name) for name in scripts}
    for name, record in rows.items():
        assert record["ended_at"] is not None and record["disposition"], (name, dict(record))
        assert record["adoptions"] == 1, (name, dict(record))
    # Waiting order kept: R, then W1, then W2 were offered to agents after the restart.
    order = [
        await offered_after(db, rows[name]["channel_id"], killed_at) for name in ("R", "W1", "W2")
    ]
    assert order == sorted(order), order
    assert rows["M"]["disposition"] == "abandoned_in_menu"
    heard = prompts_heard(observer.events, rows["I"]["channel_id"])
    resumed = heard.index("menu-selfservice", heard.index("enter-id"))
    assert heard[resumed + 1] == "enter-id", heard  # the query chosen again after the restart
    assert (rows["T"]["disposition"], rows["T"]["agent"]) == ("answered", "1001")
    assert (rows["S"]["disposition"], rows["S"]["agent"]) == ("answered", "1004")
    survey = await db.fetchrow(
        "SELECT agent, score FROM surveys WHERE channel_id = $1", rows["S"]["channel_id"]
    )
    assert survey is not None and tuple(survey) == ("1004", "satisfied")
    for name in ("R", "W1", "W2"):
        assert rows[name]["disposition"] == "answered", (name, dict(rows[name]))
    done = await callback_row(db, rows["C"]["channel_id"], "done")
    assert done["attempts"] == 2  # dialled again after the restart (README's known limits)
    assert rows["C"]["disposition"] == "answered"
    kinds = [e["kind"] for e in await events_of(db, rows["C"]["channel_id"])]
    assert kinds.count("callback_attempt") == 2, kinds
    left: list[str] = []
    for _ in range(50):
        left = [ch["name"] for ch in await observer.channels()]
        if not left:
            break
        await asyncio.sleep(0.2)
    assert left == [], left
