"""Editing the files ops edit from the browser: check, diff, apply, history, rollback.

The YAML files in the instance's config folder stay the single source of truth: an edit is
written into the file (atomically), then the running controller applies the folder as
`hotline config apply` does, so hand edits and browser edits keep working side by side.
An edit names the text it was made on (its SHA-256): if the file changed on disk since,
the edit is refused as a conflict and nothing is written. Each applied text is kept in
PostgreSQL (`config_versions`) with who and when, in the same transaction as its audit row.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline import audit
from hotline.config_files import ConfigError

# What the console lets ops edit: the instance's dialplan files, and the prompts' text
# (sounds/prompts.yaml: the checkout's, shared by its instances; recordings are generated
# again from the changed text when the controller applies it).
PROMPTS = "prompts.yaml"
EDITABLE = (
    "menu.yaml",
    "hours.yaml",
    "queues.yaml",
    "agents.yaml",
    "work_orders.yaml",
    "topics.yaml",
    "quality.yaml",
    PROMPTS,
)
MAX_DIFF = 16_000  # characters of a diff kept in an audit row (the version keeps the text)


@dataclass(frozen=True)
class Problem:
    """One validation problem, as the editor shows it: at a file's line and field."""

    file: str
    line: int | None
    field: str
    message: str


_PROBLEM = re.compile(r"^(?P<path>[^:]+?)(?::(?P<line>\d+))?: (?P<rest>.*)$", re.S)
_FIELD = re.compile(r"^(?P<field>[\w.\-*]+): (?P<message>.*)$", re.S)


def problem_at(line: str, folder: Path) -> Problem:
    """A `file:line: field: message` line of ConfigError, the folder's path left out."""
    found = _PROBLEM.match(line)
    if found is None:
        return Problem("", None, "", line)
    path = Path(found["path"])
    name = path.name if path.parent == folder else found["path"]
    rest = found["rest"]
    field = _FIELD.match(rest)
    # Messages without a field ("not valid YAML: …") have spaces before their first colon.
    if field is None:
        return Problem(name, int(found["line"]) if found["line"] else None, "", rest)
    line_no = int(found["line"]) if found["line"] else None
    return Problem(name, line_no, field["field"], field["message"])


def location(folder: Path, name: str) -> Path:
    """Where an editable file is: the config folder, or the prompts' manifest."""
    from hotline.instance import MANIFEST  # it imports the controller, which imports us

    return MANIFEST if name == PROMPTS else folder / name


