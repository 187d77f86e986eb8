"""Recording access is audited before release; retention purges the audio, not the audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from hotline import recordings
from tests.support.system import SystemUnderTest


async def add_recording(db: asyncpg.Connection, path: str, purge_after: dt.date) -> int:
    value: int = await db.fetchval(
        "INSERT INTO recordings (channel_id, agent, path, seconds, sha256, created_at,"
        " purge_after) VALUES ('rec-test', '1001', $1, 3, $2, now(), $3) RETURNING id",
        path,
        "a" * 64,
        purge_after,
    )
    return value


async def test_release_is_audited_and_purge_removes_only_the_audio(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. A supervisor asks for a recording with who and why: the access is stored first.
    2. Retention ends: the purge deletes the file, keeps the row and the audit trail.
    3. Asking again is refused as purged; an unknown id is refused as not found.
    """
    audio = tmp_path / "var" / "x.wav"
    audio.parent.mkdir(parents=True)
    audio.write_bytes(b"RIFF....")
    today = dt.date(2026, 11, 23)
    old = await add_recording(db, "/var/x.wav", today - dt.timedelta(days=1))
    keep = await add_recording(db, "/var/keep.wav", today + dt.timedelta(days=1))
    engine = create_async_engine(system.instance.database_url or "")
    try:
        released = await recordings.release(engine, tmp_path, old, "supervisor-7", "complaint 42")
        assert released.path == audio and released.sha256 == "a" * 64
        access = await db.fetchrow(
            "SELECT who, why FROM recording_access WHERE recording_id = $1", old
        )
        assert (access["who"], access["why"]) == ("supervisor-7", "complaint 42")
        assert await recordings.purge(engine, tmp_path, today) == 1
        assert not audio.exists()
        with pytest.raises(recordings.RecordingUnavailable, match="recording_purged"):
            await recordings.release(engine, tmp_path, old, "supervisor-7", "again")
        with pytest.raises(recordings.RecordingUnavailable, match="recording_not_found"):
            await recordings.release(engine, tmp_path, 10**9, "supervisor-7", "nothing")
        assert await recordings.purge(engine, tmp_path, today) == 0
    finally:
        await engine.dispose()
    assert await db.fetchval("SELECT purged_at FROM recordings WHERE id = $1", keep) is None
    assert (
        await db.fetchval("SELECT count(*) FROM recording_access WHERE recording_id = $1", old) == 1
    )
