"""Asterisk for an instance: the cached Debian-sid chroot, its mounts, and the process itself.

Debian 12 has no asterisk package and sid's needs a newer libc, so Asterisk runs in a sid
chroot built once per machine with debootstrap and cached outside the clone (ASTERISK.md).
On a host that has Asterisk installed, the root is `/` and nothing is built.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from hotline.settings import Settings

PACKAGES = ("asterisk", "asterisk-core-sounds-en-gsm", "asterisk-moh-opsound-gsm")
READY_MARK = ".hotline-ready"
DEFAULT_MIRROR = "http://deb.debian.org/debian"

Progress = Callable[[str], None]

# Recordings, voice messages, logs and secrets are the citizens' and the service's alone:
# whatever the hotline or its Asterisk creates is never readable by other users.
PRIVATE_UMASK = 0o027
PRIVATE_DIR_MODE = 0o750


class ProvisionError(RuntimeError):
    """Setting up a dependency failed; the message says what to do."""


def _run(cmd: list[str], what: str, log: Path | None = None, timeout: float = 1800) -> None:
    out = log.open("ab") if log else subprocess.DEVNULL
    try:
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
    finally:
        if log and hasattr(out, "close"):
            out.close()
    if code != 0:
        hint = f"; see {log}" if log else ""
        raise ProvisionError(f"{what} failed (exit {code}){hint}")


def host_mirror() -> str:
    """The Debian mirror the host itself uses, so the chroot comes from a reachable place."""
    for path in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"^URIs:\s*(\S+/debian)/?\s*$", text, re.M) or re.search(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", text, re.M
        )
        if match:
            return match.group(1)
    return DEFAULT_MIRROR


def ensure_root(settings: Settings, progress: Progress) -> Path:
    """Make sure Asterisk's root exists; build and cache the chroot if needed (idempotent)."""
    root = settings.root
    if root == Path("/"):
        if not Path("/usr/sbin/asterisk").exists():
            raise ProvisionError("HOTLINE_ASTERISK_ROOT=/ but /usr/sbin/asterisk is missing")
        return root
    marker = root / READY_MARK
    if marker.exists() and marker.read_text().split() == list(PACKAGES):
        return root
    if os.geteuid() != 0:
        raise ProvisionError("building the Asterisk chroot needs root (debootstrap, chroot)")
    if shutil.which("debootstrap") is None:
        raise ProvisionError("debootstrap is missing: apt-get install debootstrap")
    root.parent.mkdir(parents=True, exist_ok=True)
    partial = root.with_name(root.name + ".partial")
    log = root.parent / "asterisk-root.log"
    if root.exists() and not partial.exists():
        root.rename(partial)  # an older build without our packages: extend it
    if not (partial / "usr/bin/apt-get").exists():
        shutil.rmtree(partial, ignore_errors=True)
        mirror = host_mirror()
        progress(f"building a Debian sid chroot for Asterisk from {mirror} (about a minute, once)")
        # Named explicitly: on Ubuntu debootstrap would check Debian's sid against Ubuntu's keys.
        keyring = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=ca-certificates",
                *([f"--keyring={keyring}"] if keyring.exists() else []),
                "sid",
                str(partial),
                mirror,
            ],
            "debootstrap of Debian sid",
            log,
        )
    progress("installing Asterisk into the chroot")
    # The sid Release file served here can be past its Valid-Until date.
    _run(
        ["chroot", str(partial), "apt-get", "-o", "Acquire::Check-Valid-Until=false", "update"],
        "apt-get update in the chroot",
        log,
    )
    _run(
        [
            "chroot",
            str(partial),
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            *PACKAGES,
        ],
        "installing Asterisk in the chroot",
        log,
    )
    (partial / READY_MARK).write_text(" ".join(PACKAGES) + "\n")
    partial.rename(root)
    progress(f"Asterisk chroot ready at {root}")
    return root


