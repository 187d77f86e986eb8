"""`hotline backup` / `hotline restore`: the database, the files ops edit, recordings optional.

One tar file, 0600 (it holds call records): `hotline-backup.json` (what is in it),
`database.pgdump` (pg_dump's custom format, recordings index included),
`config/dialplan/*.yaml`, `config/sounds/prompts.yaml` and `config/sounds/overrides/…`, and
with --recordings the audio under `recordings/`. The instance's secrets are not in it: a
restored instance keeps its own (or makes new ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import asyncpg
from sqlalchemy.engine import make_url

from hotline import REPO_ROOT
from hotline.provision.asterisk import Progress
from hotline.settings import Settings

MANIFEST = "hotline-backup.json"
DUMP = "database.pgdump"
FORMAT = 1
COUNTED = ("calls", "call_segments", "recordings", "surveys")  # said after a restore


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Places:
    """Where an instance keeps what a backup holds (host paths)."""

    database_url: str
    config_dir: Path  # dialplan/*.yaml
    sounds_dir: Path  # prompts.yaml and overrides/
    recordings_dir: Path  # Asterisk's spool/monitor, seen from the host


def _libpq_env(database_url: str) -> dict[str, str]:
    url = make_url(database_url)
    env = dict(os.environ)
    env.update(
        PGHOST=url.host or "127.0.0.1",
        PGPORT=str(url.port or 5432),
        PGUSER=url.username or "",
        PGPASSWORD=url.password or "",
        PGDATABASE=url.database or "",
    )
    return env


def _asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def server_major(database_url: str) -> int:
    """The server's major version: pg_dump and pg_restore must be of the same one."""

    async def ask() -> int:
        conn = await asyncpg.connect(_asyncpg_dsn(database_url), timeout=10)
        try:
            return int(conn.get_server_version().major)
        finally:
            await conn.close()

    try:
        return asyncio.run(ask())
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f"the database is not reachable ({exc})") from exc


def pg_tool(name: str, major: int) -> Path:
    """pg_dump or pg_restore of the server's major version (Debian keeps one per version)."""
    tool = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    if not tool.exists():
        raise BackupError(
            f"{tool} is missing: apt-get install postgresql-client-{major} "
            "(it must match the server's major version)"
        )
    return tool


def count_rows(database_url: str) -> dict[str, int]:
    """Rows of the tables a restore reports on."""

    async def count() -> dict[str, int]:
        conn = await asyncpg.connect(_asyncpg_dsn(database_url), timeout=10)
        try:
            return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in COUNTED}
        finally:
            await conn.close()

    return asyncio.run(count())


def _config_files(places: Places) -> Iterator[tuple[Path, str]]:
    for path in sorted(places.config_dir.glob("*.yaml")):
        yield path, f"config/dialplan/{path.name}"
    prompts = places.sounds_dir / "prompts.yaml"
    if prompts.exists():
        yield prompts, "config/sounds/prompts.yaml"
    overrides = places.sounds_dir / "overrides"
    for path in sorted(p for p in overrides.rglob("*") if p.is_file()):
        yield path, f"config/sounds/overrides/{path.relative_to(overrides).as_posix()}"


def _recording_files(places: Places) -> Iterator[tuple[Path, str]]:
    base = places.recordings_dir
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        yield path, f"recordings/{path.relative_to(base).as_posix()}"


