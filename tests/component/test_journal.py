"""The journal against a real PostgreSQL: a dead database loses nothing; replays are harmless;
the spool is the durable copy until PostgreSQL commits, bounded by disk with an alarm."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import capture_logs

from hotline.store.journal import Fact, Journal
from hotline.store.spool import SpoolLimits
from tests.support.dbproxy import DatabaseProxy
from tests.support.system import SystemUnderTest


@contextlib.asynccontextmanager
async def writing(journal: Journal) -> AsyncIterator[Journal]:
    """The journal's writer and sync rounds run inside; the journal is closed after."""
    writer = asyncio.create_task(journal.run())
    try:
        yield journal
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        journal.close()


async def drain(journal: Journal, seconds: float = 10) -> None:
    async with writing(journal):
        await journal.flush(timeout=seconds)
        # A segment goes once its facts are committed and fsynced. The writer may commit
        # facts before the round that fsyncs them: that round finds the segment not yet
        # done, and the next one deletes it.
        await journal.spool.sync()
        await journal.spool.sync()


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
    first = Journal(engine=dead, spool_dir=spool, limits=SpoolLimits(segment_seconds=0))
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


def die(journal: Journal) -> None:
    """Abandon a journal as SIGKILL would: its files are closed by the kernel, no round
    fsyncs them."""
    for fd in journal.spool._files.values():
        os.close(fd)
    journal.spool._files.clear()


def spooled_lines(spool: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in spool.glob("*.jsonl"))


def segments(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.glob("*.jsonl"))


