"""Start, stop, inspect and restart one instance, by its lock and pid files.

`stop` and `status` never rely on who started what: the supervisor's lock names it, the
controller's lock names the controller (also when started by hand), Asterisk's and
PostgreSQL's own pid files name them.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from hotline import ownership
from hotline.parts import parts_of
from hotline.provision import asterisk, postgres
from hotline.settings import Settings
from hotline.supervisor import Supervisor

log = structlog.get_logger("supervisor")

Say = Callable[[str], None]


def supervisor_pid(settings: Settings) -> int | None:
    """The pid of the supervisor that owns the instance, or None if nobody does."""
    return ownership.holder(settings.state / ownership.INSTANCE_LOCK)


def controller_pid(settings: Settings) -> int | None:
    """The pid of the instance's controller, whoever started it."""
    return ownership.holder(settings.state / ownership.CONTROLLER_LOCK)


def health(settings: Settings) -> dict[str, Any] | None:
    """The controller's /health, or None when nothing answers."""
    url = f"http://{settings.management_url_host}:{settings.ports.http}/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            body: dict[str, Any] = json.loads(resp.read())
            return body
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
        return body
    except (OSError, ValueError):
        return None


def serve(
    settings: Settings, progress: Say, ready: Callable[[], None], controller_log: Path | None
) -> int:
    """Own the instance until SIGTERM/SIGINT: lock, prepare, start, supervise, stop.

    Returns 0, also when another supervisor already owns the instance (then nothing is
    touched: not even the rendered config).
    """
    from hotline.instance import prepare
    from hotline.store import migrate

    try:
        lock = ownership.acquire(settings.state / ownership.INSTANCE_LOCK)
    except ownership.Held as held:
        progress(
            f"instance {settings.instance} is already running (pid {held.pid}); nothing changed"
        )
        return 0
    try:
        instance = prepare(settings, progress)
        supervisor = Supervisor(
            settings, parts_of(settings, instance.secrets.pg_password, progress, controller_log)
        )
        supervisor.install_signal_handlers()
        try:
            if settings.database_url:
                migrate.upgrade(settings.database_url)
            supervisor.start_all(progress)
            if not supervisor.stopping.is_set():
                _wait_until_answering(settings, supervisor)
                ready()
                supervisor.serve_until_stopped()
        finally:
            stopped = supervisor.stop_all()
            progress("stopped " + ", ".join(f"{name} (pid {pid})" for name, pid in stopped))
    finally:
        lock.release()
    return 0


def _wait_until_answering(settings: Settings, supervisor: Supervisor) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not supervisor.stopping.is_set():
        body = health(settings)
        if body and body.get("ari_connected"):
            return
        time.sleep(0.2)


def stop(settings: Settings, say: Say) -> list[str]:
    """Stop every process of the instance, whoever started it; return what was stopped."""
    stopped: list[str] = []
    owner = supervisor_pid(settings)
    if owner is not None:
        state = ownership.read_state(settings.state) or {}
        children = [
            f"{name} (pid {part['pid']})"
            for name, part in state.get("parts", {}).items()
            if part.get("pid") and ownership.alive(part["pid"])
        ]
        say(f"stopping the supervisor (pid {owner}) and " + (", ".join(children) or "no parts"))
        ownership.terminate(owner, signal.SIGTERM, timeout=120)
        stopped += [f"supervisor (pid {owner})", *children]
    # Whatever is left: started by hand, or orphaned by a supervisor that was killed.
    pid = controller_pid(settings)
    if pid is not None:
        ownership.terminate(pid, signal.SIGTERM, timeout=30)
        stopped.append(f"controller (pid {pid})")
    pid = asterisk.running_pid(settings)
    if pid is not None:
        asterisk.stop(settings)
        if ownership.alive(pid):
            ownership.terminate(pid)
        stopped.append(f"asterisk (pid {pid})")
    pid = None if settings.database_url else postgres.running_pid(settings)
    if pid is not None:
        ownership.terminate(pid, signal.SIGINT, timeout=60)  # fast shutdown
        stopped.append(f"postgres (pid {pid})")
    return stopped


def status(settings: Settings) -> dict[str, Any]:
    """Who owns the instance, each part's pid, uptime and restarts, the controller's health."""
    now = time.time()
    owner = supervisor_pid(settings)
    state = ownership.read_state(settings.state) if owner is not None else None
    parts: dict[str, Any] = {}
    for name, part in (state or {}).get("parts", {}).items():
        up = bool(part.get("pid")) and ownership.alive(part["pid"])
        started = part.get("started_at")
        parts[name] = {
            "pid": part.get("pid"),
            "up": up,
            "uptime_seconds": round(now - started) if up and started else None,
            "restarts": part.get("restarts", 0),
            "status": part.get("status"),
            "last_exit": part.get("last_exit"),
        }
    if owner is None:  # unsupervised: say what runs anyway
        for name, pid in (
            ("postgres", None if settings.database_url else postgres.running_pid(settings)),
            ("asterisk", asterisk.running_pid(settings)),
            ("controller", controller_pid(settings)),
        ):
            parts[name] = {"pid": pid, "up": pid is not None, "supervised": False}
    return {
        "instance": settings.instance,
        "supervisor": {"pid": owner, "running": owner is not None},
        "parts": parts,
        "controller": health(settings),
    }


def restart_controller(settings: Settings, say: Say, timeout: float = 60) -> bool:
    """New controller code, same Asterisk: the supervisor stops the controller (SIGTERM: calls
    stay in Asterisk) and starts a new one, which adopts them. True once it is connected."""
    owner = supervisor_pid(settings)
    if owner is None:
        say(f"instance {settings.instance} has no supervisor: `hotline start` it first")
        return False
    before = controller_pid(settings)
    ownership.signal_process(owner, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        after = controller_pid(settings)
        body = health(settings) if after not in (None, before) else None
        if body and body.get("ari_connected") and not body.get("draining"):
            say(f"controller restarted (pid {before} -> {after}); calls in progress were kept")
            return True
        time.sleep(0.2)
    say(f"error: no new controller connected within {timeout:.0f} s; see the log")
    return False
