"""The HTTP side of ops' editor (hotline/config_edit.py): the files, check, apply,
history and rollback. Ops only (hotline/roles.py); each apply and each refused apply is
audited with its diff."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hotline import access, audit, config_edit
from hotline.config_edit import EDITABLE, Editor, Outcome

if TYPE_CHECKING:
    from hotline.controller import Controller

STATUS = {"applied": 200, "unchanged": 200, "conflict": 409, "invalid": 422, "unwritable": 503}
_SHA = re.compile(r"[0-9a-f]{64}")


def _controller(request: web.Request) -> Controller:
    from hotline.web import CONTROLLER  # web.py imports this module

    return request.app[CONTROLLER]


def _folder(request: web.Request) -> Path:
    folder = _controller(request).config.config_dir
    if folder is None:
        raise web.HTTPServiceUnavailable()
    return folder


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if name not in EDITABLE:  # a fixed list: no path from the request is ever opened
        raise web.HTTPNotFound()
    if not (config_edit.location(_folder(request), name)).is_file():
        raise web.HTTPNotFound()
    return name


async def _body(request: web.Request, *fields: str) -> dict[str, str] | web.Response:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
        return web.json_response(
            {"error_id": "fields_required", "fields": list(fields)}, status=400
        )
    if "base" in fields and not _SHA.fullmatch(body["base"]):
        return web.json_response({"error_id": "bad_base", "field": "base"}, status=400)
    return {f: body[f] for f in fields}


async def files_page(request: web.Request) -> web.Response:
    """GET /config/files: the files ops edit, with the digest of what is on disk."""
    folder = _folder(request)
    out = []
    for name in EDITABLE:
        if not (config_edit.location(folder, name)).is_file():
            continue
        body = await asyncio.to_thread(config_edit.read, config_edit.location(folder, name))
        out.append({"name": name, "sha256": config_edit.digest(body), "lines": body.count("\n")})
    return web.json_response({"files": out})


async def file_page(request: web.Request) -> web.Response:
    """GET /config/files/{name}: the text on disk and its digest (the edit's base)."""
    name = _name(request)
    body = await asyncio.to_thread(config_edit.read, config_edit.location(_folder(request), name))
    return web.json_response({"name": name, "text": body, "sha256": config_edit.digest(body)})


async def check_page(request: web.Request) -> web.Response:
    """POST /config/files/{name}/check {text}: problems at line and field, and the diff
    against what is on disk. Nothing is written."""
    name, folder = _name(request), _folder(request)
    given = await _body(request, "text")
    if isinstance(given, web.Response):
        return given
    current = await asyncio.to_thread(config_edit.read, config_edit.location(folder, name))
    problems = await asyncio.to_thread(config_edit.check, folder, name, given["text"])
    return web.json_response(
        {
            "problems": [p.__dict__ for p in problems],
            "diff": config_edit.unified_diff(name, current, given["text"]),
            "sha256": config_edit.digest(current),
        }
    )


async def _apply(
    request: web.Request, name: str, proposed: str, base: str, rollback_of: int | None = None
) -> web.Response:
    controller = _controller(request)
    if controller.engine is None:  # no history and no audit row: no change either
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    who = access.principal(request)
    editor = Editor(who.who, who.role_text, access.source(request))

    async def reload() -> str:
        from hotline.web import AMI

        return await controller.apply_config(request.app[AMI])

    outcome: Outcome = await config_edit.apply(
        controller.engine, _folder(request), name, proposed, base, editor, reload, rollback_of
    )
    if outcome.status in ("conflict", "invalid", "unwritable"):
        detail: dict[str, Any] = {"problems": [p.message[:200] for p in outcome.problems[:20]]}
        if rollback_of is not None:
            detail["rolled_back_to"] = rollback_of
        entry = audit.Entry(
            who.who, "config.edit", who.role_text, name, editor.source, outcome.status, detail
        )
        await audit.record(controller.engine, entry)
    body = outcome.body()
    if STATUS[outcome.status] >= 400:  # every refusal of the API carries an error id
        body["error_id"] = f"config_{outcome.status}"
    return web.json_response(body, status=STATUS[outcome.status])


async def apply_page(request: web.Request) -> web.Response:
    """POST /config/files/{name} {text, base}: check, write, apply live, keep the version.
    `base` is the digest of the text the editor loaded: if the file changed since, 409."""
    name = _name(request)
    given = await _body(request, "text", "base")
    if isinstance(given, web.Response):
        return given
    return await _apply(request, name, given["text"], given["base"])


def _version(request: web.Request) -> int:
    raw = request.match_info["version"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise web.HTTPNotFound()
    return int(raw)


async def versions_page(request: web.Request) -> web.Response:
    """GET /config/files/{name}/versions: applied versions, newest first, who and when."""
    name, engine = _name(request), _controller(request).engine
    if engine is None:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    return web.json_response({"versions": await config_edit.history(engine, name)})


async def version_page(request: web.Request) -> web.Response:
    """GET /config/files/{name}/versions/{version}: that version's text."""
    name, engine = _name(request), _controller(request).engine
    if engine is None:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    body = await config_edit.version_text(engine, name, _version(request))
    if body is None:
        raise web.HTTPNotFound()
    return web.json_response({"name": name, "text": body, "sha256": config_edit.digest(body)})


async def rollback_page(request: web.Request) -> web.Response:
    """POST /config/files/{name}/versions/{version}/rollback {base}: put that version back,
    through the same check, apply and audit as an edit."""
    name, engine = _name(request), _controller(request).engine
    given = await _body(request, "base")
    if isinstance(given, web.Response):
        return given
    if engine is None:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    version = _version(request)
    body = await config_edit.version_text(engine, name, version)
    if body is None:
        raise web.HTTPNotFound()
    return await _apply(request, name, body, given["base"], rollback_of=version)


def add_routes(app: web.Application) -> None:
    """The editor's routes (all listed in hotline/roles.py for ops)."""
    app.router.add_get("/config/files", files_page)
    app.router.add_get("/config/files/{name}", file_page)
    app.router.add_post("/config/files/{name}", apply_page)
    app.router.add_post("/config/files/{name}/check", check_page)
    app.router.add_get("/config/files/{name}/versions", versions_page)
    app.router.add_get("/config/files/{name}/versions/{version}", version_page)
    app.router.add_post("/config/files/{name}/versions/{version}/rollback", rollback_page)
