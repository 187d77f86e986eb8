"""The console's report pages in Debian's chromium (as test_console_browser.py), over a day
of records written in the test, and the work order that names its call: the stored day is
forgotten and the call is no longer resolved directly. Screenshots of the report and the
planner are kept in .local/test-artefacts/.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.work_order_config import load_work_orders
from hotline import REPO_ROOT, accounts
from hotline.sms import FileSms
from hotline.web import Metrics, make_app
from ivr.hours import load_hours
from tests.component.test_console import PASSWORD, POLICY
from tests.component.test_console_browser import ARTEFACTS, browser, sign_in, text, until
from tests.component.test_reports import at, call, event, leg
from tests.support.system import SystemUnderTest

__all__ = ["browser"]  # the fixture, shared with the other browser tests

DAY = dt.date(2026, 6, 2)  # a Tuesday in the past: its report is stored, then forgotten
INSTANCE = {"Authorization": "Bearer instance-token-for-report-pages"}
SI, EXPERT = "social_insurance", "expert_social_insurance"


@dataclass
class Center:
    client: TestClient[Any, Any]
    engine: AsyncEngine
    run: str


@pytest.fixture
async def center(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> AsyncIterator[Center]:
    await db.execute("TRUNCATE accounts, web_sessions RESTART IDENTITY CASCADE")
    await db.execute("TRUNCATE work_orders, work_order_steps")
    config = REPO_ROOT / "dialplan"
    engine = create_async_engine(system.instance.database_url or "")
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token=INSTANCE["Authorization"][7:], host_root=tmp_path),
        desk=None,
        engine=engine,
        hours=load_hours(config),
        work_orders=load_work_orders(config),
        sms=FileSms(tmp_path / "sms.jsonl"),
    )
    app = make_app(controller, SimpleNamespace(), Metrics(), POLICY)  # type: ignore[arg-type]
    try:
        async with TestClient(TestServer(app)) as client:
            yield Center(client, engine, uuid.uuid4().hex[:6])
    finally:
        await engine.dispose()


def on(clock: str) -> dt.datetime:
    return at(clock, DAY)


async def a_day(db: asyncpg.Connection, run: str) -> str:
    """A answered in 15 s and rated; B abandoned after 3 s; T answered in 5 s and handed to
    the expert queue; O answered in 6 s (a work order will be filed on it). Returns O's id."""
    a, b, t, o = (f"pg-{k}-{run}" for k in "ABTO")
    await call(db, a, on("09:00:00"), on("09:03:30"), "answered")
    await event(db, a, on("09:00:10"), "queued", SI)
    await leg(db, a, SI, "9201", on("09:00:12"), on("09:00:25"), on("09:03:25"), "agent_hangup")
    await db.execute(
        "INSERT INTO surveys (channel_id, agent, score, at) VALUES ($1, '9201', 'satisfied', $2)",
        a,
        on("09:03:29"),
    )
    await call(db, b, on("09:10:00"), on("09:10:08"), "abandoned")
    await event(db, b, on("09:10:05"), "queued", SI)
    await call(db, t, on("10:00:00"), on("10:06:00"), "answered")
    await event(db, t, on("10:00:05"), "queued", SI)
    await leg(db, t, SI, "9201", on("10:00:06"), on("10:00:10"), on("10:02:10"), "transferred")
    await event(db, t, on("10:02:10"), "transferred_to_queue", EXPERT)
    await leg(db, t, EXPERT, "9202", on("10:02:20"), on("10:02:40"), on("10:05:40"), "agent_hangup")
    await call(db, o, on("11:00:00"), on("11:04:15"), "answered")
    await event(db, o, on("11:00:05"), "queued", SI)
    await leg(db, o, SI, "9202", on("11:00:06"), on("11:00:11"), on("11:04:11"), "agent_hangup")
    # An agent of this run (its own name: the day is shared by every run) took no call:
    # ready 08:00-12:00 and 12:30-13:00, on a break in between.
    for status, clock, reason in (
        ("ready", "08:00:00", ""),
        ("paused", "12:00:00", "break"),
        ("ready", "12:30:00", ""),
        ("logged_out", "13:00:00", ""),
    ):
        await db.execute(
            "INSERT INTO agent_state_changes (agent, status, at, reason) VALUES ($1, $2, $3, $4)",
            f"ag-{run}",
            status,
            on(clock),
            reason,
        )
    return o


async def center_row(client: TestClient[Any, Any]) -> dict[str, Any]:
    resp = await client.get(f"/reports/daily?date={DAY}", headers=INSTANCE)
    assert resp.status == 200, await resp.text()
    rows: list[dict[str, Any]] = (await resp.json())["calls"]
    return next(r for r in rows if r["group"] == "center")


