"""Random keys, pauses and hang-ups at every step, a thousand short calls from one number:
nothing left behind in Asterisk, no unhandled error, every call closed, and at most one
callback pending for that number."""

from __future__ import annotations

import asyncio
import random

import asyncpg

from tests.support.api import agent_api
from tests.support.desk import phone, set_agent
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Keys, Pause, Step
from tests.support.system import SystemUnderTest

SEED = 12333
SCRIPTS = 10
CALLS_PER_SCRIPT = 60  # 600 calls in all
RATE = 2  # calls a second per script: 20 a second in all, each up to ~10 s long
NUMBER = "13900009999"
KEYS = "0123456789*#"


def random_script(rng: random.Random) -> list[Step]:
    """Up to ~10 s of keys and silences, then the caller hangs up (whatever is happening)."""
    steps: list[Step] = []
    left_ms = rng.randint(600, 10000)
    while left_ms > 0:
        if rng.random() < 0.5:
            keys = "".join(rng.choice(KEYS) for _ in range(rng.randint(1, 3)))
            steps.append(Keys(keys))
            left_ms -= 700 * len(keys)
        else:
            ms = rng.randint(100, 2500)
            steps.append(Pause(ms))
            left_ms -= ms
    return steps


async def test_six_hundred_random_calls_leave_nothing_behind(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1004 is logged in and paused, so callers who ask for a person wait (and may
       press 1 for a callback).
    2. 600 calls from one number, 10 random scripts of keys, pauses and hang-ups
       (seeded: the same every run), 20 calls a second.
    3. Afterwards: no channel or bridge left in Asterisk, no error or traceback in the
       controller's log, every call closed with a disposition, at most one callback pending
       for the number (and it can be served).
    """
    agent = phone(running, "1004")
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1004", "login")
    await set_agent(running, "1004", "pause")
    log_mark = running.controller.log_path.stat().st_size
    rng = random.Random(SEED)
    callers = []
    for _ in range(SCRIPTS):
        caller = Caller(
            sip_port=running.settings.ports.sip, work_dir=running.work_dir, number=NUMBER
        )
        await caller.start(random_script(rng), calls=CALLS_PER_SCRIPT, rate=RATE)
        callers.append(caller)
    await asyncio.gather(*(c.finish(timeout=300) for c in callers))  # failed calls are expected
    open_calls = -1
    for _ in range(150):  # the journal writes asynchronously; calls in the survey finish
        open_calls = await db.fetchval(
            "SELECT count(*) FROM calls WHERE caller_number = $1 AND"
            " (ended_at IS NULL OR disposition IS NULL)",
            NUMBER,
        )
        pending = await db.fetchval(
            "SELECT count(*) FROM callbacks WHERE number = $1 AND status = 'pending'", NUMBER
        )
        if open_calls == pending:  # a booked callback's call stays open until it is made
            break
        await asyncio.sleep(0.2)
    total = await db.fetchval("SELECT count(*) FROM calls WHERE caller_number = $1", NUMBER)
    assert total >= 0.95 * SCRIPTS * CALLS_PER_SCRIPT, total
    assert pending <= 1 and open_calls == pending, (open_calls, pending)
    ours = {
        r["channel_id"]
        for r in await db.fetch("SELECT channel_id FROM calls WHERE caller_number = $1", NUMBER)
    }
    pending_ids = set(
        await db.fetchval(
            "SELECT array_agg(channel_id) FROM callbacks WHERE number = $1 AND status = 'pending'",
            NUMBER,
        )
        or []
    )
    channels = [
        c
        for c in await observer.channels()
        if c["id"].split("-")[0] in ours or c["caller"]["number"] == NUMBER
    ]
    assert channels == [], channels[:5]
    bridges = [b for b in await observer.bridges() if b["id"].removeprefix("b-") in ours]
    assert bridges == [], bridges[:5]
    log = running.controller.log_path.read_bytes()[log_mark:].decode(errors="replace")
    bad = [
        line
        for line in log.splitlines()
        if "Traceback" in line or "level=error" in line or "unexpected_event" in line
    ]
    assert bad == [], "\n".join(bad[:20])
    waiting = (await asyncio.to_thread(agent_api, running, "/agents", "GET"))["waiting"]
    assert set(waiting) & ours == pending_ids, waiting  # only a booked callback waits
    # Leave nothing for the next tests: the pending callback is tried (nobody answers at the
    # trunk now) until it fails.
    await set_agent(running, "1004", "ready")
    for _ in range(200):
        left = await db.fetchval(
            "SELECT count(*) FROM callbacks WHERE number = $1 AND status = 'pending'", NUMBER
        )
        if left == 0:
            break
        await asyncio.sleep(0.2)
    assert left == 0
