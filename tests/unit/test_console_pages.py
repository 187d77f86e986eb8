"""The console's pages as the controller serves them (in-process, no database: they are
open), and the rule that every route of the app is either open or in the role table."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hotline import access, console
from hotline.roles import ROUTE_ROLES
from hotline.web import Metrics, make_app


def app(tmp_path: Path) -> web.Application:
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token="t", host_root=tmp_path), desk=None, engine=None
    )
    return make_app(controller, SimpleNamespace(), Metrics())  # type: ignore[arg-type]


def test_every_route_is_open_or_in_the_role_table(tmp_path: Path) -> None:
    routes = {
        (r.method, r.resource.canonical)
        for r in app(tmp_path).router.routes()
        if r.resource is not None and r.method != "HEAD"
    }
    assert ("GET", "/console/wallboard/live") in routes
    assert routes - access.OPEN - set(ROUTE_ROLES) == set()


async def test_pages_are_served_with_a_strict_policy_and_nothing_else_is(tmp_path: Path) -> None:
    """The login page and the scripts come from the package, each with the policy that
    forbids inline script and other origins; `/` leads to the console; a name that is not
    one of the files is not found, however it is spelt."""
    async with TestClient(TestServer(app(tmp_path))) as client:
        resp = await client.get("/console/login.html")
        assert resp.status == 200 and resp.content_type == "text/html"
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        assert 'id="password"' in await resp.text()
        resp = await client.get("/console/wallboard.js")
        assert resp.content_type == "text/javascript"
        resp = await client.get("/", allow_redirects=False)
        assert (resp.status, resp.headers["Location"]) == (302, "/console/")
        for name in ("nothing.html", "..%2Fweb.py", "..%2F__init__.py", "console.py"):
            resp = await client.get(f"/console/{name}")
            body: dict[str, Any] = await resp.json()
            assert (resp.status, body["error_id"]) == (404, "not_found"), name


def test_every_page_is_shipped_and_refers_only_to_shipped_files() -> None:
    pages = ("index.html", "login.html", "wallboard.html", "desk.html", "ops.html")
    for page in (
        *pages,
        "quality.html",
        "report.html",
        "planner.html",
        "audit.html",
        "office.html",
    ):
        text = console.FILES[page].read_text()
        for ref in ("console.css", "console.js"):
            assert f"/console/{ref}" in text, (page, ref)
        assert "http://" not in text and "https://" not in text  # no CDN
        for ref in re.findall(r'(?:src|href)="/console/([^"]+)"', text):
            # echarts.min.js is installed by ./dev (hotline/provision/echarts.py)
            assert ref in console.FILES or ref == "echarts.min.js", (page, ref)
    assert {p.name for p in console.STATIC.iterdir()} == set(console.FILES)
