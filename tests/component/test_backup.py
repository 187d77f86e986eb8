"""A backup holds the call records, the config ops edit and the recordings; restore puts
them back exactly (real PostgreSQL, real pg_dump and pg_restore)."""

from __future__ import annotations

import asyncio
import shutil
import stat
import tarfile
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hotline import REPO_ROOT
from hotline.backup import BackupError, Places, backup, restore
from tests.support.system import SystemUnderTest

TABLES = ("calls", "call_segments", "recordings", "surveys")


async def _add_a_day_of_calls(db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO calls (channel_id, caller_number, dialed_number, language, started_at,"
        " answered_at, ended_at, ivr_path, queue, agent, disposition, hangup_side) VALUES"
        " ('bk-1', '13800000001', '12333', 'zh', now() - interval '5 min', now() - interval"
        " '4 min', now(), '{main,pension}', 'social_insurance', '1001', 'answered', 'caller'),"
        " ('bk-2', '13800000002', '12333', 'en', now() - interval '3 min', NULL, now(), '{main}',"
        " NULL, NULL, 'abandoned_in_menu', 'caller')"
    )
    await db.execute(
        "INSERT INTO call_segments (channel_id, queue, agent, offered_at, answered_at, ended_at,"
        " outcome) VALUES ('bk-1', 'social_insurance', '1001', now() - interval '290 s',"
        " now() - interval '4 min', now(), 'completed')"
    )
    await db.execute(
        "INSERT INTO recordings (channel_id, agent, path, seconds, sha256, created_at,"
        " purge_after) VALUES ('bk-1', '1001', '/var/spool/monitor/bk-1.wav', 240, $1, now(),"
        " current_date + 180)",
        "b" * 64,
    )
    await db.execute(
        "INSERT INTO surveys (channel_id, agent, score, at) VALUES ('bk-1', '1001', 'satisfied',"
        " now())"
    )


async def _contents(db: asyncpg.Connection) -> dict[str, list[dict[str, Any]]]:
    return {t: [dict(r) for r in await db.fetch(f"SELECT * FROM {t} ORDER BY id")] for t in TABLES}


def _places(system: SystemUnderTest, root: Path) -> Places:
    config = root / "dialplan"
    shutil.copytree(system.settings.config_dir, config)
    sounds = root / "sounds"
    sounds.mkdir()
    shutil.copy(REPO_ROOT / "sounds" / "prompts.yaml", sounds / "prompts.yaml")
    (sounds / "overrides" / "zh").mkdir(parents=True)
    (sounds / "overrides" / "zh" / "welcome.wav").write_bytes(b"RIFF-professional")
    monitor = root / "monitor"
    monitor.mkdir()
    (monitor / "bk-1.wav").write_bytes(b"RIFF-agent-call")
    assert system.instance.database_url is not None
    return Places(system.instance.database_url, config, sounds, monitor)


async def test_backup_then_restore_gives_back_calls_recordings_and_surveys(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. The database holds calls, a segment with an agent, its recording and its survey.
    2. A backup with the recordings is written: one tar file, readable by its owner only.
    3. The records are lost (truncated), the audio deleted, a config file spoiled.
    4. The restore brings back every row as it was, the audio and the config, and says so.
    """
    await db.execute(
        "TRUNCATE calls, call_segments, surveys, recording_access, recordings,"
        " quality_scores, quality_samples RESTART IDENTITY"
    )
    await _add_a_day_of_calls(db)
    before = await _contents(db)
    places = _places(system, tmp_path / "instance")
    archive = tmp_path / "backups" / "hotline-test.tar"

    held = await asyncio.to_thread(backup, places, archive, instance="test", recordings=True)

    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {"hotline-backup.json", "database.pgdump", "config/dialplan/menu.yaml"} <= set(names)
    assert "config/sounds/overrides/zh/welcome.wav" in names
    assert "recordings/bk-1.wav" in names
    assert held["recording_files"] == 1
    await db.execute(
        "TRUNCATE calls, call_segments, surveys, recording_access, recordings,"
        " quality_scores, quality_samples RESTART IDENTITY"
    )
    (places.recordings_dir / "bk-1.wav").unlink()
    menu = places.config_dir / "menu.yaml"
    shipped_menu = menu.read_text()
    menu.write_text("spoiled: true\n")

    restored = await asyncio.to_thread(restore, places, archive)

    assert await _contents(db) == before
    assert restored["calls"] == 2 and restored["recordings"] == 1
    assert restored["call_segments"] == 1 and restored["surveys"] == 1
    assert restored["recording_files"] == 1 and restored["config_files"] == 9
    assert (places.recordings_dir / "bk-1.wav").read_bytes() == b"RIFF-agent-call"
    assert menu.read_text() == shipped_menu
    # A new call after the restore gets a fresh id (the sequences came back too).
    new_id = await db.fetchval(
        "INSERT INTO calls (channel_id, started_at) VALUES ('bk-3', now()) RETURNING id"
    )
    assert new_id == 3


def test_an_archive_that_would_write_outside_the_instance_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar"
    (tmp_path / "manifest").write_text('{"format": 1}')
    (tmp_path / "x").write_text("owned")
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "manifest", "hotline-backup.json")
        tar.add(tmp_path / "x", "config/sounds/../../../etc/cron.d/x")
    places = Places("postgresql+asyncpg://nobody@127.0.0.1:1/none", tmp_path, tmp_path, tmp_path)
    with pytest.raises(BackupError, match="refusing archive member"):
        restore(places, archive)


def test_an_archive_without_a_database_dump_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "config-only.tar"
    (tmp_path / "manifest").write_text('{"format": 1}')
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "manifest", "hotline-backup.json")
    places = Places("postgresql+asyncpg://nobody@127.0.0.1:1/none", tmp_path, tmp_path, tmp_path)
    with pytest.raises(BackupError, match="no database dump"):
        restore(places, archive)
