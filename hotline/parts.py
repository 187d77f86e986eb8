"""The parts a supervisor keeps running: the private PostgreSQL, Asterisk and the controller.

Each part starts as a child of the supervisor in the foreground (never a daemon that forks
away), so its death is seen at once; one already running (left by a supervisor that was
killed, or a controller started by hand) is adopted by its pid instead of started twice.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hotline import ownership
from hotline.provision import asterisk, postgres
from hotline.provision.asterisk import Progress, ProvisionError
from hotline.settings import Settings
from hotline.store import migrate


@dataclass
class Running:
    """One run of a part: our child, or a process we adopted (then proc is None)."""

    pid: int
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = field(default_factory=time.time)

    @property
    def adopted(self) -> bool:
        """Started by someone else; we only watch its pid."""
        return self.proc is None

    def alive(self) -> bool:
        """Whether it still runs."""
        if self.proc is not None:
            return self.proc.poll() is None
        return ownership.alive(self.pid)

    def wait(self, poll: float = 0.2) -> str:
        """Block until it exits; say how it ended."""
        if self.proc is not None:
            code = self.proc.wait()
            if code < 0:
                return f"killed by {signal.Signals(-code).name}"
            return f"exit {code}"
        while ownership.alive(self.pid):
            time.sleep(poll)
        return "gone (not our child: exit status unknown)"


class Part:
    """Something the supervisor keeps running."""

    name = "part"

    def find(self) -> int | None:
        """The pid of one already running that we did not start, if any."""
        raise NotImplementedError

    def start(self) -> Running:
        """Start it; return once it serves (raise ProvisionError if it cannot)."""
        raise NotImplementedError

    def adopt(self, pid: int) -> Running:
        """Take over one already running."""
        return Running(pid=pid)

    def stop(self, run: Running) -> None:
        """Stop it and wait until it is gone."""
        ownership.terminate(run.pid)
        if run.proc is not None:
            run.proc.wait()


@dataclass
class PostgresPart(Part):
    """The private cluster: `postgres` in the foreground as the postgres user."""

    settings: Settings
    password: str
    progress: Progress
    set_up: bool = False  # role password, database and migrations: once per supervisor
    name = "postgres"

    def find(self) -> int | None:
        """The postmaster of this cluster, whoever started it (pg_ctl, an earlier run)."""
        return postgres.running_pid(self.settings)

    def start(self) -> Running:
        """Start the postmaster and wait until it accepts connections."""
        postgres.ensure_cluster(self.settings, self.password, self.progress)
        proc = postgres.start_foreground(self.settings)
        self.progress(f"PostgreSQL running on 127.0.0.1:{self.settings.ports.pg}")
        self._set_up()
        return Running(pid=proc.pid, proc=proc)

    def adopt(self, pid: int) -> Running:
        """Keep the running cluster; make sure the database is set up and migrated."""
        self._set_up()
        return Running(pid=pid)

    def _set_up(self) -> None:
        if not self.set_up:
            migrate.upgrade(postgres.finish_setup(self.settings, self.password))
            self.set_up = True

    def stop(self, run: Running) -> None:
        """Fast shutdown (SIGINT): open transactions roll back, the data stays consistent."""
        ownership.terminate(run.pid, signal.SIGINT, timeout=60)
        if run.proc is not None:
            run.proc.wait()


@dataclass
class AsteriskPart(Part):
    """Asterisk in the foreground (`asterisk -f`) in its root."""

    settings: Settings
    progress: Progress
    name = "asterisk"

    def find(self) -> int | None:
        """The instance's Asterisk if it answers on its control socket."""
        return asterisk.running_pid(self.settings)

    def start(self) -> Running:
        """Start it and wait until fully booted (ARI, AMI and SIP listen)."""
        asterisk.ensure_mounts(self.settings.root)
        proc = asterisk.start(self.settings, self.progress)
        return Running(pid=proc.pid, proc=proc)

    def adopt(self, pid: int) -> Running:
        """Keep the running Asterisk (and its calls); load the config just rendered."""
        self.progress(f"Asterisk already running (pid {pid}): reloading its configuration")
        asterisk.cli(self.settings, "core reload")
        return Running(pid=pid)

    def stop(self, run: Running) -> None:
        """`core stop now`, then signals."""
        asterisk.stop(self.settings, run.proc)
        if run.proc is None and ownership.alive(run.pid):
            ownership.terminate(run.pid)


@dataclass
class ControllerPart(Part):
    """`hotline controller` as a child; it holds controller.lock while it runs."""

    settings: Settings
    log_file: Path | None = None  # detached: its own rotating log
    name = "controller"

    @property
    def lock_path(self) -> Path:
        """The controller's own lock file."""
        return self.settings.state / ownership.CONTROLLER_LOCK

    def find(self) -> int | None:
        """A controller already running for this instance (e.g. started by hand)."""
        return ownership.holder(self.lock_path)

    def start(self) -> Running:
        """Start it (or adopt one a person started meanwhile); return once it holds its lock."""
        other = self.find()
        if other is not None:
            return self.adopt(other)
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "hotline.cli", "controller"),
                *("--instance", self.settings.instance),
                *(("--log-file", str(self.log_file)) if self.log_file else ()),
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to the supervisor, which stops it in order
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if ownership.holder(self.lock_path) == proc.pid:
                return Running(pid=proc.pid, proc=proc)
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        raise ProvisionError(f"the controller exited with {proc.wait()} before it started")

    def stop(self, run: Running) -> None:
        """SIGTERM: it stops taking calls and leaves calls in progress in Asterisk."""
        ownership.terminate(run.pid, signal.SIGTERM, timeout=30)
        if run.proc is not None:
            run.proc.wait()

    def nudge(self, run: Running) -> None:
        """Asterisk is back: reconnect now rather than at the end of the ARI backoff."""
        ownership.signal_process(run.pid, signal.SIGUSR1)


def parts_of(
    settings: Settings, pg_password: str, progress: Progress, controller_log: Path | None = None
) -> list[Part]:
    """The parts of an instance, in start order (PostgreSQL only when it is ours)."""
    parts: list[Part] = []
    if not settings.database_url:
        parts.append(PostgresPart(settings, pg_password, progress))
    parts.append(AsteriskPart(settings, progress))
    parts.append(ControllerPart(settings, controller_log))
    return parts
