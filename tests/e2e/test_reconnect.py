"""The controller's link to Asterisk breaks for a few seconds while calls go on: afterwards
the router and Asterisk agree (no caller waiting who left, no agent on a call that ended)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.support.api import agent_api
from tests.support.calls import wait_for_call
from tests.support.desk import phone, set_agent
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.proxy import CuttableProxy
from tests.support.sipp import Caller, Keys, Pause, WaitForHangup
from tests.support.system import SystemUnderTest


@pytest.fixture
async def cuttable(running: SystemUnderTest) -> AsyncIterator[CuttableProxy]:
    """The controller reaches ARI through a proxy the test can cut; restored afterwards."""
    # The proxy runs on this event loop: start and stop the controller off it.
    async with CuttableProxy(target=running.settings.ports.ari) as proxy:
        await asyncio.to_thread(running.controller.stop)
        running.controller.env["HOTLINE_ARI_URL"] = f"http://127.0.0.1:{proxy.port}"
        try:
            await asyncio.to_thread(running.controller.start)
            yield proxy
        finally:
            proxy.mend()
            await asyncio.to_thread(running.controller.stop)
            del running.controller.env["HOTLINE_ARI_URL"]
            await asyncio.to_thread(running.controller.start)


async def connected(system: SystemUnderTest, timeout: float = 30) -> None:
    for _ in range(int(timeout * 10)):
        health = await asyncio.to_thread(system.controller.health)
        if health and health.get("ari_connected"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the controller did not reconnect: {system.controller.log_tail()}")


async def test_calls_that_ended_during_a_cut_are_reconciled_with_the_router(
    running: SystemUnderTest,
    cuttable: CuttableProxy,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
) -> None:
    """
    1. Agent 1002 talks with caller B; caller A waits (nobody else is logged in).
    2. The controller's ARI link is cut; meanwhile A and B hang up (from Asterisk's side).
    3. The link comes back: the controller reconnects by itself; nobody is waiting any more,
       1002 is no longer on a call, and both calls are closed in the records.
    """
    agent = phone(running, "1002")
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1002", "login")
    to_a_person = [Pause(1500), Keys("0"), Pause(800), Keys("0"), WaitForHangup(60000)]
    b = Caller(sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900001121")
    await b.start(to_a_person)
    row_b = await wait_for_call(db, b.number, until=lambda r: r["agent"] == "1002")
    a = Caller(sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900001122")
    await a.start(to_a_person)
    row_a = await wait_for_call(db, a.number, until=lambda r: r["queue"] == "general")
    before = await asyncio.to_thread(agent_api, running, "/agents", "GET")
    assert list(before["waiting"]) == [row_a["channel_id"]]
    assert before["agents"]["1002"]["status"] == "on_call"
    await cuttable.cut()
    await observer.hang_up(row_a["channel_id"])
    await observer.hang_up(row_b["channel_id"])
    await asyncio.gather(a.finish(), b.finish())  # (a BYE may cut a key press short)
    await asyncio.sleep(2)
    cuttable.mend()
    await connected(running)
    for _ in range(50):
        after = await asyncio.to_thread(agent_api, running, "/agents", "GET")
        if not after["waiting"] and after["agents"]["1002"]["status"] != "on_call":
            break
        await asyncio.sleep(0.1)
    assert after["waiting"] == {}
    assert after["agents"]["1002"]["status"] in ("wrap_up", "ready")
    row_a = await wait_for_call(db, a.number)
    row_b = await wait_for_call(db, b.number)
    assert row_a["disposition"] == "abandoned" and row_b["disposition"] == "answered"
    left = [c for c in await observer.channels() if c["id"].startswith(row_b["channel_id"])]
    assert left == [], left  # the agent's leg was hung up too
