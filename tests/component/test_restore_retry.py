"""Agents' states come back even when PostgreSQL is away at start: retried until restored,
without putting back a state older than what happened meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import create_async_engine

from acd.queues import QueuesConfig
from acd.roster import AgentEntry
from acd.router import AgentStatus, Router
from hotline import restore
from hotline.desk import Desk
from hotline.restoring import AppliedRouter, Restoring
from hotline.store.journal import Journal
from hotline.telephony.backoff import Backoff
from hotline.web import Metrics, make_app
from tests.support.dbproxy import DatabaseProxy
from tests.support.system import SystemUnderTest


async def health(restoring: Restoring, journal: Journal) -> tuple[int, dict[str, Any]]:
    connected = asyncio.Event()
    connected.set()
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token="t"),
        ari=SimpleNamespace(connected=connected),
        journal=journal,
        calls={},
        draining=False,
        run_id="r",
        config_version="v",
        tasks=SimpleNamespace(dead={}, restarts={}),
        restoring=restoring,
    )
    app = make_app(cast(Any, controller), cast(Any, SimpleNamespace(connected=True)), Metrics())
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/health")
        return resp.status, await resp.json()


async def test_agent_states_are_restored_once_the_database_answers(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. Stored: 7001 ready, 7002 paused, 7003 ready. The controller starts while PostgreSQL
       is away: nothing is restored; /health says what is pending.
    2. Meanwhile 7003 logs in and out at the controller (facts waiting in the journal).
    3. PostgreSQL answers: 7001 and 7002 get their states back; 7003 stays logged out
       (its newer facts are written before the states are read); nothing is pending.
    """
    await db.execute(
        "INSERT INTO agent_state_changes (agent, status, reason, at) VALUES"
        " ('7001', 'ready', '', now() - interval '1 hour'),"
        " ('7002', 'paused', 'lunch', now() - interval '1 hour'),"
        " ('7003', 'ready', '', now() - interval '1 hour')"
    )
    proxy = DatabaseProxy(system.instance.database_url or "")
    engine = create_async_engine(proxy.url)
    journal = Journal(engine=engine, spool_dir=tmp_path)
    router = Router(
        QueuesConfig.model_validate({"queues": {"general": {}}}),
        [AgentEntry(number=n, name=n, skills={}) for n in ("7001", "7002", "7003")],
    )
    desk = Desk(
        router=router,
        ari=cast(Any, None),
        ami=cast(Any, None),
        journal=journal,
        post=lambda _call, _item: None,
        recordings_dir=tmp_path,
        host_root=tmp_path,
    )
    restoring = Restoring(journal, backoff=Backoff(initial=0.05, cap=0.2))
    applied = cast(Router, AppliedRouter(desk))
    writer = asyncio.create_task(journal.run())
    retry: asyncio.Task[None] | None = None
    try:
        restored = await restoring.attempt(
            "agent_states",
            lambda: restore.agent_states(engine, router),
            lambda: restore.agent_states(engine, applied),
        )
        assert not restored and restoring.pending == ["agent_states"]
        status, body = await health(restoring, journal)
        assert status == 200 and body["status"] == "degraded"
        assert body["degraded"] == ["not restored yet: agent_states"]
        assert all(a.status == AgentStatus.logged_out for a in router.agents.values())

        desk.agent_command("7003", "login")
        desk.agent_command("7003", "logout")
        retry = asyncio.create_task(restoring.run())
        await asyncio.sleep(0.3)  # several retries while the database is away
        assert not retry.done()
        await proxy.up()
        await asyncio.wait_for(retry, timeout=60)
    finally:
        if retry is not None:
            retry.cancel()
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        journal.close()
        await engine.dispose()
        await proxy.down()
    assert restoring.pending == []
    assert router.agents["7001"].status == AgentStatus.ready
    assert (router.agents["7002"].status, router.agents["7002"].reason) == (
        AgentStatus.paused,
        "lunch",
    )
    assert router.agents["7003"].status == AgentStatus.logged_out
