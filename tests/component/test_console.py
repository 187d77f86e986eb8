"""The console's wallboard websocket: a supervisor's session sees the board and its changes,
others are refused (and audited), a feed ends with its session, a slow client is sent the
latest state rather than every step.

The real aiohttp app and the real PostgreSQL of the test instance (accounts, sessions,
audit); the controller around the routes is the real router and desk without Asterisk (as
in test_accounts.py).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.queues import load_queues
from acd.roster import AgentEntry, load_roster
from acd.router import Router
from acd.state import AgentStatus
from acd.topic_config import load_topics
from acd.wallboard import apply
from acd.work_order_config import load_work_orders
from hotline import REPO_ROOT, accounts, console
from hotline.desk import Desk
from hotline.sessions import SessionPolicy
from hotline.sms import FileSms
from hotline.store.journal import Fact, Journal
from hotline.web import Metrics, make_app
from ivr.hours import load_hours
from tests.support.system import SystemUnderTest

PASSWORD = "社保热线-correct-horse"
POLICY = SessionPolicy(instance="test")
LIVE = "/console/wallboard/live"
LONG = "a pause reason long enough to make each change large " * 2


@dataclass
class Console:
    client: TestClient[Any, Any]
    engine: AsyncEngine
    desk: Desk
    run: str
    calls: dict[str, Any]

    async def person(self, base: str, roles: list[str], agent: str | None = None) -> str:
        name = f"{base}-{self.run}"
        await accounts.add(self.engine, name, PASSWORD, roles, agent, "cli:test")
        resp = await self.client.post("/session", json={"name": name, "password": PASSWORD})
        assert resp.status == 200, await resp.text()
        return name

    @property
    def wallboard(self) -> console.Wallboard:
        return self.client.server.app[console.WALLBOARD]


async def make_console(
    system: SystemUnderTest, tmp_path: Path, agents: list[AgentEntry] | None = None
) -> AsyncIterator[Console]:
    config = REPO_ROOT / "dialplan"
    router = Router(load_queues(config), agents or list(load_roster(config).agents))
    journal = Journal(engine=None, spool_dir=tmp_path / "journal")
    desk = Desk(
        router=router,
        ari=SimpleNamespace(),  # type: ignore[arg-type]
        ami=SimpleNamespace(),  # type: ignore[arg-type]
        journal=journal,
        post=lambda call, item: None,
        recordings_dir=Path("/nowhere"),
        host_root=tmp_path,
    )
    engine = create_async_engine(system.instance.database_url or "")
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token="instance-token-for-these-tests", host_root=tmp_path),
        desk=desk,
        engine=engine,
        journal=journal,
        calls={},
        topics=load_topics(config),
        # For the office page (work orders): its texts go to a file the test reads.
        hours=load_hours(config),
        work_orders=load_work_orders(config),
        roster=load_roster(config),
        sms=FileSms(tmp_path / "sms.jsonl"),
    )
    app = make_app(controller, SimpleNamespace(), Metrics(), POLICY)  # type: ignore[arg-type]
    try:
        async with TestClient(TestServer(app)) as client:
            yield Console(client, engine, desk, uuid.uuid4().hex[:6], controller.calls)
    finally:
        await engine.dispose()


@pytest.fixture
async def center(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> AsyncIterator[Console]:
    await db.execute("TRUNCATE accounts, web_sessions RESTART IDENTITY CASCADE")
    async for made in make_console(system, tmp_path):
        yield made


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    body: dict[str, Any] = json.loads(message.data)
    return body


async def test_a_supervisor_sees_the_board_then_each_change(center: Console) -> None:
    """
    1. A supervisor opens the wallboard: the whole board first (the dialplan's queues,
       nobody waiting, no agent on).
    2. Agent 1001 logs in through the API, a caller enters the general queue: each arrives
       as a change, and the board rebuilt from the changes is the server's.
    3. Today's offered count follows the journal's facts.
    """
    await center.person("li.na", ["supervisor"])
    async with center.client.ws_connect(LIVE) as ws:
        first = await receive(ws)
        assert first["type"] == "snapshot"
        board = first["board"]
        assert set(board["queues"]) == set(center.desk.router.config.queues)
        assert board["today"]["waiting"] == 0 and board["agents"] == {}
        me = await (await center.client.get("/session")).json()
        resp = await center.client.post(
            "/agents/1001/login", headers={"X-CSRF-Token": me["csrf_token"]}
        )
        assert resp.status == 200, await resp.text()
        change = await receive(ws)
        assert change["type"] == "change"
        assert change["patch"]["agents"]["1001"]["state"] == "ready"
        board = apply(board, change["patch"])
        center.desk.router.pause("1001", "meal", time.time())  # nobody to answer the caller
        board = apply(board, (await receive(ws))["patch"])
        assert board["states"]["paused"] == 1 and board["agents"]["1001"]["reason"] == "meal"
        center.desk.journal.record(Fact("c1", "queued", {"queue": "general"}))
        center.desk.router.enqueue("c1", "general", 0, time.time())
        board = apply(board, (await receive(ws))["patch"])
        assert board["queues"]["general"]["waiting"] == 1
        assert board["queues"]["general"]["offered"] == 1
        assert board == center.wallboard.current


async def test_an_agent_sees_their_own_desk_and_the_caller_masked(center: Console) -> None:
    """
    1. Agent 1002 opens their desk: signed out, the pause reasons of queues.yaml.
    2. They sign in through the API (their own 工号, with the CSRF token): ready.
    3. A caller from 13812345678 is answered by them: talking, the queue, the number masked.
    4. A supervisor without a 工号 has no desk: refused.
    """
    await center.person("wang.fang", ["agent"], agent="1002")
    async with center.client.ws_connect("/console/desk/live") as ws:
        desk = (await receive(ws))["board"]
        assert (desk["agent"], desk["state"]) == ("1002", "logged_out")
        assert "meal" in desk["pause_reasons"]
        me = await (await center.client.get("/session")).json()
        resp = await center.client.post(
            "/agents/1002/login", headers={"X-CSRF-Token": me["csrf_token"]}
        )
        assert resp.status == 200, await resp.text()
        desk = apply(desk, (await receive(ws))["patch"])
        assert desk["state"] == "ready"
        now = time.time()
        caller = SimpleNamespace(queue="employment", answered_at=now)
        center.calls["c7"] = SimpleNamespace(caller_number="13812345678", person=caller)
        center.desk.router.enqueue("c7", "employment", 0, now)
        center.desk.router.answered("c7", "1002", now)
        while desk["state"] != "talking":
            desk = apply(desk, (await receive(ws))["patch"])
        assert desk["call"] == {
            "queue": "employment",
            "caller": "138****5678",
            "since": round(now, 1),
        }
        assert "13812345678" not in json.dumps(center.wallboard.current)
    await center.person("li.na", ["supervisor"])
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await center.client.ws_connect("/console/desk/live")
    assert refused.value.status == 403


async def test_others_are_refused_and_audited(center: Console, db: asyncpg.Connection) -> None:
    """
    1. No session: 401. An agent's session: 403, audited with their name.
    2. A supervisor's cookie sent by a page of another site (its Origin): refused.
    """
    async with aiohttp.ClientSession() as anonymous:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await anonymous.ws_connect(center.client.make_url(LIVE))
        assert refused.value.status == 401
    agent = await center.person("wang.fang", ["agent"], agent="1002")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await center.client.ws_connect(LIVE)
    assert refused.value.status == 403
    row = await db.fetchrow(
        "SELECT what, target, outcome FROM audit_log WHERE who = $1 AND what = 'access.refused'",
        agent,
    )
    assert row is not None and (row["target"], row["outcome"]) == (f"GET {LIVE}", "forbidden")
    await center.person("li.na", ["supervisor"])
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await center.client.ws_connect(LIVE, origin="https://elsewhere.example")
    assert refused.value.status == 403


async def test_the_feed_ends_with_the_session(
    center: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed out in another tab: the open wallboard is closed at the next check."""
    monkeypatch.setattr(console, "RECHECK", 0.2)
    await center.person("li.na", ["supervisor"])
    me = await (await center.client.get("/session")).json()
    async with center.client.ws_connect(LIVE) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        cookies = center.client.session.cookie_jar.filter_cookies(center.client.make_url("/"))
        resp = await center.client.delete("/session", headers={"X-CSRF-Token": me["csrf_token"]})
        assert resp.status == 200
        center.client.session.cookie_jar.update_cookies(cookies)  # the socket keeps its own
        closed = await asyncio.wait_for(ws.receive(), 5)
        assert closed.type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4401


