"""The HTTP API: every route but /health and /metrics needs the bearer token."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from hotline import REPO_ROOT
from hotline.web import Metrics, make_app
from ivr.hours import load_hours

TOKEN = "s3cret-token"


def controller() -> Any:
    """Just what the routes read: no ACD, no database."""
    return SimpleNamespace(
        config=SimpleNamespace(
            api_token=TOKEN,
            host_root=Path("/nonexistent"),
            recordings_dir=Path("/spool/monitor"),
            spool_dir=Path("/nonexistent/journal"),
        ),
        ari=SimpleNamespace(connected=asyncio.Event()),
        hours=load_hours(REPO_ROOT / "dialplan"),
        desk=None,
        engine=None,
        journal=SimpleNamespace(backlog=0, healthy=False, spool_bytes=0, alarm=None),
    )


async def test_routes_refuse_a_missing_or_wrong_token_and_serve_the_right_one() -> None:
    app = make_app(controller(), SimpleNamespace(connected=False), Metrics())  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        for method, path in (
            ("GET", "/agents"),
            ("POST", "/agents/1001/login"),
            ("POST", "/config/apply"),
            ("GET", "/recordings/1?reason=audit"),
            ("GET", "/voice-messages"),
            ("GET", "/reports/daily?date=2026-12-01"),
        ):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                resp = await client.request(method, path, headers=headers)
                assert resp.status == 401, (method, path, headers)
                assert (await resp.json())["error_id"] == "unauthorized"
        right = {"Authorization": f"Bearer {TOKEN}"}
        resp = await client.get("/agents", headers=right)
        assert (resp.status, (await resp.json())["error_id"]) == (503, "acd_disabled")
        resp = await client.get("/voice-messages", headers=right)
        assert (resp.status, (await resp.json())["error_id"]) == (503, "database_unavailable")
        assert (await client.get("/metrics")).status == 200  # open: probes carry no token
        assert (await client.get("/no-such-page")).status == 404  # not a 401


async def test_a_non_ascii_or_oversized_authorization_header_is_a_401_not_a_crash() -> None:
    app = make_app(controller(), SimpleNamespace(), Metrics())  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        for value in (
            "Bearer 令牌",
            f"Bearer {TOKEN}é",
            "Bearer \udcff".encode("utf-8", "surrogatepass").decode("latin-1"),
            "Bearer " + "x" * 7000,
        ):
            resp = await client.get("/agents", headers={"Authorization": value})
            assert resp.status == 401, (value[:20], resp.status)
            assert (await resp.json())["error_id"] == "unauthorized"
