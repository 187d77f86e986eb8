"""A private PostgreSQL cluster for an instance, used when DATABASE_URL is not set.

initdb and pg_ctl refuse to run as root, so the cluster runs as the `postgres` user, in a
folder it can enter (root's home is 0700), on a port of the instance at the management
address (loopback unless HOTLINE_MANAGEMENT_ADDRESS moves it).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg

from hotline.provision.asterisk import Progress, ProvisionError
from hotline.settings import Settings

OWNER = "postgres"
ROLE = "hotline"


def _bin_dir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    if not versions:
        raise ProvisionError("PostgreSQL server binaries not found: apt-get install postgresql")
    return versions[-1].parent


def _as_owner(cmd: list[str], what: str) -> str:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", OWNER, "--", *cmd]
    run = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if run.returncode != 0:
        raise ProvisionError(f"{what} failed: {(run.stderr or run.stdout).strip()}")
    return run.stdout


def database_url(settings: Settings, password: str) -> str:
    """The SQLAlchemy URL of the private cluster."""
    host = settings.management_url_host
    return f"postgresql+asyncpg://{ROLE}:{password}@{host}:{settings.ports.pg}/hotline"


def ensure_running(settings: Settings, password: str, progress: Progress) -> str:
    """Create (once) and start the private cluster as a daemon; return its database URL."""
    base = settings.pg_dir
    data = base / "data"
    bindir = ensure_cluster(settings, password, progress)
    status = subprocess.run(
        ["runuser", "-u", OWNER, "--", str(bindir / "pg_ctl"), "-D", str(data), "status"],
        capture_output=True,
        check=False,
    )
    if _allow_management_address(data, settings.management_address) and status.returncode == 0:
        _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "reload"], "reloading pg_hba.conf")
    if status.returncode != 0:
        _as_owner(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "postgres.log"),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(_server_options(settings)),
                "start",
            ],
            f"starting PostgreSQL (see {base}/postgres.log)",
        )
        progress(f"PostgreSQL running on {settings.management_address}:{settings.ports.pg}")
    return finish_setup(settings, password)


def _server_options(settings: Settings) -> list[str]:
    return [
        f"-p {settings.ports.pg}",
        f"-k {settings.pg_dir}",
        f"-c listen_addresses={settings.management_address}",
        "-c max_connections=100",
        "-c fsync=on",
    ]


def ensure_cluster(settings: Settings, password: str, progress: Progress) -> Path:
    """Create the private cluster once (initdb as `postgres`); return the server's bin dir."""
    base = settings.pg_dir
    data = base / "data"
    try:
        owner = pwd.getpwnam(OWNER)
    except KeyError as exc:
        raise ProvisionError(f"user {OWNER!r} missing: apt-get install postgresql") from exc
    bindir = _bin_dir()
    if not (data / "PG_VERSION").exists():
        progress(f"creating a private PostgreSQL cluster in {data}")
        shutil.rmtree(data, ignore_errors=True)
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base.parent, 0o755)
        os.chown(base, owner.pw_uid, owner.pw_gid)
        os.chmod(base, 0o700)
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n")
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        os.chmod(pwfile, 0o600)
        try:
            _as_owner(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    ROLE,
                    f"--pwfile={pwfile}",
                    # The socket sits in a 0700 folder of `postgres`: only it (and root) can
                    # reach it, which lets us reset the password after secrets were remade.
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
    return bindir


def start_foreground(settings: Settings, timeout: float = 60) -> subprocess.Popen[bytes]:
    """The postmaster itself as our child (not pg_ctl's daemon): the supervisor sees it die.

    Returns once it accepts connections; raises ProvisionError if it exits first, e.g.
    while the backends of a killed postmaster still hold its shared memory (retry later).
    """
    base, bindir = settings.pg_dir, _bin_dir()
    _allow_management_address(base / "data", settings.management_address)
    command = [str(bindir / "postgres"), "-D", str(base / "data")]
    for option in _server_options(settings):
        command += option.split(" ", 1)
    with (base / "postgres.log").open("ab") as log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=base,
            **_as_owner_kwargs(),
            start_new_session=True,  # Ctrl-C goes to the supervisor, which stops it in order
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ProvisionError(
                f"PostgreSQL exited with {proc.returncode}; see {base}/postgres.log"
            )
        port = str(settings.ports.pg)
        ready = subprocess.run(
            [str(bindir / "pg_isready"), "-q", "-h", settings.management_host, "-p", port],
            check=False,
            timeout=10,
        )
        if ready.returncode == 0:
            return proc
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    raise ProvisionError(f"PostgreSQL not ready in {timeout:.0f} s; see {base}/postgres.log")


def _as_owner_kwargs() -> dict[str, Any]:
    """Popen arguments that run a child as `postgres` (as runuser would) when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": OWNER, "group": OWNER, "extra_groups": []}


def running_pid(settings: Settings) -> int | None:
    """The postmaster's pid from its lock file, if that process is alive."""
    try:
        first = (settings.pg_dir / "data" / "postmaster.pid").read_text().split("\n", 1)[0]
        pid = int(first)
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def finish_setup(settings: Settings, password: str) -> str:
    """On a running cluster: the role's password and the database; return its URL."""
    _sync_password(_bin_dir(), settings.pg_dir, settings.ports.pg, password)
    asyncio.run(_ensure_database(settings, password))
    return database_url(settings, password)


def _allow_management_address(data: Path, address: str) -> bool:
    """initdb lets password logins in from loopback only; the controller connects from the
    management address when it was moved off loopback. Returns whether a line was added."""
    if address in ("127.0.0.1", "::1", "0.0.0.0", "::"):
        return False
    mask = 128 if ":" in address else 32
    line = f"host hotline,postgres {ROLE} {address}/{mask} scram-sha-256\n"
    hba = data / "pg_hba.conf"
    if line in hba.read_text():
        return False
    with hba.open("a") as out:
        out.write(line)
    return True


def _sync_password(bindir: Path, base: Path, port: int, password: str) -> None:
    """The role's password follows the secrets file (it may have been made anew)."""
    run = subprocess.run(
        [
            "runuser",
            "-u",
            OWNER,
            "--",
            str(bindir / "psql"),
            "-h",
            str(base),
            "-p",
            str(port),
            "-U",
            ROLE,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-f",
            "-",
        ],
        input=f"ALTER ROLE {ROLE} PASSWORD '{password}';\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if run.returncode != 0:
        raise ProvisionError(
            f"could not set the database password through {base} ({run.stderr.strip()}); "
            f"if this cluster predates this version, stop it and remove {base}"
        )


async def _ensure_database(settings: Settings, password: str) -> None:
    conn = await asyncpg.connect(
        host=settings.management_host,
        port=settings.ports.pg,
        user=ROLE,
        password=password,
        database="postgres",
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'hotline'"):
            await conn.execute("CREATE DATABASE hotline")
    finally:
        await conn.close()


def stop(settings: Settings) -> None:
    """Stop the private cluster if it runs."""
    data = settings.pg_dir / "data"
    if (data / "PG_VERSION").exists():
        subprocess.run(
            [
                "runuser",
                "-u",
                OWNER,
                "--",
                str(_bin_dir() / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