async def test_a_slow_client_is_sent_the_latest_state_not_every_step(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. 3000 agents; a supervisor's client stops reading while all of them change state 41
       times (each step a change of about 500 kB, 20 MB in all: on loopback about 5 MB fill
       the socket buffers and the client's before a send waits).
    2. When it reads again, it gets fewer messages than steps, and the board they build is
       the latest one: the server kept one picture for it, not a queue of changes.
    """
    await db.execute("TRUNCATE accounts, web_sessions RESTART IDENTITY CASCADE")
    many = [AgentEntry(number=str(10000 + n), name=f"agent {n}") for n in range(3000)]
    async for center in make_console(system, tmp_path, many):
        await center.person("li.na", ["supervisor"])
        agents = center.desk.router.agents.values()
        async with center.client.ws_connect(LIVE, max_msg_size=0) as ws:
            board = (await receive(ws))["board"]
            steps = 41
            for step in range(steps):
                # Set directly: the feed is under test here, not the router's bookkeeping.
                for agent in agents:
                    agent.status, agent.reason = AgentStatus.paused, f"step {step} {LONG}"
                center.wallboard.refresh(time.time())
                await asyncio.sleep(0.01)  # the server's sender runs, and blocks on the socket
            messages = 0
            while board != center.wallboard.current:
                board = apply(board, (await receive(ws))["patch"])
                messages += 1
            assert 0 < messages < steps
            assert board["agents"]["10000"]["reason"] == f"step {steps - 1} {LONG}"
            assert len(center.wallboard.feeds) == 1
