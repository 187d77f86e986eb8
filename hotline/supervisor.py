"""One supervisor per instance: it owns PostgreSQL, Asterisk and the controller as children.

`hotline start` (foreground or detached) runs it. It holds `.local/<instance>/instance.lock`
for its lifetime, so a second `start` finds the instance running and changes nothing. A part
that dies is started again by its own watcher thread after the delay of a RestartPolicy
(quick after a long run, slower when it keeps dying, a crash loop reported and slowed), every
restart logged and counted in `supervisor.json` beside the lock, which `hotline status` and
the controller's /metrics read. SIGTERM/SIGINT stop the parts in reverse order; SIGUSR1
restarts the controller only (new code, same Asterisk: calls stay up and are adopted).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import structlog

from hotline import ownership
from hotline.parts import ControllerPart, Part, Running
from hotline.provision.asterisk import ProvisionError
from hotline.restarts import RestartPolicy
from hotline.settings import Settings

log = structlog.get_logger("supervisor")

START_ERRORS = (ProvisionError, OSError, subprocess.SubprocessError)


@dataclass
class PartState:
    """What the supervisor knows about one part."""

    part: Part
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    run: Running | None = None
    restarts: int = 0
    status: str = "starting"  # up | restarting | crash_loop | stopped
    last_exit: str | None = None
    last_exit_at: float | None = None
    restart_requested: bool = False
    thread: threading.Thread | None = None


class Supervisor:
    """Starts the parts in order, restarts any that dies, stops them in reverse order."""

    def __init__(
        self,
        settings: Settings,
        parts: list[Part],
        policy: Callable[[], RestartPolicy] = RestartPolicy,
    ) -> None:
        self.settings = settings
        self.states = {p.name: PartState(part=p, policy=policy()) for p in parts}
        self.stopping = threading.Event()
        self.started_at = time.time()
        self._lock = threading.RLock()
        self._requests: set[str] = set()

    # --- signals: handlers only note what was asked; the main loop acts
    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop the instance, SIGUSR1 restarts the controller."""
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGUSR1, self._on_restart_signal)

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("stop_requested", signal=signal.Signals(signum).name)
        self.stopping.set()

    def _on_restart_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._requests.add("controller")

    # --- lifecycle
    def start_all(self, progress: Callable[[str], None]) -> None:
        """Start (or adopt) each part in order; raise ProvisionError if one cannot start."""
        for state in self.states.values():
            if self.stopping.is_set():
                return
            part = state.part
            pid = part.find()
            run = part.adopt(pid) if pid is not None else part.start()
            with self._lock:
                state.run, state.status = run, "up"
            log.info("part_started", part=part.name, pid=run.pid, adopted=run.adopted)
            progress(
                f"{part.name}: pid {run.pid}{' (already running, kept)' if run.adopted else ''}"
            )
            self.write_state()
        for state in self.states.values():
            state.thread = threading.Thread(
                target=self._watch, args=(state,), name=f"watch-{state.part.name}", daemon=True
            )
            state.thread.start()

    def serve_until_stopped(self) -> None:
        """Block until SIGTERM/SIGINT, carrying out restart requests meanwhile."""
        while not self.stopping.wait(0.2):
            while self._requests:
                self.restart(self._requests.pop())

    def restart(self, name: str) -> None:
        """Stop a part on request; its watcher starts it again at once (no backoff)."""
        state = self.states.get(name)
        if state is None:
            return
        with self._lock:
            run = state.run
            if run is None:
                return
            state.restart_requested = True
        log.info("part_restart_requested", part=name, pid=run.pid)
        threading.Thread(target=state.part.stop, args=(run,), daemon=True).start()

    def stop_all(self) -> list[tuple[str, int]]:
        """Stop every part, controller first; return (part, pid) of what was stopped."""
        self.stopping.set()
        stopped = []
        for state in reversed(list(self.states.values())):
            with self._lock:
                run = state.run
            if run is not None and run.alive():
                log.info("part_stopping", part=state.part.name, pid=run.pid)
                try:
                    state.part.stop(run)
                except START_ERRORS as exc:
                    log.warning("part_stop_failed", part=state.part.name, error=str(exc)[:200])
                stopped.append((state.part.name, run.pid))
            with self._lock:
                state.status, state.run = "stopped", None
            self.write_state()
        for state in self.states.values():
            if state.thread is not None:
                state.thread.join(timeout=90)  # a start under way finishes, then stops itself
        return stopped

    # --- one watcher thread per part
    def _watch(self, state: PartState) -> None:
        part = state.part
        while not self.stopping.is_set():
            run = state.run
            if run is not None:
                how = run.wait()
                if self.stopping.is_set():
                    return
                ran_for = time.time() - run.started_at
            else:  # the last start failed
                how, ran_for = state.last_exit or "failed to start", 0.0
            with self._lock:
                requested, state.restart_requested = state.restart_requested, False
                state.run, state.last_exit, state.last_exit_at = None, how, time.time()
            if requested:
                delay = 0.0
            else:
                decision = state.policy.after_exit(time.monotonic(), ran_for)
                delay = decision.delay
                state.status = "crash_loop" if decision.crash_loop else "restarting"
                report = log.error if decision.crash_loop else log.warning
                report(
                    "part_crash_loop" if decision.crash_loop else "part_exited",
                    part=part.name,
                    how=how,
                    ran_for=round(ran_for, 1),
                    restart_in=round(delay, 2),
                    exits_in_window=decision.exits_in_window,
                )
            self.write_state()
            if self.stopping.wait(delay):
                return
            try:
                new = part.start()
            except START_ERRORS as exc:
                state.last_exit = f"failed to start: {str(exc)[:200]}"
                log.warning("part_start_failed", part=part.name, error=str(exc)[:200])
                continue
            with self._lock:
                late = self.stopping.is_set()  # stop_all ran while we were starting it
                if not late:
                    state.run, state.status = new, "up"
                    state.restarts += 1
            if late:
                part.stop(new)
                return
            log.info(
                "part_restarted",
                part=part.name,
                pid=new.pid,
                restarts=state.restarts,
                requested=requested,
            )
            self.write_state()
            self._after_restart(part.name)

    def _after_restart(self, name: str) -> None:
        controller = self.states.get("controller")
        if name == "asterisk" and controller is not None:
            with self._lock:
                run = controller.run
            if run is not None and isinstance(controller.part, ControllerPart):
                controller.part.nudge(run)

    # --- the state file
    def snapshot(self) -> dict[str, Any]:
        """Everything `status` and /metrics show, as JSON-ready data."""
        with self._lock:
            return {
                "instance": self.settings.instance,
                "supervisor_pid": os.getpid(),
                "started_at": self.started_at,
                "updated_at": time.time(),
                "stopping": self.stopping.is_set(),
                "parts": {
                    name: {
                        "pid": s.run.pid if s.run else None,
                        "adopted": s.run.adopted if s.run else False,
                        "started_at": s.run.started_at if s.run else None,
                        "status": s.status,
                        "restarts": s.restarts,
                        "last_exit": s.last_exit,
                        "last_exit_at": s.last_exit_at,
                    }
                    for name, s in self.states.items()
                },
            }

    def write_state(self) -> None:
        """Replace supervisor.json with the current snapshot."""
        with self._lock:
            ownership.write_state(self.settings.state, self.snapshot())
