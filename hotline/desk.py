"""The ACD in the controller, center-wide: the Router, agent channels, the ticker.

Router decisions about a call are posted to that call's mailbox and carried out there, so a
call's channel is only ever touched by its own consumer (STYLE.md rule 3).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.callbacks import CallbackBook
from acd.consult import consult_owner
from acd.conversation_rules import caller_priority, repeat_priority
from acd.router import (
    AgentChanged,
    Decision,
    Router,
    RouterError,
)
from hotline.metrics import Metrics
from hotline.store.journal import Fact, Journal, asyncpg_connection
from hotline.telephony.ami import AmiLink
from hotline.telephony.ari import AriClient, AriError

log = structlog.get_logger("desk")

QUEUE_VAR = "HOTLINE_QUEUE"  # queue|QueueEntry, while queued (and after, for the record)
ENTERED_VAR = "HOTLINE_QUEUE_ENTERED"  # where a release before 2026-12-02 kept the QueueEntry
# The bridge type of a recorded conversation. Media always through Asterisk: MixMonitor
# needs it anyway, and a plain mixing bridge of two phones started as native RTP, then was
# switched to simple mixing when the recording began, each switch a reconfiguration with
# its variable sets and events (bench: Asterisk's CPU a call 65.5–68.2 → 62.4 ms).
RECORDED_BRIDGE = "mixing,proxy_media"
AGENT_VAR = "HOTLINE_AGENT"  # agent|agent channel|recording|answered at, while talking
SURVEY_VAR = "HOTLINE_SURVEY"  # the agent the caller rates, while asked the survey
OUTSIDE_VAR = "HOTLINE_OUTSIDE"  # department channel|name|number, once transferred there
CONSULT_VAR = "HOTLINE_CONSULT"  # the consult in progress (hotline/bridging.py SavedConsult)


@dataclass(frozen=True)
class QueueEntry:
    """What a restarted controller needs to put a waiting caller back exactly in place:
    the first time of entry, the priority, and when this wait began (a transfer)."""

    entered: float
    priority: int = 0
    waiting_since: float | None = None

    def encode(self) -> str:
        """ENTERED_VAR's value."""
        since = "" if self.waiting_since is None else f"{self.waiting_since:.3f}"
        return f"{self.entered:.3f}|{self.priority}|{since}"

    @classmethod
    def decode(cls, value: str) -> QueueEntry:
        """ENTERED_VAR's value back; 0 and None for what is missing or garbled (an older
        release stored the time of entry alone)."""
        fields = [*value.split("|"), "", ""][:3]
        numbers: list[float | None] = []
        for text_ in fields:
            try:
                numbers.append(float(text_))
            except ValueError:
                numbers.append(None)
        entered, priority, since = numbers
        return cls(entered or 0.0, int(priority or 0), since)


def agent_value(agent: str, channel: str, recording: str | None, answered_at: float) -> str:
    """AGENT_VAR's value (read back by hotline/reattaching.py resume_talking)."""
    return f"{agent}|{channel}|{recording or ''}|{answered_at:.3f}"


# How Desk.start_recording stamps a file's name (UTC, to the second).
RECORDING_STAMP = "%Y%m%d-%H%M%S"


def queue_value(queue: str, entry: QueueEntry) -> str:
    """QUEUE_VAR's value: the queue and the caller's place in it, in one request."""
    return f"{queue}|{entry.encode()}"


def read_queue(value: str) -> tuple[str, QueueEntry | None]:
    """QUEUE_VAR's value back: the queue, and its entry (None where an older release kept
    the entry apart, in ENTERED_VAR)."""
    queue, separator, entry = value.partition("|")
    return queue, QueueEntry.decode(entry) if separator else None


REPEAT_SQL = (
    "SELECT (SELECT count(*) FROM callbacks WHERE number = $1 AND status = 'failed'"
    " AND requested_at > now() - interval '24 hours'),"
    " (SELECT count(*) FROM calls WHERE caller_number = $1"
    " AND channel_id <> $2 AND started_at > now() - interval '24 hours')"
)