async def test_the_report_pages_show_the_days_figures_and_charts(
    center: Center, db: asyncpg.Connection, browser: webdriver.Chrome
) -> None:
    """
    1. A day of four calls is written; its report (through the API) resolves A and O
       directly (T was handed to an expert): 2 of 3; the past day is stored.
    2. A work order is filed on O through the API, naming the call: the stored day is
       forgotten and the report now says 1 of 3; a second order on O is refused.
    3. The supervisor opens the report page for the day: the figures table by queue has
       the hand-computed figures, the charts are drawn (ECharts canvases).
    4. The planner page for the day shows 24 hours and its chart.
    5. An agent is refused the reports (403), and the report page sends them to their desk.
    """
    o = await a_day(db, center.run)
    before = await center_row(center.client)
    assert (before["answered"], before["direct_resolution_rate"]) == (3, 0.6667)
    stored = "SELECT count(*) FROM report_days WHERE day = $1 AND hour IN (-1, 11)"
    assert await db.fetchval(stored, DAY) >= 2

    order = {"question": "养老金为何少", "line": "pension", "caller_number": "13900000777"}
    resp = await center.client.post("/work-orders", json={**order, "call_id": o}, headers=INSTANCE)
    assert resp.status == 201, await resp.text()
    assert await db.fetchval(stored, DAY) == 0
    after = await center_row(center.client)
    assert (after["direct_resolution_rate"], after["resolved_on_call_rate"]) == (0.3333, 0.6667)
    assert after["work_orders"] == 1
    resp = await center.client.post("/work-orders", json={**order, "call_id": o}, headers=INSTANCE)
    assert (resp.status, (await resp.json())["error_id"]) == (409, "call_has_work_order")

    name = f"zhao.min-{center.run}"
    await accounts.add(center.engine, name, PASSWORD, ["supervisor"], None, "cli:test")
    base = str(center.client.make_url("/console/"))
    await sign_in(browser, base, name)
    await until(browser, lambda c: c.current_url.endswith("/console/wallboard.html"))
    page = f"/console/report.html?period=daily&date={DAY}&group=queue"
    await asyncio.to_thread(browser.get, str(center.client.make_url(page)))
    row = f'#figures tr[data-key="{SI}"]'
    await until(browser, lambda c: text(f"{row} td.answered")(c) == "3")
    figures = {
        name: text(f"{row} td.{name}")(browser)
        for name in ("offered", "abandoned", "short_abandoned", "answer_rate", "service_level")
    }
    assert figures == {
        "offered": "4",
        "abandoned": "1",
        "short_abandoned": "1",
        "answer_rate": "75.0%",
        "service_level": "100.0%",
    }
    assert text(f"{row} td.direct_resolution")(browser) == "33.3%"  # A only
    assert text(f'#figures tr[data-key="{EXPERT}"] td.direct_resolution')(browser) == "100.0%"
    center_cells = '#figures tr[data-key="center"] td'
    assert text(f"{center_cells}.asa")(browser) == "0:08"  # (15 + 5 + 6) / 3
    assert text(f"{center_cells}.aht")(browser) == "4:00"  # (180 + 120 + 180 + 240) / 3
    assert "20 秒内接听" in text("#sl-rule")(browser)
    for chart in ("chart-hourly", "chart-heatmap", "chart-satisfaction", "chart-activity"):
        await until(
            browser, lambda c, chart=chart: c.find_elements(By.CSS_SELECTOR, f"#{chart} canvas")
        )
    # The agents' time chart, in minutes: this run's agent was ready 270 and on a break 30.
    activity = browser.execute_script(
        "const o = echarts.getInstanceByDom(document.getElementById('chart-activity'))"
        ".getOption(); const at = o.yAxis[0].data.indexOf(arguments[0]);"
        " return Object.fromEntries(o.series.map((s) => [s.name, s.data[at]]));",
        f"ag-{center.run}",
    )
    assert (activity["空闲"], activity["小休: 休息"]) == (270, 30), activity
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(browser.set_window_size, 1280, 1900)  # the whole page
    browser.save_screenshot(str(ARTEFACTS / "console-report.png"))

    page = f"/console/planner.html?date={DAY}&target=0.8&seconds=20"
    await asyncio.to_thread(browser.get, str(center.client.make_url(page)))
    await until(
        browser, lambda c: len(c.find_elements(By.CSS_SELECTOR, "#staffing tbody tr")) == 24
    )
    assert text('#staffing tr[data-hour="09"] td.needed')(browser) == "1"
    await until(browser, lambda c: c.find_elements(By.CSS_SELECTOR, "#chart-staffing canvas"))
    browser.save_screenshot(str(ARTEFACTS / "console-planner.png"))

    await accounts.add(
        center.engine, f"qian.li-{center.run}", PASSWORD, ["agent"], "9201", "cli:test"
    )
    login = {"name": f"qian.li-{center.run}", "password": PASSWORD}
    assert (await center.client.post("/session", json=login)).status == 200
    resp = await center.client.get(f"/reports/daily?date={DAY}")
    assert resp.status == 403
    await asyncio.to_thread(browser.delete_all_cookies)
    await sign_in(browser, base, f"qian.li-{center.run}")
    await until(browser, lambda c: c.current_url.endswith("/console/desk.html"))
    await asyncio.to_thread(browser.get, str(center.client.make_url("/console/report.html")))
    await until(browser, lambda c: c.current_url.endswith("/console/desk.html"))  # sent back