def backup(places: Places, target: Path, *, instance: str, recordings: bool) -> dict[str, int]:
    """Write the backup to target (0600, complete or not at all); returns what it holds."""
    major = server_major(places.database_url)
    files = list(_config_files(places))
    audio = list(_recording_files(places)) if recordings else []
    manifest = {
        "format": FORMAT,
        "instance": instance,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "postgres_major": major,
        "config_files": len(files),
        "recording_files": len(audio),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with tempfile.TemporaryDirectory() as tmp, os.fdopen(fd, "wb") as out:
            dump = Path(tmp) / DUMP
            _run(
                [str(pg_tool("pg_dump", major)), "--format=custom", f"--file={dump}"],
                places.database_url,
                "pg_dump",
            )
            with tarfile.open(fileobj=out, mode="w") as tar:
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = (
                    len(data),
                    0o600,
                    int(dt.datetime.now().timestamp()),
                )
                tar.addfile(info, io.BytesIO(data))
                tar.add(dump, DUMP)
                for path, name in [*files, *audio]:
                    tar.add(path, name, recursive=False)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return {"config_files": len(files), "recording_files": len(audio)}


def _run(cmd: list[str], database_url: str, what: str) -> None:
    run = subprocess.run(
        cmd, env=_libpq_env(database_url), capture_output=True, text=True, check=False, timeout=3600
    )
    if run.returncode != 0:
        raise BackupError(f"{what} failed: {(run.stderr or run.stdout).strip()[-2000:]}")


def _destination(name: str, places: Places) -> Path:
    """Where a member of the archive goes; anything else is refused (no path escapes)."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts:
        raise BackupError(f"refusing archive member {name!r}")
    if parts[:2] == ("config", "dialplan") and len(parts) == 3 and name.endswith(".yaml"):
        return places.config_dir / parts[2]
    if parts[:2] == ("config", "sounds") and len(parts) >= 3:
        return places.sounds_dir.joinpath(*parts[2:])
    if parts[0] == "recordings" and len(parts) >= 2:
        return places.recordings_dir.joinpath(*parts[1:])
    raise BackupError(f"refusing archive member {name!r}")


def read_manifest(tar: tarfile.TarFile) -> dict[str, object]:
    """The archive's manifest, checked to be one of ours."""
    try:
        member = tar.extractfile(MANIFEST)
        manifest: dict[str, object] = json.loads(member.read()) if member else {}
    except KeyError as exc:
        raise BackupError("not a hotline backup (no hotline-backup.json)") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def restore(places: Places, archive: Path) -> dict[str, int]:
    """Put a backup back: the database replaced whole, files overwritten; returns what was."""
    with tarfile.open(archive, mode="r") as tar:
        read_manifest(tar)
        members = [m for m in tar.getmembers() if m.name not in (MANIFEST, DUMP)]
        for member in members:  # all checked before anything is changed
            if not member.isfile():
                raise BackupError(f"refusing archive member {member.name!r} (not a file)")
            _destination(member.name, places)
        try:
            dump = tar.extractfile(DUMP)
        except KeyError:
            dump = None
        if dump is None:
            raise BackupError("the backup has no database dump")
        major = server_major(places.database_url)
        with tempfile.TemporaryDirectory() as tmp:
            dump_path = Path(tmp) / DUMP
            dump_path.write_bytes(dump.read())
            _run(
                [
                    str(pg_tool("pg_restore", major)),
                    *("--clean", "--if-exists", "--no-owner", "--no-privileges"),
                    *("--single-transaction", "--exit-on-error"),
                    f"--dbname={make_url(places.database_url).database}",
                    str(dump_path),
                ],
                places.database_url,
                "pg_restore",
            )
        restored = {"config_files": 0, "recording_files": 0}
        for member in members:
            target = _destination(member.name, places)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
            audio = member.name.startswith("recordings/")
            restored["recording_files" if audio else "config_files"] += 1
    return {**count_rows(places.database_url), **restored}


@contextlib.contextmanager
def instance_database(settings: Settings, progress: Progress) -> Iterator[str]:
    """The instance's database URL, its private PostgreSQL started for the while if stopped."""
    from hotline.instance import controller_instance
    from hotline.provision import postgres

    inst = controller_instance(settings)
    assert inst.database_url is not None
    try:
        server_major(inst.database_url)
    except BackupError:
        if settings.database_url:
            raise
        progress("starting the instance's PostgreSQL for the while")
        url = postgres.ensure_running(settings, inst.secrets.pg_password, progress)
        try:
            yield url
        finally:
            postgres.stop(settings)
        return
    yield inst.database_url


def places_of(settings: Settings, database_url: str) -> Places:
    """An instance's places."""
    return Places(
        database_url=database_url,
        config_dir=settings.config_dir,
        sounds_dir=REPO_ROOT / "sounds",
        recordings_dir=settings.on_host(settings.asterisk_dir / "spool" / "monitor"),
    )


def run_backup(
    settings: Settings, output: Path | None, recordings: bool, progress: Progress
) -> Path:
    """`hotline backup`: returns the file written."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = output or settings.state / "backups" / f"hotline-{settings.instance}-{stamp}.tar"
    with instance_database(settings, progress) as url:
        held = backup(
            places_of(settings, url), target, instance=settings.instance, recordings=recordings
        )
    progress(f"database, {held['config_files']} config files, {held['recording_files']} recordings")
    return target


def run_restore(settings: Settings, archive: Path, progress: Progress) -> dict[str, int]:
    """`hotline restore` (the caller has made sure the controller is not running)."""
    with instance_database(settings, progress) as url:
        return restore(places_of(settings, url), archive)
