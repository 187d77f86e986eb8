"""The detached instance's log: size-bounded, rotated, and readable by its owner and group only.

A detached `hotline start` writes to fds 1 and 2, and so do the processes it starts (they
inherit them). A logging handler would see only Python's own lines, so the process's fds 1
and 2 are pointed at a pipe instead, and one thread copies the pipe into a rotating file.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5  # hotline.log.1 … hotline.log.5: at most 60 MiB per instance
MODE = 0o640  # never world-readable: lines may name callers' numbers


def open_log(path: Path) -> int:
    """Open path for appending, created (or corrected) to MODE; returns the fd."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, MODE)
    os.fchmod(fd, MODE)  # a log made by an older version may be 0644
    return fd


class RotatingLog:
    """Appends bytes to path; before a write would pass max_bytes, shifts path to path.1 …"""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        self.fd = open_log(path)
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes) -> None:
        """Append data; what does not fit goes to a fresh file, split after a line if possible."""
        while data:
            room = self.max_bytes - self.size
            if len(data) <= room:
                part, data = data, b""
            else:
                cut = data.rfind(b"\n", 0, room) + 1
                if cut == 0 and self.size:
                    self.rotate()  # no whole line fits: start it in a fresh file
                    continue
                cut = cut or room  # a line longer than a whole file is cut
                part, data = data[:cut], data[cut:]
            os.write(self.fd, part)
            self.size += len(part)
            if data:
                self.rotate()

    def rotate(self) -> None:
        """path.(n-1) → path.n, …, path → path.1; the oldest beyond `backups` is dropped."""
        os.close(self.fd)
        for n in range(self.backups, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n - 1}") if n > 1 else self.path
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n}"))
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
        self.fd = open_log(self.path)
        self.size = 0

    def close(self) -> None:
        """Close the current file."""
        os.close(self.fd)


def _copy(read_fd: int, log: RotatingLog) -> None:
    while chunk := os.read(read_fd, 65536):
        log.write(chunk)
    log.close()


def redirect_output(path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
    """From now on this process's stdout and stderr (and its children's) go to a rotating log."""
    log = RotatingLog(path, max_bytes, backups)
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    copier = threading.Thread(target=_copy, args=(read_fd, log), name="log-copier", daemon=True)
    copier.start()

    def finish() -> None:
        # The copier ends at EOF, once our ends of the pipe are closed (children may hold
        # theirs a little longer: they are not waited for).
        sys.stdout.flush()
        sys.stderr.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        copier.join(timeout=2)

    atexit.register(finish)
