"""The load benchmark's short version as a regression guard (issue #9): a burst of menu traffic
and a few full-flow calls through the real Asterisk, none failed, nothing left behind.

Uses the benchmark's own callers and agents' phones (bench/scenarios.py). No timing is
asserted: only that every call completed its scenario and that Asterisk and the database
hold no trace of a call once they have ended.
"""

from __future__ import annotations

import asyncio

import asyncpg

from bench.scenarios import AgentPhones, CallerLoad, full_flow_steps, menu_steps
from tests.support.desk import set_agent
from tests.support.observer import AriObserver
from tests.support.system import SystemUnderTest

MENU_RATE, MENU_SECONDS = 30, 20
FLOW_CALLS = 3
TALK_MS = 4000
AGENTS = ("1001", "1004")  # social_insurance at level 3 or more


async def test_a_burst_of_menu_traffic_and_full_flows_fail_no_call_and_leave_nothing_behind(
    running: SystemUnderTest, db: asyncpg.Connection
) -> None:
    """
    1. Both social-insurance agents' phones are one SIPp desk phone (echo, hang up after 4 s);
       the agents log in.
    2. 600 callers at 30 a second hear the welcome and the main menu and hang up after 6 s;
       meanwhile 3 callers press 0, 1, talk with an agent, and rate the call with 2.
    3. Every call completed; the 3 conversations were recorded and rated.
    4. Afterwards Asterisk has no channel and no bridge, and no call record is open.
    """
    sip = running.settings.ports.sip
    phones = AgentPhones(
        sip_port=sip,
        work_dir=running.work_dir / "load-agents",
        accounts={a: running.instance.secrets.agent_passwords[a] for a in AGENTS},
        talk_ms=TALK_MS,
    )
    menu = CallerLoad(
        sip_port=sip,
        work_dir=running.work_dir / "load-menu",
        steps=menu_steps(),
        rate=MENU_RATE,
        calls=MENU_RATE * MENU_SECONDS,
    )
    flow = CallerLoad(
        sip_port=sip,
        work_dir=running.work_dir / "load-flow",
        steps=full_flow_steps(TALK_MS),
        rate=0.5,  # two agents: each caller finds one free
        calls=FLOW_CALLS,
        numbers=FLOW_CALLS,
    )
    # Component tests store synthetic calls in this database too, some dated years ahead
    # (reports): count only calls started while this test placed its own.
    since = await db.fetchval("SELECT now()")
    try:
        await phones.start()
        for agent in AGENTS:
            await set_agent(running, agent, "login")
        await menu.start()
        await flow.start()
        menu_counts, flow_counts = await asyncio.gather(menu.finish(), flow.finish())
    finally:
        await menu.stop()
        await flow.stop()
        for agent in AGENTS:
            await set_agent(running, agent, "logout")
        await phones.stop()
    until = await db.fetchval("SELECT now()")
    assert (menu_counts.created, menu_counts.failures) == (MENU_RATE * MENU_SECONDS, 0), menu_counts
    assert (flow_counts.created, flow_counts.failures) == (FLOW_CALLS, 0), flow_counts

    async def settled(sql: str, want: int) -> int:
        """The value once it reaches `want` (stored a moment after the calls end)."""
        for _ in range(50):
            value = int(await db.fetchval(sql))
            if value == want:
                break
            await asyncio.sleep(0.2)
        return value

    # Only this test's calls: a previous test's recording or rating may be written late.
    window = f"started_at >= '{since}' AND started_at <= '{until}'"
    mine = f"channel_id IN (SELECT channel_id FROM calls WHERE {window})"
    surveys = f"SELECT count(*) FROM surveys WHERE {mine}"
    assert await settled(surveys, FLOW_CALLS) == FLOW_CALLS
    recordings = f"SELECT count(*) FROM recordings WHERE {mine}"
    assert await settled(recordings, FLOW_CALLS) == FLOW_CALLS
    placed = MENU_RATE * MENU_SECONDS + FLOW_CALLS
    ours = f"SELECT count(*) FROM calls WHERE {window}"
    assert await settled(ours, placed) == placed  # the check below sees every call of ours
    assert await settled(f"{ours} AND ended_at IS NULL", 0) == 0
    s = running.instance
    # Watching Asterisk only now: an observer of every event would add to the load.
    async with AriObserver(
        port=s.settings.ports.ari, user=s.secrets.ari_user, password=s.secrets.ari_password
    ) as observer:
        for _ in range(50):
            channels, bridges = await observer.channels(), await observer.bridges()
            if not channels and not bridges:
                break
            await asyncio.sleep(0.2)
    assert channels == [] and bridges == []
