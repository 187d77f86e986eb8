"""The journal's spool: the durable copy of every fact until PostgreSQL has committed it.

Facts are appended to numbered segment files, one JSON line each, written to the file as
they come: a controller that dies (SIGKILL, the OOM killer, a bug in C) loses none of them.
A sync round (group commit: every `sync_seconds`, sooner once `sync_facts` are waiting)
fsyncs them in a worker thread, so the event loop normally waits on no disk (a write to the
page cache; dirty-page throttling or a device that needs stable pages can still hold it);
only a machine that loses power loses what no round had fsynced yet: the last `sync_seconds`
and the running fsync's own time. The database writer takes facts in order, segment by
segment; a segment file is deleted only once every fact in it is committed. After a crash
the segments left behind are the backlog, replayed in order; a replay is harmless because
each fact carries its own uuid.

Memory is bounded: beyond `memory_facts`, facts of closed segments are dropped from memory
(they are on disk) and read back when the writer reaches them. Disk is bounded by
`max_bytes` and `min_free_bytes`: past either, new facts are kept in memory only (written
to the database when it answers, but lost if the process dies) and an alarm is raised —
an error log every `alarm_seconds`, `alarm` for /health and the metrics. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from hotline.store.journal import Fact

log = structlog.get_logger("journal")

MB = 1024 * 1024
# After a failed write, facts stay in memory only this long before the disk is tried again:
# a disk that keeps failing would otherwise get a new segment file every round.
WRITE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class SpoolLimits:
    """How the spool groups, bounds and reports."""

    max_bytes: int = 2048 * MB
    min_free_bytes: int = 512 * MB
    segment_facts: int = 10_000
    segment_seconds: float = 30.0  # a quiet segment is closed, so it can go once written
    # Each round is a thread's fsync: at 20 a second the spool's thread was about 7% of the
    # controller's samples (py-spy). A fact is in its file at once; the period bounds only
    # what a loss of power takes.
    sync_seconds: float = 0.1
    sync_facts: int = 2_000
    memory_facts: int = 100_000
    alarm_seconds: float = 60.0


@dataclass(eq=False)
class Segment:
    """One spool file and what the process knows about its facts."""

    seq: int
    path: Path
    facts: list[Fact] | None  # None: on disk only (evicted, or left by an earlier process)
    appended: int = 0
    synced: int = 0  # written and fsynced (or, for memory-only facts, given up on)
    committed: int = 0  # a prefix: the writer goes in order
    closed: bool = False
    bytes: int = 0
    memory_only: int = 0  # facts not on disk (bound reached or write failed)
    opened: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> bool:
        """Every fact committed and nothing left to write: the file can go."""
        return self.closed and self.committed == self.appended == self.synced


@dataclass(frozen=True)
class Batch:
    """Facts handed to the database writer, from one segment."""

    segment: Segment
    facts: list[Fact]


class Spool:
    """Segment files under `directory`; see the module docstring."""

    def __init__(self, directory: Path, limits: SpoolLimits | None = None) -> None:
        self.directory = directory
        self.limits = limits or SpoolLimits()
        self._segments: deque[Segment] = deque()  # oldest first; the last one may be open
        self._next_seq = 1
        # Facts appended since the last sync round began, and whether each went to its file.
        self._unsynced: list[tuple[Segment, bool]] = []
        self._dirty = asyncio.Event()
        self._full = asyncio.Event()
        self._round = asyncio.Lock()
        self._io = threading.Lock()  # held while a round's thread fsyncs, and at close
        self._files: dict[int, int] = {}  # segment seq -> descriptor (opened by the loop)
        self._created = False  # a file was created since the last round (fsync the folder)
        self._closes = 0  # close() calls: a round's thread leaves the files it closed alone
        self._write_failed_at = -float("inf")
        self._in_memory = 0
        self.bytes_on_disk = 0
        self.free_bytes: int | None = None
        self.appended_total = 0  # a watermark: every fact gets the next number
        self.committed_total = 0  # facts committed, in order
        self.alarm: str | None = None
        self._write_error: str | None = None
        self._last_alarm_log = -float("inf")

    # --- the call side: never blocks, never raises
    def append(self, fact: Fact) -> None:
        """Queue a fact for the database and write it to its file (fsynced by the next round)."""
        segment = self._open_segment()
        line = (fact.to_json() + "\n").encode()
        assert segment.facts is not None  # the open segment is always in memory
        segment.facts.append(fact)
        segment.appended += 1
        self.appended_total += 1
        self._in_memory += 1
        refusal = self._refusal(len(line)) or self._write(segment, line)
        if refusal is not None:
            segment.memory_only += 1
            self._raise_alarm(refusal)
        self._unsynced.append((segment, refusal is None))
        self._dirty.set()
        if len(self._unsynced) >= self.limits.sync_facts:
            self._full.set()

    def _write(self, segment: Segment, line: bytes) -> str | None:
        """Append a line to the segment's file, on the loop: one write to the page cache, a
        few microseconds. Returns why it could not (the fact is then kept in memory only)."""
        fd = self._files.get(segment.seq)
        try:
            if fd is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                fd = self._files[segment.seq] = os.open(segment.path, flags, 0o666)
                self._created = True
            if os.write(fd, line) != len(line):
                raise OSError(errno.ENOSPC, "short write")
        except OSError as exc:
            segment.closed = True  # it may end in a torn line: never append to it again
            self._write_error = f"spool_write_failed: {exc.strerror or exc}"
            self._write_failed_at = time.monotonic()
            return self._write_error
        segment.bytes += len(line)
        self.bytes_on_disk += len(line)
        return None

    def _open_segment(self) -> Segment:
        last = self._segments[-1] if self._segments else None
        if last is not None and not last.closed and last.appended < self.limits.segment_facts:
            return last
        if last is not None:
            last.closed = True
        segment = Segment(
            seq=self._next_seq, path=self.directory / f"{self._next_seq:012d}.jsonl", facts=[]
        )
        self._next_seq += 1
        self._segments.append(segment)
        return segment

    def _refusal(self, size: int) -> str | None:
        used = self.bytes_on_disk + size
        if used > self.limits.max_bytes:
            return f"spool_full: {used // MB} MB, the limit is {self.limits.max_bytes // MB} MB"
        if self.free_bytes is not None and self.free_bytes < self.limits.min_free_bytes:
            return (
                f"disk_low: {self.free_bytes // MB} MB free, less than "
                f"{self.limits.min_free_bytes // MB} MB"
            )
        return self._write_error

    def _raise_alarm(self, reason: str) -> None:
        self.alarm = reason
        now = time.monotonic()
        if now - self._last_alarm_log >= self.limits.alarm_seconds:
            self._last_alarm_log = now
            log.error(
                "journal_spool_alarm",
                reason=reason,
                backlog=self.backlog,
                memory_only=sum(s.memory_only for s in self._segments),
                spool_bytes=self.bytes_on_disk,
            )

    @property
    def dirty(self) -> bool:
        """Facts appended since the last sync round began (not yet fsynced)."""
        return bool(self._unsynced)

    @property
    def facts_in_memory(self) -> int:
        """Facts held in memory (the rest of the backlog is on disk only)."""
        return self._in_memory

    # --- the database writer's side
    @property
    def backlog(self) -> int:
        """Facts not yet committed to the database."""
        return self.appended_total - self.committed_total

    @property
    def backlog_is_current(self) -> bool:
        """Whether every uncommitted fact is in the open segment: facts coming as calls go,
        not a replay or a backlog that waiting could not make a bigger batch of."""
        for segment in self._segments:
            if segment.committed < segment.appended:
                return segment is self._segments[-1] and not segment.closed
        return True

    async def take(self, limit: int) -> Batch | None:
        """The oldest uncommitted facts (at most `limit`, from one segment), or None."""
        for segment in self._segments:
            if segment.committed < segment.appended:
                break
        else:
            return None
        facts = segment.facts
        if facts is None:
            facts = await self._load(segment)
            if segment.committed >= segment.appended:
                self._dirty.set()  # nothing readable in it: delete it
                return await self.take(limit)
        return Batch(segment, facts[segment.committed : segment.committed + limit])

    def committed(self, batch: Batch, count: int) -> None:
        """The first `count` facts of a batch are in the database (or set aside)."""
        batch.segment.committed += count
        self.committed_total += count
        if batch.segment.done:
            self._dirty.set()  # the next sync round deletes the file

    async def _load(self, segment: Segment) -> list[Fact]:
        from hotline.store.journal import Fact

        def read() -> tuple[list[Fact], int]:
            facts: list[Fact] = []
            bad = 0
            with contextlib.suppress(FileNotFoundError):
                for line in segment.path.read_bytes().splitlines():
                    try:
                        facts.append(Fact.from_json(line.decode("utf-8")))
                    except (ValueError, KeyError, UnicodeDecodeError):
                        bad += 1
            return facts, bad

        facts, bad = await asyncio.to_thread(read)
        if bad:  # a torn last line after a crash, or damage: counted, logged, skipped
            log.error("spool_lines_unreadable", file=str(segment.path), lines=bad)
        missing = segment.appended - len(facts)
        if missing and segment.memory_only == 0:
            # The line count at recovery included what could not be read back.
            segment.appended -= missing
            segment.synced = segment.appended
            # Counted as done, not as never appended: a watermark taken before the read
            # (the start's `_spool_written`) must still be reached.
            self.committed_total += missing
        segment.facts = facts
        self._in_memory += len(facts)
        return facts

    # --- recovery
    def recover(self) -> int:
        """Register segments left by an earlier process (oldest first); returns their facts.

        They are read back lazily, when the writer reaches them. Files of the old one-file
        format (`<pid>-<hex>.jsonl`) are replayed first."""
        if not self.directory.exists():
            return 0
        found: list[tuple[tuple[int, float, str], Path]] = []
        for path in self.directory.glob("*.jsonl"):
            numbered = path.stem.isdigit()
            key = (1, float(path.stem), "") if numbered else (0, path.stat().st_mtime, path.name)
            found.append((key, path))
        known = {s.path for s in self._segments}
        recovered: list[Segment] = []
        count = 0
        for _, path in sorted(found):
            if path in known:
                continue
            data = path.read_bytes()
            lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
            if path.stem.isdigit():
                self._next_seq = max(self._next_seq, int(path.stem) + 1)
            segment = Segment(
                seq=0,
                path=path,
                facts=None,
                appended=lines,
                synced=lines,
                closed=True,
                bytes=len(data),
            )
            recovered.append(segment)
            self.bytes_on_disk += len(data)
            self.appended_total += lines
            count += lines
        self._segments.extendleft(reversed(recovered))  # before anything of this process
        if count:
            log.info("spool_replayed", facts=count, segments=len(recovered))
        return count

    # --- group commit
    async def run(self) -> None:
        """Sync rounds forever: fsync, delete what is committed, check the disk."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self.limits.segment_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.limits.sync_seconds)
            await self.sync()

    async def sync(self) -> None:
        """One sync round: on return, every fact appended before the call is on disk."""
        async with self._round:
            await self._sync()

    async def _sync(self) -> None:
        self._dirty.clear()
        self._full.clear()
        now = time.monotonic()
        last = self._segments[-1] if self._segments else None
        quiet = last is not None and now - last.opened >= self.limits.segment_seconds
        if last is not None and quiet and not last.closed:
            last.closed = True  # quiet: close it so that it can be deleted once written
        done = [s for s in self._segments if s.done]
        for segment in done:
            self._segments.remove(segment)
            self._in_memory -= len(segment.facts or ())
            self.bytes_on_disk -= segment.bytes
        lines, self._unsynced = self._unsynced, []
        written = {segment for segment, on_disk in lines if on_disk}
        to_sync = {s: self._files[s.seq] for s in written if s.seq in self._files}
        # Closed segments get no more lines: their files are the thread's to close, after
        # their last fsync. The loop opens new ones meanwhile, never these.
        closed = {s.seq for s in self._segments if s.closed} | {s.seq for s in done}
        to_close = [self._files.pop(seq) for seq in list(self._files) if seq in closed]
        created, self._created = self._created, False
        try:
            failed, free = await asyncio.to_thread(
                self._fsync, to_sync, to_close, [s.path for s in done], created, self._closes
            )
        except asyncio.CancelledError:  # the thread goes on; the next round counts these
            self._unsynced[:0] = lines
            self._created = self._created or created
            raise
        for segment, _ in lines:
            segment.synced += 1
        if now - self._write_failed_at >= WRITE_RETRY_SECONDS:
            self._write_error = None  # try the disk again (not at every round: see above)
        for segment, error in failed.items():
            # The file may end in a torn line: never append to it again.
            segment.closed = True
            segment.memory_only += sum(1 for s, on_disk in lines if s is segment and on_disk)
            self._write_error = f"spool_write_failed: {error}"
            self._write_failed_at = now
        self.free_bytes = free
        self._evict()
        refusal = self._refusal(0)
        if refusal is not None:
            self._raise_alarm(refusal)
        elif any(s.memory_only and s.committed < s.appended for s in self._segments):
            self._raise_alarm("facts_in_memory_only: the spool could not take them")
        elif self.alarm is not None:
            log.info("journal_spool_alarm_cleared", was=self.alarm)
            self.alarm = None  # (a new alarm within alarm_seconds of the last line: not logged)

    def _fsync(
        self,
        to_sync: dict[Segment, int],
        to_close: list[int],
        delete: list[Path],
        created: bool,
        closes: int,
    ) -> tuple[dict[Segment, str], int | None]:
        """In the worker thread: fsync the files written to, close finished ones, delete
        committed ones; returns the fsyncs that failed and the disk's free bytes."""
        failed: dict[Segment, str] = {}
        with self._io:
            for segment, fd in to_sync.items():
                if closes != self._closes and fd not in to_close:
                    continue  # close() came first: it fsynced and closed this one
                try:
                    os.fsync(fd)
                except OSError as exc:
                    failed[segment] = f"{exc.strerror or exc}"
            for fd in to_close:
                with contextlib.suppress(OSError):
                    os.close(fd)
            for path in delete:
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:  # left behind: replayed (harmlessly) at the next start
                    log.error("spool_segment_not_deleted", file=str(path), error=str(exc))
            if created or delete:
                with contextlib.suppress(OSError):  # make the new and removed names durable
                    fd = os.open(self.directory, os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            free: int | None = None
            with contextlib.suppress(OSError):
                stat = os.statvfs(self.directory)
                free = stat.f_bavail * stat.f_frsize
        return failed, free

    def _evict(self) -> None:
        """Over the memory budget: forget facts of closed, synced segments (newest first: the
        writer needs them last); they are read back from disk when their turn comes."""
        if self._in_memory <= self.limits.memory_facts:
            return
        head = next((s for s in self._segments if s.committed < s.appended), None)
        for segment in reversed(self._segments):
            if self._in_memory <= self.limits.memory_facts:
                return
            if (
                segment is head
                or segment.facts is None
                or not segment.closed
                or segment.memory_only
                or segment.synced < segment.appended
            ):
                continue
            self._in_memory -= len(segment.facts)
            segment.facts = None

    def close(self) -> None:
        """Fsync and close the files (at shutdown; blocks briefly)."""
        lines, self._unsynced = self._unsynced, []
        with self._io:  # after a round's thread, if one is running
            self._closes += 1
            for fd in self._files.values():
                with contextlib.suppress(OSError):
                    os.fsync(fd)
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._files.clear()
        for segment, _ in lines:
            segment.synced += 1