def digest(body: str) -> str:
    """The SHA-256 that names a text (what the editor loaded, a stored version)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def unified_diff(name: str, current: str, proposed: str) -> str:
    """current → proposed as a unified diff ("" when they are the same)."""
    lines = difflib.unified_diff(
        current.splitlines(keepends=True),
        proposed.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    # A last line without its newline would run into the next header.
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def read(path: Path) -> str:
    """A file's text as the editor shows it. Bytes that are not UTF-8 (a file saved as GBK by
    hand) become U+FFFD rather than an error: the check names the file, an edit fixes it."""
    return path.read_bytes().decode("utf-8", errors="replace")


def conflicts(on_disk: str, base: str) -> bool:
    """Whether the file changed since the editor loaded the text whose digest is `base`."""
    return digest(on_disk) != base


def check(folder: Path, name: str, proposed: str) -> list[Problem]:
    """Validate the folder as it would be with `proposed` as `name`, with the same
    validator as `hotline config check` (hotline/instance.py's load_center)."""
    from hotline.instance import load_center  # it imports the controller, which imports us

    with tempfile.TemporaryDirectory(prefix="hotline-config-check-") as scratch:
        trial = Path(scratch)
        for path in folder.glob("*.yaml"):
            shutil.copyfile(path, trial / path.name)
        shutil.copyfile(location(folder, PROMPTS), trial / PROMPTS)
        (trial / name).write_bytes(proposed.encode("utf-8"))
        try:
            load_center(trial, trial / PROMPTS)
        except ConfigError as exc:
            return [problem_at(line, trial) for line in exc.problems]
    return []


def write_atomically(path: Path, body: str) -> None:
    """Replace the file in one step (a reader sees the old text or the new, never half),
    keeping its mode."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(scratch, mode)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@dataclass(frozen=True)
class Editor:
    """Who edits, from where; `reload` has the running controller apply the folder."""

    who: str
    role: str
    source: str


@dataclass(frozen=True)
class Outcome:
    """What an apply did: `status` is applied | unchanged | conflict | invalid | unwritable."""

    status: str
    sha256: str
    version: int | None = None
    applied: str | None = None  # the controller's config version
    diff: str = ""
    problems: tuple[Problem, ...] = ()

    def body(self) -> dict[str, Any]:
        """As the HTTP API answers it."""
        out = asdict(self)
        out["problems"] = [asdict(p) for p in self.problems]
        return out


Reload = Callable[[], Awaitable[str]]
# One apply at a time (they share the folder); a lock belongs to one event loop.
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def apply(
    engine: AsyncEngine,
    folder: Path,
    name: str,
    proposed: str,
    base: str,
    editor: Editor,
    reload: Reload,
    rollback_of: int | None = None,
) -> Outcome:
    """Check, write, reload and record one edit; refused (nothing written) on a conflict
    or a problem. The version and its audit row commit together; if the controller refuses
    the folder or the database fails, the old text is put back and reloaded."""
    path = location(folder, name)
    lock = _LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        current = await asyncio.to_thread(read, path)
        new_sha = digest(proposed)
        if conflicts(current, base):
            return Outcome("conflict", digest(current))
        diff = unified_diff(name, current, proposed)
        problems = await asyncio.to_thread(check, folder, name, proposed)
        if problems:
            return Outcome("invalid", digest(current), diff=diff, problems=tuple(problems))
        if not diff:
            return Outcome("unchanged", new_sha)
        if not os.access(path.parent, os.W_OK):  # e.g. mounted read-only (docker-compose.yml)
            return Outcome("unwritable", digest(current), diff=diff)
        what = "config.rollback" if rollback_of is not None else "config.edit"
        origin = "rollback" if rollback_of is not None else "browser"
        try:
            async with engine.begin() as conn:
                last = await conn.scalar(
                    text(
                        "SELECT sha256 FROM config_versions WHERE file = :file"
                        " ORDER BY id DESC LIMIT 1"
                    ),
                    {"file": name},
                )
                if last != base:  # edited by hand since (or never by the browser): kept too
                    await _insert(conn, name, current, "(on disk)", "on_disk", None)
                version = await _insert(conn, name, proposed, editor.who, origin, rollback_of)
                detail: dict[str, Any] = {"version": version, "sha256": new_sha}
                detail["diff"] = diff[:MAX_DIFF]
                if rollback_of is not None:
                    detail["rolled_back_to"] = rollback_of
                entry = audit.Entry(editor.who, what, editor.role, name, editor.source)
                await audit.write(conn, replace(entry, detail=detail))
                await asyncio.to_thread(write_atomically, path, proposed)
                # Raising here rolls the version and its audit row back.
                applied = await reload()
        except ConfigError as exc:
            # Another file changed on disk meanwhile: the controller kept what it had.
            await asyncio.to_thread(write_atomically, path, current)
            lines = tuple(problem_at(line, folder) for line in exc.problems)
            return Outcome("invalid", digest(current), diff=diff, problems=lines)
        except BaseException:
            if await asyncio.to_thread(read, path) != current:
                await asyncio.to_thread(write_atomically, path, current)
                await reload()
            raise
        return Outcome("applied", new_sha, version, applied, diff)


async def _insert(
    conn: Any, name: str, body: str, who: str, origin: str, rolled_back_to: int | None
) -> int:
    version = await conn.scalar(
        text(
            "INSERT INTO config_versions (file, sha256, body, who, origin, rolled_back_to)"
            " VALUES (:file, :sha, :body, :who, :origin, :to) RETURNING id"
        ),
        {
            "file": name,
            "sha": digest(body),
            "body": body,
            "who": who[:80],
            "origin": origin,
            "to": rolled_back_to,
        },
    )
    return int(version)


async def history(engine: AsyncEngine, name: str, limit: int = 100) -> list[dict[str, Any]]:
    """The file's versions, newest first (without their text)."""
    async with engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    text(
                        "SELECT id, sha256, who, origin, rolled_back_to, at FROM config_versions"
                        " WHERE file = :file ORDER BY id DESC LIMIT :limit"
                    ),
                    {"file": name, "limit": limit},
                )
            )
            .mappings()
            .all()
        )
    return [{**row, "at": row["at"].isoformat()} for row in rows]


async def version_text(engine: AsyncEngine, name: str, version: int) -> str | None:
    """A stored version's text (None: no such version of that file)."""
    async with engine.connect() as conn:
        body = await conn.scalar(
            text("SELECT body FROM config_versions WHERE id = :id AND file = :file"),
            {"id": version, "file": name},
        )
    return str(body) if body is not None else None
