"""The call journal: an outbox between the calls and PostgreSQL.

Calls never wait on the database. Each fact is appended to a local spool file and queued;
one writer task drains the queue into PostgreSQL in batches, retrying with backoff while the
database is away. A fact carries its own uuid, so replaying a spool left by a crashed
controller is harmless: the database keeps the first copy.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import structlog
from sqlalchemy import Table, func, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hotline.store.tables import Call, CallEvent

log = structlog.get_logger("journal")

MAX_PENDING = 200_000  # beyond this, the oldest facts are dropped and counted

# Facts that become one row of a table of their own (idempotent: replays insert nothing).
_INSERTS: dict[str, str] = {
    "survey": "INSERT INTO surveys (channel_id, agent, score, at) VALUES (:ch, :agent, :score, :at)"
    " ON CONFLICT DO NOTHING",
    "segment_offered": "INSERT INTO call_segments (channel_id, queue, agent, offered_at)"
    " VALUES (:ch, :queue, :agent, :at) ON CONFLICT DO NOTHING",
    "callback_requested": "INSERT INTO callbacks (channel_id, caller_number, number, queue,"
    " priority, entered, language, requested_at, deadline) VALUES (:ch, :caller, :number,"
    " :queue, :priority, :entered, :language, :at, to_timestamp(:deadline))"
    " ON CONFLICT DO NOTHING",
    "callback_attempt": "UPDATE callbacks SET attempts = GREATEST(attempts, :attempt),"
    " agent = :agent WHERE channel_id = :ch",
    "callback_finished": "UPDATE callbacks SET status = :status, finished_at = :at,"
    " agent = COALESCE(:agent, agent) WHERE channel_id = :ch AND status = 'pending'",
    "recording": "INSERT INTO recordings (channel_id, agent, path, seconds, sha256, created_at,"
    " purge_after) VALUES (:ch, :agent, :path, :seconds, :sha256, :at, :purge_after)"
    " ON CONFLICT DO NOTHING",
}


@dataclass(frozen=True)
class Fact:
    """Something that happened on a call."""

    channel_id: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def to_json(self) -> str:
        """One spool line."""
        return json.dumps(
            {
                "channel_id": self.channel_id,
                "kind": self.kind,
                "data": self.data,
                "at": self.at.isoformat(),
                "event_id": str(self.event_id),
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, line: str) -> Fact:
        """Parse a spool line."""
        raw = json.loads(line)
        return cls(
            channel_id=raw["channel_id"],
            kind=raw["kind"],
            data=raw["data"],
            at=dt.datetime.fromisoformat(raw["at"]),
            event_id=uuid.UUID(raw["event_id"]),
        )


async def apply_facts(conn: AsyncConnection, facts: Iterable[Fact]) -> int:
    """Write facts in order; a fact already stored is skipped. Returns how many were new."""
    new = 0
    calls = cast(Table, Call.__table__)
    events = cast(Table, CallEvent.__table__)
    for fact in facts:
        inserted = await conn.execute(
            insert(events)
            .values(
                event_id=fact.event_id,
                channel_id=fact.channel_id,
                at=fact.at,
                kind=fact.kind,
                data=fact.data,
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(events.c.id)
        )
        if inserted.first() is None:
            continue
        new += 1
        d = fact.data
        where = calls.c.channel_id == fact.channel_id
        if fact.kind == "call_started":
            await conn.execute(
                insert(calls)
                .values(
                    channel_id=fact.channel_id,
                    linkedid=d.get("linkedid"),
                    caller_number=d.get("caller"),
                    dialed_number=d.get("dialed"),
                    language=d.get("language"),
                    started_at=fact.at,
                )
                .on_conflict_do_nothing(index_elements=["channel_id"])
            )
        elif fact.kind == "answered":
            await conn.execute(
                calls.update()
                .where(where)
                .values(answered_at=func.coalesce(calls.c.answered_at, fact.at))
            )
        elif fact.kind == "node":
            await conn.execute(
                calls.update()
                .where(where)
                .values(ivr_path=func.array_append(calls.c.ivr_path, d["node"]))
            )
        elif fact.kind == "adopted":
            await conn.execute(calls.update().where(where).values(adoptions=calls.c.adoptions + 1))
        elif fact.kind == "ended":
            await conn.execute(
                calls.update()
                .where(where)
                .values(
                    ended_at=func.coalesce(calls.c.ended_at, fact.at),
                    disposition=func.coalesce(calls.c.disposition, d.get("disposition")),
                    hangup_side=func.coalesce(calls.c.hangup_side, d.get("side")),
                )
            )
        elif fact.kind == "voicemail":
            await conn.execute(
                text(
                    "INSERT INTO voice_messages (channel_id, caller_number, callback_number,"
                    " recording, seconds, created_at, due_on, origin) VALUES (:ch, :caller, :cb,"
                    " :rec, :sec, :at, :due, :origin) ON CONFLICT (recording) DO NOTHING"
                ),
                {
                    "ch": fact.channel_id,
                    "caller": d.get("caller"),
                    "cb": d.get("callback"),
                    "rec": d["recording"],
                    "sec": d["seconds"],
                    "at": fact.at,
                    "due": dt.date.fromisoformat(d["due_on"]),
                    "origin": d.get("origin", "voicemail"),
                },
            )
        elif fact.kind in _INSERTS:
            values = {"ch": fact.channel_id, "at": fact.at, "agent": None, "deadline": None, **d}
            if "purge_after" in values:
                values["purge_after"] = dt.date.fromisoformat(values["purge_after"])
            await conn.execute(text(_INSERTS[fact.kind]), values)
        elif fact.kind == "segment_answered":
            await conn.execute(
                text(
                    "UPDATE call_segments SET answered_at = :at WHERE channel_id = :ch "
                    "AND agent = :agent AND answered_at IS NULL"
                ),
                {"at": fact.at, "ch": fact.channel_id, "agent": d["agent"]},
            )
        elif fact.kind == "segment_ended":
            await conn.execute(
                text(
                    "UPDATE call_segments SET ended_at = :at, outcome = :outcome "
                    "WHERE channel_id = :ch AND agent = :agent AND ended_at IS NULL"
                ),
                {
                    "at": fact.at,
                    "ch": fact.channel_id,
                    "agent": d["agent"],
                    "outcome": d["outcome"],
                },
            )
        if fact.kind == "agent_state":
            await conn.execute(
                text(
                    "INSERT INTO agent_state_changes (agent, status, reason, phone, at) "
                    "VALUES (:agent, :status, :reason, :phone, :at)"
                ),
                {
                    "agent": d["agent"],
                    "status": d["status"],
                    "reason": d.get("reason", ""),
                    "phone": d.get("phone"),
                    "at": fact.at,
                },
            )
        elif fact.kind in ("queued", "agent"):
            column = "queue" if fact.kind == "queued" else "agent"
            await conn.execute(calls.update().where(where).values({column: d[column]}))
    return new


class Journal:
    """Append facts from calls; a background writer stores them in PostgreSQL."""

    def __init__(self, *, engine: AsyncEngine | None, spool_dir: Path, batch: int = 500) -> None:
        self._engine = engine
        self._spool_dir = spool_dir
        self._batch = batch
        self._pending: deque[Fact] = deque()
        self._wakeup = asyncio.Event()
        self._spool: Any = None
        self._spool_path: Path | None = None
        self._in_spool = 0
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self.rejected = 0
        self.healthy = engine is not None

    def record(self, fact: Fact) -> None:
        """Never blocks and never raises into the call."""
        try:
            if self._spool is None:
                self._spool_dir.mkdir(parents=True, exist_ok=True)
                self._spool_path = self._spool_dir / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
                self._spool = self._spool_path.open("a", encoding="utf-8", buffering=1)
            self._spool.write(fact.to_json() + "\n")
            self._in_spool += 1
        except OSError as exc:  # a full disk must not end the call
            log.warning("spool_write_failed", error=str(exc))
        if len(self._pending) >= MAX_PENDING:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(fact)
        self._wakeup.set()

    def replay_spools(self) -> int:
        """Queue facts left in spool files by an earlier process; returns how many."""
        count = 0
        if not self._spool_dir.exists():
            return 0
        for path in sorted(self._spool_dir.glob("*.jsonl")):
            if path == self._spool_path:
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    self.record(Fact.from_json(line))
                    count += 1
                except (ValueError, KeyError):
                    log.warning("spool_line_unreadable", file=str(path))
            path.unlink()
        if count:
            log.info("spool_replayed", facts=count)
        return count

    @property
    def backlog(self) -> int:
        """Facts not yet in the database."""
        return len(self._pending)

    def _rotate_if_drained(self) -> None:
        if self._pending or self._spool is None or self._spool_path is None:
            return
        self._spool.close()
        self._spool_path.unlink(missing_ok=True)
        self._spool = None
        self._spool_path = None
        self._in_spool = 0

    async def run(self) -> None:
        """The writer: drain forever; cancel to stop (call flush first to finish the backlog)."""
        delay = 0.5
        while True:
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            if self._engine is None:
                await asyncio.sleep(3600)
                continue
            try:
                await self._write_batch()
                delay = 0.5
                if not self.healthy:
                    log.info("database_back", backlog=self.backlog)
                self.healthy = True
            except (TimeoutError, OSError, Exception) as exc:
                self.failures += 1
                if self.healthy:
                    log.warning("database_unavailable", error=str(exc)[:200], backlog=self.backlog)
                self.healthy = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)

    async def _write_batch(self) -> None:
        assert self._engine is not None
        batch = [self._pending[i] for i in range(min(self._batch, len(self._pending)))]
        try:
            async with self._engine.begin() as conn:
                await conn.execute(text("SET LOCAL statement_timeout = '10s'"))
                await apply_facts(conn, batch)
        except Exception:
            await self._isolate_rejected(batch)
            raise
        for _ in batch:
            self._pending.popleft()
        self.written += len(batch)
        self._rotate_if_drained()

    async def _isolate_rejected(self, batch: list[Fact]) -> None:
        """A fact the database refuses while it answers otherwise must not block the rest:
        it is set aside in rejected.ndjson (never lost) and the batch retried without it."""
        assert self._engine is not None
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return
        for fact in batch:
            try:
                async with self._engine.begin() as conn:
                    await apply_facts(conn, [fact])
            except Exception as exc:
                self.rejected += 1
                log.error(
                    "fact_rejected", kind=fact.kind, call_id=fact.channel_id, error=str(exc)[:300]
                )
                with (self._spool_dir / "rejected.ndjson").open("a", encoding="utf-8") as out:
                    out.write(fact.to_json() + "\n")
                self._pending.remove(fact)
                return

    def close(self) -> None:
        """Close the spool; what it holds is replayed by the next process."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
            self._spool_path = None

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the backlog is written or timeout passes; return whether it emptied."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._pending and loop.time() < deadline:
            self._wakeup.set()
            await asyncio.sleep(0.05)
        return not self._pending
