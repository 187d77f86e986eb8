"""PostgreSQL stopped for a minute while calls come in: the calls are served, and once it is
back every call is in the records, complete and once."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from hotline.provision import postgres
from tests.support.sipp import Caller, Pause
from tests.support.system import SystemUnderTest

NUMBER = "13900002001"
CALLS = 50
OUTAGE_SECONDS = 60


async def test_a_minute_without_the_database_loses_no_call(running: SystemUnderTest) -> None:
    """
    1. PostgreSQL is stopped.
    2. For the next minute 50 citizens call (one a second), hear the welcome and the menu
       for 8 s and hang up: each call is answered as usual; /health says the database is
       away, ARI connected.
    3. PostgreSQL starts again: the journal catches up by itself; every call is in `calls`
       exactly once, with its start, answer, end and disposition, and its menu path.
    """
    settings = running.settings
    password = running.instance.secrets.pg_password
    await asyncio.to_thread(postgres.stop, settings)
    down_since = time.monotonic()
    try:
        caller = Caller(sip_port=settings.ports.sip, work_dir=running.work_dir, number=NUMBER)
        await caller.start([Pause(8000)], calls=CALLS, rate=1)
        result = await caller.finish(timeout=180)
        assert result.ok, result.output  # every call answered while the database was away
        health = await asyncio.to_thread(running.controller.health)
        assert health is not None and health["ari_connected"] and not health["database_ok"]
        assert health["journal_backlog"] > 0
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
    finally:
        await asyncio.to_thread(postgres.ensure_running, settings, password, lambda _m: None)
    for _ in range(300):  # the journal retries with backoff (10 s at most between tries)
        health = await asyncio.to_thread(running.controller.health)
        if health and health.get("database_ok") and health.get("journal_backlog") == 0:
            break
        await asyncio.sleep(0.2)
    assert health and health["journal_backlog"] == 0, health
    db = await asyncpg.connect(running.dsn)
    try:
        rows = await db.fetch(
            "SELECT channel_id, answered_at, ended_at, disposition, ivr_path FROM calls"
            " WHERE caller_number = $1",
            NUMBER,
        )
        duplicates = await db.fetchval(
            "SELECT count(*) FROM (SELECT channel_id, kind FROM call_events"
            " WHERE kind IN ('call_started', 'ended') AND channel_id = ANY($1::text[])"
            " GROUP BY 1, 2 HAVING count(*) > 1) d",
            [r["channel_id"] for r in rows],
        )
    finally:
        await db.close()
    assert len(rows) == CALLS
    incomplete = [r for r in rows if not (r["answered_at"] and r["ended_at"] and r["disposition"])]
    assert incomplete == []
    assert all(r["ivr_path"] == ["main"] for r in rows)
    assert duplicates == 0
