"""PostgreSQL away: people and client tokens get a 503 with an error id (their credentials
cannot be checked), while the instance's own token keeps the local tools working."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import create_async_engine

from hotline.sessions import SessionPolicy
from hotline.store.journal import Journal
from hotline.web import Metrics, make_app

TOKEN = "instance-token"
POLICY = SessionPolicy(instance="test")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_database_away_is_a_503_for_people_not_for_the_instance(tmp_path: Path) -> None:
    engine = create_async_engine(f"postgresql+asyncpg://x:y@127.0.0.1:{closed_port()}/none")
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token=TOKEN),
        desk=None,
        engine=engine,
        journal=Journal(engine=None, spool_dir=tmp_path),
    )
    app = make_app(controller, SimpleNamespace(), Metrics(), POLICY)  # type: ignore[arg-type]
    try:
        async with TestClient(TestServer(app)) as client:
            resp = await client.post("/session", json={"name": "li.na", "password": "x" * 12})
            assert (resp.status, (await resp.json())["error_id"]) == (503, "database_unavailable")
            client.session.cookie_jar.update_cookies({POLICY.cookie_name: "a-session"})
            resp = await client.get("/agents")
            assert (resp.status, (await resp.json())["error_id"]) == (503, "database_unavailable")
            resp = await client.get("/agents", headers={"Authorization": "Bearer hlt_client"})
            assert (resp.status, (await resp.json())["error_id"]) == (503, "database_unavailable")
            resp = await client.get("/agents", headers={"Authorization": f"Bearer {TOKEN}"})
            assert (resp.status, (await resp.json())["error_id"]) == (503, "acd_disabled")
    finally:
        await engine.dispose()