@dataclass
class Desk:
    """Center-wide: the router, the agent channels, the ticker."""

    router: Router
    ari: AriClient
    ami: AmiLink
    journal: Journal
    post: Callable[[str, Any], None]
    recordings_dir: Path  # as Asterisk sees it
    host_root: Path  # where Asterisk's root is on this host
    retention_days: int = 180
    greet_with_agent_number: bool = True
    senior_priority: int = 10
    senior_age: int = 60
    repeat_priority: int = 5
    callback_priority: int = 20
    engine: AsyncEngine | None = None
    call_path_engine: AsyncEngine | None = None  # for the look-up at each queue entry
    metrics: Metrics = field(default_factory=Metrics)
    agent_channels: dict[str, tuple[str, str]] = field(default_factory=dict)
    citizen_channels: dict[str, str] = field(default_factory=dict)  # call-back channel -> call
    callbacks: CallbackBook = field(default_factory=lambda: CallbackBook(max_per_day=3))
    _background: set[asyncio.Future[None]] = field(default_factory=set)

    def owner(self, channel_id: str) -> str | None:
        """The caller's channel id for an agent's channel."""
        found = self.agent_channels.get(channel_id)
        return found[0] if found else None

    def apply(self, decisions: list[Decision]) -> None:
        """Agent changes are stored; decisions about a call go to that call's mailbox."""
        for decision in decisions:
            if isinstance(decision, AgentChanged):
                self.journal.record(
                    Fact(
                        channel_id=f"agent:{decision.agent}",
                        kind="agent_state",
                        data={
                            "agent": decision.agent,
                            "status": decision.status.value,
                            "reason": decision.reason,
                            "phone": self.router.agents[decision.agent].seat,
                        },
                    )
                )
                log.info(
                    "agent_state",
                    agent=decision.agent,
                    status=decision.status.value,
                    reason=decision.reason,
                    phone=self.router.agents[decision.agent].seat,
                )
            else:  # a consult request's decisions go to the caller's call
                self.post(consult_owner(decision.call_id), ("acd", decision))

    def local_day(self, now: float) -> dt.date:
        """The center's calendar day at `now` (daily limits count by it)."""
        zone = self.router.hours.timezone if self.router.hours else "Asia/Shanghai"
        return dt.datetime.fromtimestamp(now, ZoneInfo(zone)).date()

    def agent_command(
        self, agent: str, command: str, reason: str = "", phone: str | None = None
    ) -> None:
        """login (at `phone`, or the agent's own), ready, pause, logout — from a desk phone or
        the HTTP API."""
        now = time.time()
        if command == "login":
            self.apply(self.router.login(agent, now, phone))
        elif command == "ready":
            self.apply(self.router.ready(agent, now))
        elif command == "pause":
            self.apply(self.router.pause(agent, reason or "break", now))
        elif command == "logout":
            self.apply(self.router.logout(agent, now))
        else:
            raise RouterError(f"unknown agent command {command!r}")

    async def run_ticker(self, stop: asyncio.Event) -> None:
        """Time passes for the router once a second (wrap-ups, escalation, announcements)."""
        while not stop.is_set():
            try:
                for part in self.router.tick_in_parts(time.time()):
                    self.apply(part)
                    await asyncio.sleep(0)  # the calls' events go on between parts
            except Exception:  # the ticker must survive a bad decision
                log.exception("router_tick_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def repeat_bonus(self, caller: str, channel_id: str) -> int:
        """Callers whose callback did not reach them, then callers who called within 24 hours,
        go ahead (their question is still open)."""
        engine = self.call_path_engine or self.engine
        if engine is None or not caller:
            return 0
        try:
            # asyncpg directly: prepared once per connection, no SQLAlchemy per call.
            async with asyncio.timeout(1.0), asyncpg_connection(engine) as pg:
                missed, earlier = await pg.fetchrow(REPEAT_SQL, caller, channel_id)
        except Exception:
            return 0
        return repeat_priority(missed, earlier, self.callback_priority, self.repeat_priority)

    def recording_path(self, call_id: str, agent: str) -> str:
        """Where a recording of this agent's part of the call starts now goes."""
        stamp = dt.datetime.now(dt.UTC).strftime(RECORDING_STAMP)
        return str(self.recordings_dir / f"{stamp}-{call_id}-{agent}.wav")

    async def start_recording(
        self, channel_name: str, call_id: str, agent: str, call_log: Any, path: str = ""
    ) -> str | None:
        """MixMonitor on the caller's channel: an audiohook, as cheap as app_queue's (to
        `path` if named already)."""
        path = path or self.recording_path(call_id, agent)
        try:
            await self.ami.action(
                {"Action": "MixMonitor", "Channel": channel_name, "File": str(path), "Options": "b"}
            )
        except Exception as exc:
            if "No such channel" in str(exc):  # hung up meanwhile: nothing to record
                call_log.info("recording_not_started", agent=agent, reason="channel_gone")
                return None
            # The conversation goes on unrecorded: that must be known (log, metric, record).
            reason = f"{type(exc).__name__}: {exc}"[:200]
            call_log.error("recording_failed", agent=agent, error=reason)
            self.metrics.recordings_failed.inc()
            failed = {"agent": agent, "reason": reason}
            self.journal.record(Fact(channel_id=call_id, kind="recording_failed", data=failed))
            return None
        return path

    def stop_recording(
        self, channel_name: str, call_id: str, agent: str, recording: str | None
    ) -> None:
        """The agent's part ended: close the file (the caller may stay on) and store it."""
        if recording is None:
            return

        async def close_and_store() -> None:
            with contextlib.suppress(Exception):  # the channel may be gone: the file is closed
                await self.ami.action({"Action": "StopMixMonitor", "Channel": channel_name})
            await asyncio.sleep(1.0)
            await self._store_recording(call_id, agent, recording)

        task = asyncio.ensure_future(close_and_store())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _store_recording(self, call_id: str, agent: str, recording: str) -> None:
        host_path = self.host_root / recording.lstrip("/")

        def measure() -> tuple[int, str]:  # in a thread: an hour of audio is 58 MB to hash
            data = host_path.read_bytes()
            return len(data), hashlib.sha256(data).hexdigest()

        try:
            size, sha256 = await asyncio.to_thread(measure)
        except OSError as exc:
            log.error("recording_missing", call_id=call_id, error=str(exc))
            self.metrics.recordings_failed.inc()
            return
        seconds = max(0, size - 44) / 16000  # 8 kHz, 16-bit mono WAV
        purge = dt.date.today() + dt.timedelta(days=self.retention_days)
        self.journal.record(
            Fact(
                channel_id=call_id,
                kind="recording",
                data={
                    "agent": agent,
                    "path": recording,
                    "seconds": seconds,
                    "sha256": sha256,
                    "purge_after": purge.isoformat(),
                },
            )
        )

    def priority(self, verified_id: str | None) -> int:
        """Seniors (from the verified ID) go first; FIFO within a priority."""
        today = dt.date.today()
        return caller_priority(verified_id, today, self.senior_age, self.senior_priority)


async def quietly(request: Any) -> None:
    """A request whose target may be gone already (normal in telephony)."""
    try:
        await request
    except AriError as exc:
        if not exc.gone and exc.status not in (409, 422):
            raise


async def hangup_quietly(ari: AriClient, channel_id: str) -> None:
    await quietly(ari.hangup(channel_id))
