"""The call journal: an outbox between the calls and PostgreSQL.

Calls never wait on the database. Each fact goes to the spool (store/spool.py: segment files
fsynced in groups, the durable copy until PostgreSQL has committed the fact); one writer
task drains it into PostgreSQL in batches, in order, retrying with backoff while the
database is away. A fact carries its own uuid, so replaying a spool left by a crashed
controller is harmless: the database keeps the first copy.

A batch costs few round trips (store/changes.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hotline.store.changes import apply_facts
from hotline.store.spool import Batch, Spool, SpoolLimits

log = structlog.get_logger("journal")


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


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under SQLAlchemy's."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


@contextlib.asynccontextmanager
async def asyncpg_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """One of the engine's connections, as asyncpg's own (no SQLAlchemy per statement).
    SQLAlchemy never sees what fails on it, so a connection that fails for any reason but
    the data itself is dropped from the pool here: with no ping before each use
    (controller_process.call_path_engine), a connection the database closed would
    otherwise be handed out, and fail, for ever."""
    async with engine.connect() as conn:
        pg = await _driver(conn)
        try:
            yield pg
        except BaseException as exc:  # a cancelled statement too: the connection is unsure
            if not (isinstance(exc, Exception) and _refused(exc)):
                if not isinstance(exc, Exception):
                    pg.terminate()  # at once: a graceful close could hold a time-out for 2 s
                await conn.invalidate()
            raise


def _refused(exc: Exception) -> bool:
    """The fact itself is wrong (bad data, a broken constraint), not the database away."""
    if isinstance(exc, asyncpg.PostgresError):
        return str(getattr(exc, "sqlstate", "")).startswith(("22", "23", "42"))
    return isinstance(exc, ValueError | KeyError | TypeError)


class Journal:
    """Append facts from calls; a background writer stores them in PostgreSQL."""

    def __init__(
        self,
        *,
        engine: AsyncEngine | None,
        spool_dir: Path,
        batch: int = 500,
        limits: SpoolLimits | None = None,
        linger: float = 0.25,
    ) -> None:
        self._engine = engine
        self._spool_dir = spool_dir
        self._batch = batch
        # A batch short of `batch` facts waits until `linger` after the previous write: at
        # 10 calls a second a fact came every 3 ms, and each came alone in a transaction of
        # six round trips (profile: the journal was a fifth of the controller's CPU). A
        # quarter of a second: a person reading a page sees no delay, and a call's facts
        # mostly share one transaction (with the spool's fsync every 100 ms instead of 50,
        # about 2.8 of 11.9 ms of the controller's CPU a call, README "Capacity").
        self._linger = linger
        self._last_write = 0.0
        self.spool = Spool(spool_dir, limits)
        self._wakeup = asyncio.Event()
        self._progress = asyncio.Event()  # set whenever facts were committed
        self.written = 0
        self.failures = 0
        self.rejected = 0
        self.healthy = engine is not None
        # Told of every fact as it is recorded (the console's day tally), on the loop's thread.
        self.observers: list[Callable[[Fact], None]] = []

    def record(self, fact: Fact) -> None:
        """Never blocks and never raises into the call."""
        try:
            self.spool.append(fact)
        except Exception:  # a fact that cannot be serialised is a bug: say so loudly
            log.exception("fact_not_recorded", kind=fact.kind, call_id=fact.channel_id)
            return
        self._wakeup.set()
        for observe in self.observers:
            try:
                observe(fact)
            except Exception:  # a watcher's bug must not reach the call
                log.exception("fact_observer_failed", kind=fact.kind, call_id=fact.channel_id)

    def replay_spools(self) -> int:
        """Queue facts left in the spool by an earlier process; returns how many."""
        count = self.spool.recover()
        if count:
            self._wakeup.set()
        return count

    @property
    def backlog(self) -> int:
        """Facts not yet in the database."""
        return self.spool.backlog

    @property
    def spool_bytes(self) -> int:
        """What the spool holds on disk."""
        return self.spool.bytes_on_disk

    @property
    def alarm(self) -> str | None:
        """Why the spool cannot keep every fact on disk, while that lasts."""
        return self.spool.alarm

    @property
    def watermark(self) -> int:
        """A mark for `caught_up`: every fact recorded so far."""
        return self.spool.appended_total

    async def written_through(self, mark: int) -> None:
        """Wait until every fact recorded before `mark` was taken is in the database."""
        while self.spool.committed_total < mark:
            self._progress.clear()
            await self._progress.wait()

    async def run(self) -> None:
        """The spool's sync rounds and the database writer, forever; cancel to stop (call
        flush first to finish the backlog)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.spool.run(), name="journal-spool")
            group.create_task(self._drain(), name="journal-writer")

    async def _drain(self) -> None:
        delay = 0.5
        while True:
            if not self.backlog:
                self._wakeup.clear()
                await self._wakeup.wait()
            if self._engine is None:
                await asyncio.sleep(3600)
                continue
            wait = self._last_write + self._linger - time.monotonic()
            if wait > 0 and self.backlog < self._batch and self.spool.backlog_is_current:
                await asyncio.sleep(wait)  # (a replay's segments go at once: the start waits)
            self._last_write = time.monotonic()
            try:
                await self.write_batch()
                delay = 0.5
                if not self.healthy:
                    log.info("database_back", backlog=self.backlog)
                self.healthy = True
            except Exception as exc:
                self.failures += 1
                if self.healthy:
                    log.warning("database_unavailable", error=str(exc)[:200], backlog=self.backlog)
                self.healthy = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)

    async def write_batch(self) -> int:
        """Store the oldest facts (one batch) in one transaction; returns how many."""
        batch = await self.spool.take(self._batch)
        if batch is None:
            # Reading may have found only unreadable lines, now counted as done: a start
            # waiting for the replay (written_through) must hear of it.
            self._progress.set()
            return 0
        try:
            await self._apply(batch.facts)
        except Exception:
            if await self._isolate_rejected(batch):
                self._progress.set()
                return len(batch.facts)
            raise
        self.spool.committed(batch, len(batch.facts))
        self.written += len(batch.facts)
        self._progress.set()
        return len(batch.facts)

    async def _apply(self, facts: Sequence[Fact]) -> None:
        assert self._engine is not None
        # asyncpg directly: no SQLAlchemy compilation per statement (PROFILE.md).
        async with asyncpg_connection(self._engine) as pg, pg.transaction():
            await apply_facts(pg, facts)  # time-limited by its engine (call_path_engine)

    async def _isolate_rejected(self, batch: Batch) -> bool:
        """A fact the database refuses while it answers otherwise must not block the rest:
        it is set aside in rejected.ndjson (never lost) and the rest goes on. Returns
        whether the batch was dealt with that way (False: the database is away)."""
        assert self._engine is not None
        try:
            async with asyncpg_connection(self._engine) as pg:
                await pg.execute("SELECT 1")
        except Exception:
            return False
        for fact in batch.facts:
            try:
                await self._apply([fact])
            except Exception as exc:
                if not _refused(exc):
                    return False  # the database went away meanwhile: retry later
                self.rejected += 1
                log.error(
                    "fact_rejected", kind=fact.kind, call_id=fact.channel_id, error=str(exc)[:300]
                )
                await asyncio.to_thread(self._set_aside, fact)
            else:
                self.written += 1
            self.spool.committed(batch, 1)
        return True

    def _set_aside(self, fact: Fact) -> None:
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        with (self._spool_dir / "rejected.ndjson").open("a", encoding="utf-8") as out:
            out.write(fact.to_json() + "\n")
            out.flush()
            os.fsync(out.fileno())

    def close(self) -> None:
        """Fsync and close the spool's files; what they hold is replayed next time."""
        self.spool.close()

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the backlog is written or timeout passes; return whether it emptied."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.backlog and loop.time() < deadline:
            self._wakeup.set()
            await asyncio.sleep(0.05)
        return not self.backlog