async def until(check: Callable[[], bool], seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_more_than_100000_facts_while_the_database_is_away_are_all_written_once(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. PostgreSQL is away: 102,000 facts of 3,000 calls pile up (on disk, and in memory only
       up to a budget); none is dropped.
    2. It comes back: every fact is written exactly once, each call's menu path in order,
       and the spool empties.
    """
    proxy = DatabaseProxy(system.instance.database_url or "")
    engine = create_async_engine(proxy.url)
    spool = tmp_path / "journal"
    limits = SpoolLimits(segment_facts=20_000, memory_facts=50_000, segment_seconds=0.5)
    journal = Journal(engine=engine, spool_dir=spool, limits=limits)
    writer = asyncio.create_task(journal.run())
    calls, nodes = 3000, 32  # more than the memory budget holds, several segments on disk
    try:
        for c in range(calls):
            journal.record(Fact(f"big-{c}", "call_started", {"caller": "13900000700"}))
        for n in range(nodes):
            for c in range(calls):
                journal.record(Fact(f"big-{c}", "node", {"node": f"n{n}"}))
            await asyncio.sleep(0)  # let the sync rounds run, as between real calls
        for c in range(calls):
            journal.record(Fact(f"big-{c}", "ended", {"side": "caller", "disposition": "x"}))
        total = calls * (nodes + 2)
        assert total > 100_000
        await until(lambda: journal.spool.bytes_on_disk > 0 and not journal.spool.dirty, 30)
        await journal.spool.sync()
        assert journal.backlog == total and not journal.healthy
        assert journal.spool.facts_in_memory <= limits.memory_facts + limits.segment_facts
        assert len(segments(spool)) >= 4 and journal.alarm is None

        await proxy.up()
        assert await journal.flush(timeout=120)
        await until(lambda: not segments(spool), 10)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        journal.close()
        await engine.dispose()
        await proxy.down()
    assert await db.fetchval("SELECT count(*) FROM call_events WHERE channel_id LIKE 'big-%'") == (
        total
    )
    rows = await db.fetch("SELECT ivr_path, disposition FROM calls WHERE channel_id LIKE 'big-%'")
    expected = [f"n{n}" for n in range(nodes)]
    assert len(rows) == calls
    assert all(r["ivr_path"] == expected and r["disposition"] == "x" for r in rows)


async def test_a_journal_abandoned_mid_way_is_replayed_by_the_next_nothing_twice(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. A journal writes 250 facts, then its writer stops; 150 more are fsynced to the spool;
       the process "dies" (no close: only what the spool holds survives).
    2. A new journal on the same spool replays its segments: the 150 are written, the
       committed ones left in the last segment are not written twice.
    """
    spool = tmp_path / "journal"
    engine = create_async_engine(system.instance.database_url or "")
    limits = SpoolLimits(segment_facts=100)
    try:
        first = Journal(engine=engine, spool_dir=spool, limits=limits)
        first.record(Fact("crash-1", "call_started", {"caller": "13900000701"}))
        for n in range(249):
            first.record(Fact("crash-1", "node", {"node": f"n{n}"}))
        await drain(first)
        assert first.backlog == 0 and segments(spool) == ["000000000003.jsonl"]
        for n in range(249, 399):
            first.record(Fact("crash-1", "node", {"node": f"n{n}"}))
        await first.spool.sync()
        assert segments(spool) == ["000000000003.jsonl", "000000000004.jsonl"]
        die(first)

        second = Journal(engine=engine, spool_dir=spool, limits=limits)
        assert second.replay_spools() == 150 + 50  # the last segment held 50 already written
        await drain(second)
        assert second.backlog == 0 and not segments(spool)
    finally:
        await engine.dispose()
    assert await db.fetchval("SELECT count(*) FROM call_events WHERE channel_id = 'crash-1'") == 400
    path = await db.fetchval("SELECT ivr_path FROM calls WHERE channel_id = 'crash-1'")
    assert path == [f"n{n}" for n in range(399)]


async def test_segments_are_deleted_only_once_committed(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. The database is away: 300 facts fill three segments, all fsynced; failed writes
       delete nothing.
    2. It answers: after one batch of 100 is committed, exactly the first segment goes.
    """
    proxy = DatabaseProxy(system.instance.database_url or "")
    engine = create_async_engine(proxy.url)
    spool = tmp_path / "journal"
    journal = Journal(
        engine=engine, spool_dir=spool, batch=100, limits=SpoolLimits(segment_facts=100)
    )
    try:
        for n in range(300):
            journal.record(Fact("seg-1", "node", {"node": f"n{n}"}))
        await journal.spool.sync()
        assert len(segments(spool)) == 3
        with pytest.raises(OSError):
            await journal.write_batch()
        await journal.spool.sync()
        assert len(segments(spool)) == 3 and journal.backlog == 300

        await proxy.up()
        assert await journal.write_batch() == 100
        assert len(segments(spool)) == 3  # deleted by the next sync round, not before
        await journal.spool.sync()
        assert segments(spool) == ["000000000002.jsonl", "000000000003.jsonl"]
        count = "SELECT count(*) FROM call_events WHERE channel_id = 'seg-1'"
        assert await db.fetchval(count) == 100
    finally:
        journal.close()
        await engine.dispose()
        await proxy.down()


async def test_a_full_spool_keeps_facts_in_memory_and_raises_the_alarm(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. The spool may hold 4 KB and the database is away: the facts past the bound are kept
       in memory, the spool stays within it, an error is logged and the alarm is up.
    2. The database comes back: every fact is written once and the alarm clears.
    """
    proxy = DatabaseProxy(system.instance.database_url or "")
    engine = create_async_engine(proxy.url)
    spool = tmp_path / "journal"
    journal = Journal(engine=engine, spool_dir=spool, limits=SpoolLimits(max_bytes=4096))
    try:
        with capture_logs() as logs:
            for n in range(100):
                journal.record(Fact("full-1", "node", {"node": f"n{n}"}))
            await journal.spool.sync()
        assert journal.backlog == 100
        assert 0 < journal.spool_bytes <= 4096
        assert journal.alarm is not None  # until the facts kept in memory only are written
        alarms = [e for e in logs if e["event"] == "journal_spool_alarm"]
        assert len(alarms) == 1 and alarms[0]["log_level"] == "error"  # then once a minute
        assert alarms[0]["reason"].startswith("spool_full")

        await proxy.up()
        await drain(journal)
        assert journal.backlog == 0 and journal.alarm is None
    finally:
        journal.close()
        await engine.dispose()
        await proxy.down()
    path = await db.fetchval("SELECT ivr_path FROM calls WHERE channel_id = 'full-1'")
    assert path is None  # no call_started: only events
    assert await db.fetchval("SELECT count(*) FROM call_events WHERE channel_id = 'full-1'") == 100


async def test_too_little_free_disk_keeps_facts_off_the_disk_with_an_alarm(tmp_path: Path) -> None:
    journal = Journal(engine=None, spool_dir=tmp_path, limits=SpoolLimits(min_free_bytes=2**62))
    journal.record(Fact("low-1", "node", {"node": "main"}))
    await journal.spool.sync()  # learns how much is free
    journal.record(Fact("low-1", "node", {"node": "again"}))
    await journal.spool.sync()
    assert journal.backlog == 2 and journal.alarm is not None
    assert journal.alarm.startswith("disk_low")
    assert spooled_lines(tmp_path) == 1
    journal.close()


KILLED_RIGHT_AFTER_RECORDING = """
import os, signal, sys
from pathlib import Path
from hotline.store.journal import Fact, Journal
journal = Journal(engine=None, spool_dir=Path(sys.argv[1]))
for n in range(3):
    journal.record(Fact("killed-1", "node", {"node": f"n{n}"}))
os.kill(os.getpid(), signal.SIGKILL)  # before any sync round could run
"""


def test_a_controller_killed_right_after_recording_loses_no_fact(tmp_path: Path) -> None:
    """A fact is in its file as soon as it is recorded: a SIGKILL before the next sync round
    (the 100 ms group commit) loses none; the next journal replays all three."""
    died = subprocess.run(
        [sys.executable, "-c", KILLED_RIGHT_AFTER_RECORDING, str(tmp_path)], check=False
    )
    assert died.returncode == -signal.SIGKILL
    assert Journal(engine=None, spool_dir=tmp_path).replay_spools() == 3


def left_segments(spool: Path, count: int, per_segment: int, channel: str) -> int:
    """Segment files as a dead controller leaves them; returns the facts in them."""
    spool.mkdir(parents=True)
    for seq in range(1, count + 1):
        facts = [
            Fact(channel, "node", {"node": f"s{seq}n{n}"}).to_json() for n in range(per_segment)
        ]
        (spool / f"{seq:012d}.jsonl").write_text("".join(line + "\n" for line in facts))
    return count * per_segment


@contextlib.asynccontextmanager
async def replaying(
    system: SystemUnderTest, spool: Path, linger: float = 0.25
) -> AsyncIterator[Journal]:
    """A journal on `spool` with its writer running, as a controller starts one."""
    engine = create_async_engine(system.instance.database_url or "")
    try:
        async with writing(Journal(engine=engine, spool_dir=spool, linger=linger)) as journal:
            yield journal
    finally:
        await engine.dispose()


async def test_a_replay_is_written_at_once_whatever_the_linger(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """The linger makes a batch of facts arriving as calls go; a replay's closed segments
    cannot grow by waiting, so they go at once: the controller's start waits for them
    (with a 60 s linger, 4 segments would take 3 minutes)."""
    spool = tmp_path / "journal"
    facts = left_segments(spool, 4, 5, "replay-1")
    async with replaying(system, spool, linger=60) as journal:
        assert journal.replay_spools() == facts
        await asyncio.wait_for(journal.written_through(journal.watermark), 30)
    count = "SELECT count(*) FROM call_events WHERE channel_id = 'replay-1'"
    assert await db.fetchval(count) == facts


@pytest.mark.parametrize("good", [2, 0], ids=["after-good-lines", "alone"])
async def test_a_torn_last_line_does_not_hold_the_start(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path, good: int
) -> None:
    """A crash can leave a half-written last line: it is logged and skipped, and the
    start's wait for the replay (a watermark taken before the files are read) ends."""
    spool = tmp_path / "journal"
    channel = f"torn-{good}"
    left_segments(spool, 1, good, channel)
    with (spool / f"{1:012d}.jsonl").open("a") as segment:
        segment.write('{"channel_id": "torn", "kind": "no')
    async with replaying(system, spool) as journal:
        with capture_logs() as logs:
            assert journal.replay_spools() == good + 1  # counted by lines, the torn one too
            await asyncio.wait_for(journal.written_through(journal.watermark), 30)
        assert journal.backlog == 0
        assert [e["lines"] for e in logs if e["event"] == "spool_lines_unreadable"] == [1]
    count = "SELECT count(*) FROM call_events WHERE channel_id = $1"
    assert await db.fetchval(count, channel) == good
