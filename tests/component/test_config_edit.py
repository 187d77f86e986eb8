"""Ops' editor over HTTP with the real PostgreSQL: a bad value is refused with its field
named and nothing changed, a good one is applied, kept as a version and audited with its
diff, an edit made on a text changed by hand since is refused, a rollback puts a version
back through the same path. The controller's live apply is a stand-in that validates the
folder as the controller does (the live part is the browser test's, tests/e2e)."""

from __future__ import annotations

import asyncio
import json
import shutil
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
from selenium.webdriver.support.ui import Select
from sqlalchemy.ext.asyncio import create_async_engine

from hotline import REPO_ROOT, accounts
from hotline.instance import load_center
from hotline.sessions import SessionPolicy
from hotline.web import Metrics, make_app
from tests.component.test_console_browser import ARTEFACTS, browser, sign_in, text, until
from tests.support.system import SystemUnderTest

__all__ = ["browser"]  # the fixture, shared with the console's browser tests

PASSWORD = "社保热线-correct-horse"
FILE = "/config/files/menu.yaml"
GOOD = '"1": {goto: selfservice}'


@dataclass
class Editing:
    client: TestClient[Any, Any]
    folder: Path
    applied: list[str]  # the config versions the controller's stand-in applied
    ops: str  # an ops account's name
    run: str


@pytest.fixture
async def editing(system: SystemUnderTest, tmp_path: Path) -> AsyncIterator[Editing]:
    folder = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "dialplan", folder)
    run = uuid.uuid4().hex[:6]
    applied: list[str] = []

    async def apply_config(_ami: object) -> str:
        version = load_center(folder).menu.version
        applied.append(version)
        return version

    engine = create_async_engine(system.instance.database_url or "")
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token="t" * 32, host_root=tmp_path, config_dir=folder),
        engine=engine,
        apply_config=apply_config,
    )
    app = make_app(controller, SimpleNamespace(), Metrics(), SessionPolicy(instance="test"))  # type: ignore[arg-type]
    name = f"zhao.ops-{run}"
    await accounts.add(engine, name, PASSWORD, ["ops"], None, "cli:test")
    try:
        async with TestClient(TestServer(app)) as client:
            yield Editing(client, folder, applied, name, run)
    finally:
        await engine.dispose()


async def test_apply_refuse_conflict_and_rollback(editing: Editing, db: asyncpg.Connection) -> None:
    client, applied, name = editing.client, editing.applied, editing.ops
    menu = editing.folder / "menu.yaml"
    original = f"# run {editing.run}\n" + menu.read_text()  # a text no earlier run stored
    menu.write_text(original)
    me = await (await client.post("/session", json={"name": name, "password": PASSWORD})).json()
    csrf = {"X-CSRF-Token": me["csrf_token"]}
    loaded = await (await client.get(FILE)).json()
    assert loaded["text"] == original

    # 1. A bad value: its line and field, nothing written, nothing applied.
    bad = original.replace(GOOD, '"1": {goto: nowhere}')
    resp = await client.post(FILE, json={"text": bad, "base": loaded["sha256"]}, headers=csrf)
    assert resp.status == 422
    problem = (await resp.json())["problems"][0]
    assert (problem["field"], problem["line"]) == ("nodes.main.options.1.goto", 19)
    assert menu.read_text() == original and applied == []

    # 2. A good one: written, applied, kept as a version, audited with its diff.
    good = original.replace(GOOD, '"1": {service: referral, then: selfservice}')
    good = good.replace('version: "2026-11-23"', 'version: "v-browser"')
    check = await (await client.post(f"{FILE}/check", json={"text": good}, headers=csrf)).json()
    assert check["problems"] == [] and '+      "1": {service: referral' in check["diff"]
    resp = await client.post(FILE, json={"text": good, "base": loaded["sha256"]}, headers=csrf)
    assert resp.status == 200, await resp.text()
    done = await resp.json()
    assert menu.read_text() == good and applied == ["v-browser"]
    versions = (await (await client.get(f"{FILE}/versions")).json())["versions"]
    assert [(v["who"], v["origin"]) for v in versions[:2]] == [
        (name, "browser"),
        ("(on disk)", "on_disk"),  # what was there before: one click brings it back
    ]
    row = await db.fetchrow(
        "SELECT what, outcome, detail FROM audit_log WHERE who = $1 AND target = "
        "'menu.yaml' ORDER BY id DESC LIMIT 1",
        name,
    )
    assert (row["what"], row["outcome"]) == ("config.edit", "ok")
    assert json.loads(row["detail"])["diff"] == done["diff"]

    # 3. Someone edits the file by hand: an edit made on the older text is refused.
    menu.write_text(good + "# by hand\n")
    resp = await client.post(FILE, json={"text": original, "base": done["sha256"]}, headers=csrf)
    assert resp.status == 409 and menu.read_text() == good + "# by hand\n"

    # 4. Rollback to what was there at first: the same path, audited.
    now = await (await client.get(FILE)).json()
    first = versions[1]["id"]
    resp = await client.post(
        f"{FILE}/versions/{first}/rollback", json={"base": now["sha256"]}, headers=csrf
    )
    assert resp.status == 200, await resp.text()
    assert menu.read_text() == original and applied[-1] == "2026-11-23"
    whats = await db.fetch(
        "SELECT what, outcome FROM audit_log WHERE who = $1 AND what LIKE 'config.%' ORDER BY id",
        name,
    )
    assert [tuple(r) for r in whats] == [
        ("config.edit", "invalid"),
        ("config.edit", "ok"),
        ("config.edit", "conflict"),
        ("config.rollback", "ok"),
    ]


async def test_a_make_up_workday_added_with_the_form(
    editing: Editing, browser: webdriver.Chrome
) -> None:
    """Ops pick hours.yaml, add a make-up workday (调休) with the form instead of typing
    YAML, see it in the diff, apply it: the file has it, and the controller applied it."""
    await sign_in(browser, str(editing.client.make_url("/console/")), editing.ops)
    await until(browser, lambda c: c.current_url.endswith("/console/ops.html"))
    await until(browser, lambda c: c.find_elements(By.CSS_SELECTOR, '[data-file="hours.yaml"]'))
    await asyncio.to_thread(browser.find_element(By.CSS_SELECTOR, '[data-file="hours.yaml"]').click)
    await until(browser, lambda c: c.find_element(By.ID, "holidays-form").is_displayed())
    browser.execute_script("document.getElementById('day').value = '2027-02-20'")
    Select(browser.find_element(By.ID, "day-kind")).select_by_value("mon")
    await asyncio.to_thread(browser.find_element(By.ID, "do-add-day").click)
    await until(browser, lambda c: "+  2027-02-20: mon" in text("#diff")(c))
    await asyncio.to_thread(browser.find_element(By.ID, "do-apply").click)
    await until(browser, lambda c: text("#result")(c).startswith("已应用"))
    assert "  2026-10-10: mon\n  2027-02-20: mon\n" in (editing.folder / "hours.yaml").read_text()
    assert len(editing.applied) == 1
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / "ops-holidays.png"))
