"""The instance lock: one holder, named in the file, released when its holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotline import ownership

HOLD = """
import sys, time
from pathlib import Path
from hotline import ownership
lock = ownership.acquire(Path(sys.argv[1]))  # kept: a dropped Lock releases it
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_owner_is_refused_and_told_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "instance.lock"
    lock = ownership.acquire(path)
    assert ownership.holder(path) == os.getpid()
    with pytest.raises(ownership.Held) as refused:
        ownership.acquire(path)
    assert refused.value.pid == os.getpid()
    lock.release()
    assert ownership.holder(path) is None
    ownership.acquire(path).release()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "instance.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert ownership.holder(path) == holder.pid
        holder.send_signal(signal.SIGKILL)  # as a crash would
        holder.wait(timeout=10)
        assert path.read_text().strip() == str(holder.pid)  # the file stays, meaningless
        assert ownership.holder(path) is None
        ownership.acquire(path).release()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not ownership.alive(child.pid)  # exited, not yet reaped
    child.wait()
    assert not ownership.alive(child.pid)
