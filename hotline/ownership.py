"""One instance, one owner: flock'ed lock files that name the process holding them.

`.local/<instance>/instance.lock` is held by the supervisor (`hotline start`) for its
lifetime, `controller.lock` by the controller, however it was started. The kernel drops a
flock when its holder dies, even by SIGKILL, so a stale file never blocks a start; the pid
written inside says who holds it, for `stop` and `status`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

INSTANCE_LOCK = "instance.lock"
CONTROLLER_LOCK = "controller.lock"
STATE_FILE = "supervisor.json"


class Held(RuntimeError):
    """Someone else holds the lock."""

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is held by pid {pid}")
        self.pid = pid


@dataclass
class Lock:
    """A held lock file; released when closed or when the process dies."""

    path: Path
    handle: IO[str]

    def release(self) -> None:
        """Give the lock up (the file stays; an unheld file means nothing)."""
        self.handle.close()


def acquire(path: Path) -> Lock:
    """Take the lock at once or raise Held naming its holder; write our pid into it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Opened without truncating: the holder's pid must stay readable while we try.
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115  (kept open: it is the lock)
    for attempt in range(5):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            # `holder` takes a shared lock for an instant: only a real holder stays.
            if attempt == 4 or holder(path) is not None:
                handle.close()
                raise Held(path, holder(path)) from None
            time.sleep(0.02)
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return Lock(path=path, handle=handle)


def holder(path: Path) -> int | None:
    """The pid holding the lock at path, or None when nobody holds it."""
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        # "pid (comm) S ...": the state follows the last parenthesis.
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def terminate(pid: int, sig: int = signal.SIGTERM, timeout: float = 30) -> bool:
    """Signal pid and wait until it is gone; SIGKILL after timeout. False if it was gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
        time.sleep(0.1)
    return True


def write_state(state_dir: Path, state: dict[str, Any]) -> None:
    """The supervisor's view of its parts, replaced atomically (readers never see half)."""
    path = state_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_state(state_dir: Path) -> dict[str, Any] | None:
    """What the supervisor last wrote, or None."""
    try:
        result: dict[str, Any] = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result


def signal_process(pid: int, sig: int) -> bool:
    """Send sig to pid; False if it is gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True
