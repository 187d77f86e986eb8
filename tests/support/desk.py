"""Agents, their desk phones and their segments, as the ACD scenario tests use them."""

from __future__ import annotations

import asyncio
import contextlib
from array import array
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.api import agent_api
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.system import SystemUnderTest

AGENTS = ("1001", "1002", "1003", "1004")


async def set_agent(system: SystemUnderTest, agent: str, command: str) -> None:
    """login, ready, pause, logout through the HTTP API."""
    await asyncio.to_thread(agent_api, system, f"/agents/{agent}/{command}")


def phone(system: SystemUnderTest, agent: str, **kwargs: object) -> DeskPhone:
    """The agent's desk phone (not registered yet)."""
    return DeskPhone(
        user=agent,
        password=system.instance.secrets.agent_passwords[agent],
        sip_port=system.settings.ports.sip,
        work_dir=system.work_dir / f"phone-{agent}",
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def desk(running: SystemUnderTest) -> AsyncIterator[list[DeskPhone]]:
    """Phones registered in the test; afterwards every agent is logged out again."""
    phones: list[DeskPhone] = []
    yield phones
    for p in phones:
        await p.close()
    for agent in AGENTS:
        with contextlib.suppress(OSError):
            await set_agent(running, agent, "logout")


def rms(path: Path) -> float:
    """Loudness of a 16-bit WAV (0: silence)."""
    samples = array("h", path.read_bytes()[44:])
    return (sum(s * s for s in samples) / max(len(samples), 1)) ** 0.5


async def segments(db: asyncpg.Connection, channel_id: str) -> list[tuple[str, str | None]]:
    """(agent, outcome) of each segment of a call, in order."""
    rows = await db.fetch(
        "SELECT agent, outcome FROM call_segments WHERE channel_id = $1 ORDER BY offered_at",
        channel_id,
    )
    return [(r["agent"], r["outcome"]) for r in rows]


async def agent_states(db: asyncpg.Connection, agent: str) -> list[str]:
    """Every stored state change of an agent, in order."""
    rows = await db.fetch(
        "SELECT status FROM agent_state_changes WHERE agent = $1 ORDER BY id", agent
    )
    return [r["status"] for r in rows]


def after_last_call(states: list[str]) -> list[str]:
    """An agent's states from their last `on_call` on (earlier tests' states come before)."""
    return states[len(states) - 1 - states[::-1].index("on_call") :]


async def in_conversation(observer: AriObserver, call_id: str, agent: str) -> None:
    """The agent's leg is in the call's bridge: the agent's number has been said to both,
    who hear each other from now on (hotline/bridging.py put_through)."""
    await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelEnteredBridge"
            and e["bridge"]["id"] == f"b-{call_id}"
            and e["channel"]["id"].startswith(f"{call_id}-{agent}-")
        )
    )


async def answered_by(
    db: asyncpg.Connection, channel_id: str, agent: str, timeout: float = 60, ended: bool = False
) -> None:
    """Wait until the agent has answered the call (a segment of it with an answer); with
    `ended`, until that conversation is over too."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    over = " AND ended_at IS NOT NULL" if ended else ""
    while loop.time() < deadline:
        answered = await db.fetchval(
            "SELECT count(*) FROM call_segments"
            " WHERE channel_id = $1 AND agent = $2 AND answered_at IS NOT NULL" + over,
            channel_id,
            agent,
        )
        if answered:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{agent} never answered call {channel_id} (ended: {ended})")
