"""The load's phones: SIPp callers at a rate, and one SIPp desk phone answering for every agent.

Shared by the load benchmark (bench/load.py) and the CI guard (tests/e2e/test_load_guard.py):
the callers' steps, how SIPp is run for many calls, and how its counts are read.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tests.support.phones import ANSWER, CAPTURE_DIALOG, HANG_UP_AFTER, REGISTER, UAS_HEAD
from tests.support.sipp import (
    Keys,
    KeysUntilHangup,
    Pause,
    Speak,
    Step,
    caller_scenario,
    free_media_port,
    free_udp_port,
)

HOTLINE = "12333"  # the controller's menu (Stasis)
NATIVE = "12399"  # the same flow in plain dialplan + app_queue (bench/native.py)
OPEN_FILES = 65536  # SIPp keeps sockets and pcap threads per call


def menu_steps(stay_ms: int = 6000) -> list[Step]:
    """Menu traffic: answered, hears the welcome and the main menu, hangs up."""
    return [Pause(stay_ms)]


def full_flow_steps(talk_ms: int = 10_000) -> list[Step]:
    """Main menu 0 (a person), then 1 (social insurance); talk (8 s of speech) while the
    agent's phone echoes; about when the agent hangs up (after talk_ms), press 2 (fairly
    satisfied) until the hotline hangs up ("1" would be the callback key while waiting)."""
    return [
        Pause(1500),
        Keys("0"),
        Pause(1200),
        Keys("1"),
        Speak(max(8500, talk_ms - 500)),
        KeysUntilHangup("2", every_ms=2500, times=12),
    ]


def _raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


def _log_file(cwd: Path, log: Path) -> BinaryIO:
    cwd.mkdir(parents=True, exist_ok=True)
    return log.open("wb")


async def sipp(*args: str, cwd: Path, log: Path) -> asyncio.subprocess.Process:
    """SIPp on loopback, no keyboard, with room for many calls' sockets."""
    with _log_file(cwd, log) as out:
        return await asyncio.create_subprocess_exec(
            "sipp",
            "-nostdin",
            "-i",
            "127.0.0.1",
            *args,
            cwd=cwd,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_raise_open_files,
        )


@dataclass
class Counts:
    """What SIPp's statistics file says about a run of calls."""

    created: int = 0
    successful: int = 0
    failed: int = 0
    max_current: int = 0

    @property
    def left_over(self) -> int:
        """Calls neither completed nor failed when SIPp stopped (counted as failures)."""
        return max(0, self.created - self.successful - self.failed)

    @property
    def failures(self) -> int:
        """Failed calls, leftovers included."""
        return self.failed + self.left_over


def stat_rows(stat_file: Path) -> list[dict[str, str]]:
    """The rows of SIPp's -trace_stat file (one a second), oldest first."""
    if not stat_file.exists():
        return []
    with stat_file.open() as f:
        return list(csv.DictReader(f, delimiter=";"))


def read_counts(rows: list[dict[str, str]], before: dict[str, str] | None = None) -> Counts:
    """Totals from the last row (minus those of `before`), the peak of CurrentCall."""
    counts = Counts()
    for row in rows:
        with contextlib.suppress(KeyError, ValueError):
            counts.max_current = max(counts.max_current, int(row["CurrentCall"]))
    if rows:
        last = rows[-1]
        for attr, column in (
            ("created", "TotalCallCreated"),
            ("successful", "SuccessfulCall(C)"),
            ("failed", "FailedCall(C)"),
        ):
            value = int(last[column]) - (int(before[column]) if before else 0)
            setattr(counts, attr, value)
    return counts


