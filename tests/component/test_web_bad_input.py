"""Bad input to the HTTP API: a 4xx with a stable error id, and nothing changes.

The app is built as in test_web_token.py, but with the real router (the shipped queues and
agents) behind it, so "nothing changes" is checked on the center's actual state.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from acd.queues import load_queues
from acd.roster import load_roster
from acd.router import Router
from hotline import REPO_ROOT
from hotline.desk import Desk
from hotline.store.journal import Journal
from hotline.web import Metrics, make_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = REPO_ROOT / "dialplan"


def center(tmp_path: Path) -> tuple[Any, list[object]]:
    """A controller as the routes see it: the real router and journal, no Asterisk, no
    database; what would be sent to calls is collected."""
    posted: list[object] = []
    router = Router(load_queues(CONFIG), list(load_roster(CONFIG).agents))
    journal = Journal(engine=None, spool_dir=tmp_path / "journal")
    desk = Desk(
        router=router,
        ari=SimpleNamespace(),  # type: ignore[arg-type]
        ami=SimpleNamespace(),  # type: ignore[arg-type]
        journal=journal,
        post=lambda call, item: posted.append((call, item)),
        recordings_dir=Path("/nowhere"),
        host_root=tmp_path,
    )
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token=TOKEN), desk=desk, engine=None, journal=journal
    )
    return controller, posted


def snapshot(controller: Any) -> dict[str, tuple[str, str, str, int]]:
    return {
        number: (a.status.value, a.reason, a.seat, a.calls)
        for number, a in controller.desk.router.agents.items()
    }


BAD: list[tuple[str, str, dict[str, str], int, str]] = [
    # method, path, extra headers, status, error id
    ("POST", "/agents/张三/login", {}, 404, "unknown_agent"),
    ("POST", "/agents/%FF%FE/login", {}, 404, "unknown_agent"),
    ("POST", "/agents/" + "9" * 5000 + "/login", {}, 404, "unknown_agent"),
    ("POST", "/agents/1001/dance", {}, 404, "unknown_command"),
    ("POST", "/agents/1001/pause?reason=午饭", {}, 400, "unknown_pause_reason"),
    ("POST", "/agents/1001/pause?reason=" + "x" * 5000, {}, 400, "unknown_pause_reason"),
    ("POST", "/agents/1001/pause?reason=%00%FF", {}, 400, "unknown_pause_reason"),
    ("POST", "/agents/1001/transfer?queue=[1,2]", {}, 400, "unknown_queue"),
    ("POST", "/agents/1001/transfer?queue=专家", {}, 400, "unknown_queue"),
    ("GET", "/recordings/abc?reason=audit", {}, 404, "recording_not_found"),
    ("GET", "/recordings/-1?reason=audit", {}, 404, "recording_not_found"),
    ("GET", "/recordings/1e9?reason=audit", {}, 404, "recording_not_found"),
    (
        "GET",
        "/recordings/" + "9" * 30 + "?reason=a",
        {},
        404,
        "recording_not_found",
    ),
    ("GET", "/recordings/１２?reason=audit", {}, 404, "recording_not_found"),
    ("GET", "/recordings/1?reason=" + "x" * 300, {}, 400, "reason_too_long"),
    # Who asks is the signed-in principal; a self-declared name changes nothing.
    ("GET", "/recordings/1", {"X-Hotline-User": "张三"}, 400, "reason_required"),
    ("GET", "/voice-messages?status=打开", {}, 400, "unknown_status"),
    ("GET", "/voice-messages?status=" + "o" * 5000, {}, 400, "unknown_status"),
    ("GET", "/voice-messages?status=open%27%3B--", {}, 400, "unknown_status"),
    ("DELETE", "/agents", {}, 405, "method_not_allowed"),
    ("GET", "/agents/1001/login", {}, 405, "method_not_allowed"),
    ("GET", "/no/such/page", {}, 404, "not_found"),
]


async def test_bad_input_is_refused_with_an_error_id_and_changes_nothing(tmp_path: Path) -> None:
    controller, posted = center(tmp_path)
    app = make_app(controller, SimpleNamespace(), Metrics())  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/agents/1001/login", headers=AUTH)
        assert resp.status == 200, await resp.text()
        before, backlog = snapshot(controller), controller.journal.backlog
        for method, path, headers, status, error_id in BAD:
            resp = await client.request(method, path, headers={**AUTH, **headers})
            assert resp.status == status, (method, path[:60], resp.status, await resp.text())
            body = await resp.json()
            assert body["error_id"] == error_id, (path[:60], body)
            assert all(len(str(v)) <= 64 for v in body.values()), body
        # A body where none is expected, far too big: refused before any handler runs.
        big = io.BytesIO(b"x" * (2 << 20))
        resp = await client.post("/agents/1001/logout", headers=AUTH, data=big)
        assert (resp.status, (await resp.json())["error_id"]) == (413, "body_too_large")
        assert snapshot(controller) == before
        assert controller.desk.router.agents["1001"].status.value == "ready"
        assert controller.journal.backlog == backlog and posted == []
        # ...and the API still works afterwards.
        resp = await client.post("/agents/1001/pause?reason=meeting", headers=AUTH)
        assert (resp.status, (await resp.json())["status"]) == (200, "paused")
