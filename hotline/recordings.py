"""Recordings after the call: every access authorised and audited; purged when retention ends."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline import audit

log = structlog.get_logger("recordings")


class RecordingUnavailable(Exception):
    """No such recording, or purged; `error_id` says which."""

    def __init__(self, error_id: str) -> None:
        super().__init__(error_id)
        self.error_id = error_id


@dataclass(frozen=True)
class Release:
    """A recording handed out to someone, for a stated reason (already audited)."""

    path: Path
    sha256: str


async def release(
    engine: AsyncEngine,
    host_root: Path,
    recording_id: int,
    who: str,
    why: str,
    *,
    role: str = "",
    source: str = "",
) -> Release:
    """Audit the access first (recording_access and the audit log, in one transaction), then
    say where the file is; no audit row, no file. `who` is the signed-in principal."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                text("SELECT path, sha256, purged_at FROM recordings WHERE id = :id"),
                {"id": recording_id},
            )
        ).first()
        if row is None:
            raise RecordingUnavailable("recording_not_found")
        if row.purged_at is not None:
            raise RecordingUnavailable("recording_purged")
        await conn.execute(
            text(
                "INSERT INTO recording_access (recording_id, who, why, at) "
                "VALUES (:id, :who, :why, now())"
            ),
            {"id": recording_id, "who": who, "why": why},
        )
        detail = {"why": why}
        entry = audit.Entry(who, "recording.access", role, str(recording_id), source, "ok", detail)
        await audit.write(conn, entry)
    log.info("recording_released", recording=recording_id, who=who)
    return Release(path=host_root / row.path.lstrip("/"), sha256=row.sha256)


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


async def purge(engine: AsyncEngine, host_root: Path, today: dt.date) -> int:
    """Delete the audio of recordings past their retention; the row and its audit stay."""
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT id, path FROM recordings WHERE purge_after < :today "
                    "AND purged_at IS NULL FOR UPDATE SKIP LOCKED"
                ),
                {"today": today},
            )
        ).all()
        paths = [host_root / row.path.lstrip("/") for row in rows]
        await asyncio.to_thread(_unlink_all, paths)  # off the event loop: may be thousands
        if rows:
            await conn.execute(
                text("UPDATE recordings SET purged_at = now() WHERE id = ANY(:ids)"),
                {"ids": [row.id for row in rows]},
            )
    if rows:
        log.info("recordings_purged", count=len(rows))
    return len(rows)