def _mounted(path: Path) -> bool:
    target = str(path.resolve())
    with open("/proc/mounts", encoding="utf-8") as mounts:
        return any(line.split()[1] == target for line in mounts)


def ensure_mounts(root: Path) -> None:
    """/proc and /dev inside the chroot, mounted once."""
    if root == Path("/"):
        return
    if not _mounted(root / "proc"):
        _run(["mount", "-t", "proc", "proc", str(root / "proc")], "mounting /proc in the chroot")
    if not _mounted(root / "dev"):
        _run(["mount", "--bind", "/dev", str(root / "dev")], "bind-mounting /dev in the chroot")
    hosts = root / "etc/hosts"
    name = socket.gethostname()
    wanted = f"127.0.0.1 localhost {name}\n::1 localhost ip6-localhost\n"
    # Without the host name here Asterisk looked it up on every call and calls piled up.
    if not hosts.exists() or hosts.read_text() != wanted:
        hosts.write_text(wanted)


def prepare_instance(settings: Settings) -> Path:
    """Create the instance's directories inside the root; return the host path of it."""
    inst = settings.on_host(settings.asterisk_dir)
    for sub in ("etc", "db", "run", "log/cdr-csv", "spool/recording", "spool/monitor", "sounds"):
        (inst / sub).mkdir(parents=True, exist_ok=True)
    # Calls are recorded here: made private even if an older version created them 0755.
    for sub in ("spool/recording", "spool/monitor"):
        (inst / sub).chmod(PRIVATE_DIR_MODE)
    return inst


def _in_root(settings: Settings, *argv: str) -> list[str]:
    conf = str(settings.asterisk_dir / "etc" / "asterisk.conf")
    cmd = ["asterisk", "-C", conf, *argv]
    return cmd if settings.root == Path("/") else ["chroot", str(settings.root), *cmd]


def cli(settings: Settings, command: str, timeout: float = 30) -> str:
    """Run one Asterisk CLI command on the running instance."""
    run = subprocess.run(
        _in_root(settings, "-rx", command),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if run.returncode != 0:
        raise ProvisionError(f"asterisk -rx {command!r}: {run.stderr.strip() or run.stdout}")
    return run.stdout


def is_running(settings: Settings) -> bool:
    """Whether this instance's Asterisk answers on its control socket."""
    try:
        cli(settings, "core show version", timeout=5)
    except (ProvisionError, subprocess.TimeoutExpired):
        return False
    return True


def start(settings: Settings, progress: Progress) -> subprocess.Popen[bytes]:
    """Start Asterisk in the foreground as a child process; return once fully booted."""
    inst = settings.on_host(settings.asterisk_dir)
    log = (inst / "log" / "console.log").open("ab")
    proc = subprocess.Popen(
        _in_root(settings, "-f", "-n", "-q"),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C goes to us; we stop Asterisk in order
        umask=PRIVATE_UMASK,  # Asterisk has no setting for the mode of what it records
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ProvisionError(f"Asterisk exited with {proc.returncode}; see {inst}/log")
        try:
            cli(settings, "core waitfullybooted", timeout=10)
            progress(f"Asterisk running (pid {proc.pid})")
            return proc
        except (ProvisionError, subprocess.TimeoutExpired):
            time.sleep(0.3)
    proc.kill()
    raise ProvisionError(f"Asterisk did not finish booting in 60 s; see {inst}/log")


def stop(settings: Settings, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Stop this instance's Asterisk (gracefully, then by signal)."""
    try:
        cli(settings, "core stop now", timeout=10)
    except (ProvisionError, subprocess.TimeoutExpired):
        if proc is not None and proc.poll() is None:
            proc.terminate()
    if proc is not None:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def running_pid(settings: Settings) -> int | None:
    """The pid of this instance's Asterisk from its pid file, if it answers on its socket."""
    try:
        pid = int((settings.on_host(settings.asterisk_dir) / "run" / "asterisk.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid if is_running(settings) else None