@dataclass
class CallerLoad:
    """One SIPp placing `calls` calls at `rate` a second to `service`, all with `steps`."""

    sip_port: int
    work_dir: Path
    steps: list[Step]
    rate: float
    calls: int
    service: str = HOTLINE
    numbers: int = 1000  # distinct calling numbers, used in turn
    proc: asyncio.subprocess.Process | None = None
    seconds_allowed: int = 0

    async def start(self) -> None:
        """Begin placing calls (returns at once)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        scenario = self.work_dir / "caller.xml"
        scenario.write_text(caller_scenario(self.steps, self.work_dir))
        inf = self.work_dir / "callers.csv"
        inf.write_text("SEQUENTIAL\n" + "".join(f"139{n:08d};\n" for n in range(self.numbers)))
        # Every run is bounded: SIPp stops itself this long after the last call is placed.
        self.seconds_allowed = int(self.calls / self.rate) + 90
        self.proc = await sipp(
            "-sf", str(scenario), "-inf", str(inf), "-s", self.service,
            "-m", str(self.calls), "-r", str(self.rate), "-rp", "1000",
            "-p", str(free_udp_port()), "-mi", "127.0.0.1", "-mp", str(free_media_port()),
            "-timeout", f"{self.seconds_allowed}s", "-timeout_error",
            "-trace_stat", "-stf", str(self.work_dir / "stat.csv"), "-fd", "1",
            "-trace_err", "-error_file", str(self.work_dir / "errors.log"),
            f"127.0.0.1:{self.sip_port}",
            cwd=self.work_dir, log=self.work_dir / "sipp.out",
        )  # fmt: skip

    async def finish(self) -> Counts:
        """Wait for the last call to end (killing SIPp past its bound); the counts."""
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), self.seconds_allowed + 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        return read_counts(stat_rows(self.work_dir / "stat.csv"))

    async def stop(self) -> None:
        """Stop SIPp now (Ctrl-C, a failure elsewhere)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@dataclass
class AgentPhones:
    """Every agent's desk phone at once: one SIPp UAS answers all their calls, echoes the
    caller's audio (so recordings have both voices) and hangs up after `talk_ms`; one
    REGISTER run points every agent's account at it."""

    sip_port: int
    work_dir: Path
    accounts: dict[str, str]  # agent -> SIP password
    talk_ms: int = 10_000
    ring_ms: int = 100
    uas_port: int = 0
    proc: asyncio.subprocess.Process | None = None
    helpers: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def start(self) -> None:
        """Start the UAS, then register every account at it."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.uas_port = free_udp_port()
        uas = self.work_dir / "agents-uas.xml"
        body = ANSWER.format(ring_ms=self.ring_ms, user="agent")
        uas.write_text(
            UAS_HEAD.format(captures=CAPTURE_DIALOG)
            + body
            + HANG_UP_AFTER.format(talk_ms=self.talk_ms)
        )
        # -m counts OPTIONS qualify pings too: a bound well past any run. Each ping also
        # starts a "call" waiting for an INVITE that never comes (-aa answers the ping):
        # -recv_timeout ends those after 30 s (a real call's ACK or 200 comes in ms).
        self.proc = await sipp(
            "-sf", str(uas), "-p", str(self.uas_port), "-m", "10000000", "-aa",
            "-recv_timeout", "30000",
            "-mi", "127.0.0.1", "-mp", str(free_media_port()), "-rtp_echo",
            "-trace_stat", "-stf", str(self.work_dir / "uas-stat.csv"), "-fd", "1",
            "-trace_err", "-error_file", str(self.work_dir / "uas.err"),
            cwd=self.work_dir, log=self.work_dir / "uas.out",
        )  # fmt: skip
        await self.register(expires=3600)

    async def register(self, expires: int) -> None:
        """One REGISTER per account (digest auth), 25 at a time; expires 0 unregisters.
        One short SIPp per account: SIPp 3.6 cannot take a digest username from a CSV field
        (`[authentication username=[field0]]` is not parsed), but takes -s/-ap per run."""
        scenario = self.work_dir / f"register-{expires}.xml"
        text = REGISTER.format(
            user="[service]", password="-", contact_port=self.uas_port, expires=expires
        )
        scenario.write_text(
            text.replace("[authentication username=[service] password=-]", "[authentication]")
        )
        failed: list[str] = []
        accounts = list(self.accounts.items())
        for first in range(0, len(accounts), 25):
            batch = accounts[first : first + 25]
            procs = [
                await sipp(
                    "-sf",
                    str(scenario),
                    "-s",
                    user,
                    "-ap",
                    password,
                    "-m",
                    "1",
                    "-p",
                    str(free_udp_port()),
                    "-timeout",
                    "30s",
                    "-timeout_error",
                    f"127.0.0.1:{self.sip_port}",
                    cwd=self.work_dir,
                    log=self.work_dir / f"register-{user}.out",
                )
                for user, password in batch
            ]
            self.helpers += procs
            codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), 60)
            failed += [user for (user, _), code in zip(batch, codes, strict=True) if code != 0]
        if failed:
            raise RuntimeError(f"{len(failed)} agents' phones could not register: {failed[:5]}")

    async def stop(self, unregister: bool = True) -> None:
        """Unregister (unless Asterisk is already gone) and stop the UAS."""
        if unregister and self.proc is not None:
            with contextlib.suppress(RuntimeError, TimeoutError):
                await self.register(expires=0)
        for proc in [*self.helpers, *([self.proc] if self.proc else [])]:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
