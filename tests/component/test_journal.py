"""The journal against a real PostgreSQL: a dead database loses nothing; replays are harmless."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from hotline.store.journal import Fact, Journal
from tests.support.system import SystemUnderTest


async def drain(journal: Journal, seconds: float = 10) -> None:
    writer = asyncio.create_task(journal.run())
    try:
        await journal.flush(timeout=seconds)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)


async def test_dead_database_then_restart_loses_nothing_and_writes_once(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. The database is unreachable: facts queue up and go to the spool; the call goes on.
    2. A new process replays the spool into the real database.
    3. Replaying the same facts again (a crash before the spool was removed) changes nothing.
    """
    spool = tmp_path / "journal"
    dead = create_async_engine("postgresql+asyncpg://hotline:x@127.0.0.1:9/hotline")
    first = Journal(engine=dead, spool_dir=spool)
    facts = [
        Fact("jr-1", "call_started", {"caller": "13900000601", "dialed": "12333"}),
        Fact("jr-1", "node", {"node": "main"}),
        Fact("jr-1", "ended", {"side": "caller", "disposition": "abandoned_in_menu"}),
    ]
    for fact in facts:
        first.record(fact)
    await drain(first, seconds=1.5)
    assert not first.healthy and first.backlog == 3
    first.close()  # the process "dies" here
    await dead.dispose()
    saved = [p.read_text() for p in spool.glob("*.jsonl")]
    assert sum(len(text.splitlines()) for text in saved) == 3

    engine = create_async_engine(system.instance.database_url or "")
    try:
        second = Journal(engine=engine, spool_dir=spool)
        assert second.replay_spools() == 3
        await drain(second)
        third = Journal(engine=engine, spool_dir=tmp_path / "again")
        for line in "".join(saved).splitlines():
            third.record(Fact.from_json(line))
        await drain(third)
    finally:
        await engine.dispose()
    row = await db.fetchrow("SELECT * FROM calls WHERE channel_id = 'jr-1'")
    assert row["ivr_path"] == ["main"] and row["disposition"] == "abandoned_in_menu"
    assert await db.fetchval("SELECT count(*) FROM call_events WHERE channel_id = 'jr-1'") == 3
    assert not list(spool.glob("*.jsonl"))  # written, so the spool is gone


async def test_a_fact_the_database_refuses_is_set_aside_not_blocking(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    engine = create_async_engine(system.instance.database_url or "")
    journal = Journal(engine=engine, spool_dir=tmp_path)
    try:
        journal.record(Fact("jr-2", "call_started", {"caller": "13900000602"}))
        journal.record(
            Fact(
                "jr-2",
                "recording",
                {
                    "agent": "1001",
                    "path": "/x.wav",
                    "seconds": 1,
                    "sha256": "0" * 64,
                    "purge_after": "not a date",
                },
            )
        )
        journal.record(Fact("jr-2", "node", {"node": "main"}))
        await drain(journal)
    finally:
        await engine.dispose()
    assert journal.backlog == 0 and journal.rejected == 1
    rejected = (tmp_path / "rejected.ndjson").read_text().splitlines()
    assert [json.loads(line)["kind"] for line in rejected] == ["recording"]
    row = await db.fetchrow("SELECT ivr_path FROM calls WHERE channel_id = 'jr-2'")
    assert row["ivr_path"] == ["main"]
