"""GET /reports/…: bad input is refused with a stable error id before the database is
asked; no database is a 503. (No PostgreSQL needed: test_reports.py reads real figures.)"""

from __future__ import annotations

from types import SimpleNamespace

from aiohttp.test_utils import TestClient, TestServer

from hotline.web import Metrics, make_app
from tests.component.test_web_token import TOKEN, controller

RIGHT = {"Authorization": f"Bearer {TOKEN}"}


async def test_bad_report_requests_are_refused_with_their_reason() -> None:
    app = make_app(controller(), SimpleNamespace(connected=False), Metrics())  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        for path, error_id in (
            ("/reports/hourly?date=2026-12-01", "unknown_report"),
            ("/reports/daily", "period_required"),
            ("/reports/daily?date=2026-02-30", "bad_date"),
            ("/reports/monthly?month=2026-13", "bad_month"),
            ("/reports/daily?date=2026-12-01&format=pdf", "unknown_format"),
            ("/reports/ministry?date=2026-12-01&format=xlsx", "unknown_format"),
            ("/reports/daily?date=2026-12-01&sl_seconds=nan", "bad_sl_seconds"),
            ("/reports/staffing?month=2026-12&target=1.5", "bad_target"),
        ):
            resp = await client.get(path, headers=RIGHT)
            assert (resp.status, (await resp.json())["error_id"]) == (400, error_id), path
        resp = await client.get("/reports/daily?date=2026-12-01", headers=RIGHT)
        assert (resp.status, (await resp.json())["error_id"]) == (503, "database_unavailable")
