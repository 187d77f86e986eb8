"""Ops edit the voice menu in a real browser (Debian's chromium through selenium) and the
next SIPp caller hears the change; a rollback from the history puts the menu back.
Screenshots are kept in .local/test-artefacts/."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import asyncpg
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy.ext.asyncio import create_async_engine

from hotline import REPO_ROOT, accounts
from tests.component.test_console_browser import ARTEFACTS, browser, sign_in, text, until
from tests.support.calls import wait_for_call
from tests.support.observer import AriObserver, prompts_heard
from tests.support.sipp import Caller, Keys, Pause
from tests.support.system import SystemUnderTest

__all__ = ["browser"]  # the fixture, shared with the console's browser tests
PASSWORD = "社保热线-correct-horse"
OPTION = '"1": {goto: selfservice}'


async def type_into_editor(chrome: webdriver.Chrome, body: str) -> None:
    editor = chrome.find_element(By.ID, "editor")
    chrome.execute_script(
        "arguments[0].value = arguments[1];arguments[0].dispatchEvent(new Event('input'));",
        editor,
        body,
    )


async def click(chrome: webdriver.Chrome, css: str) -> None:
    await asyncio.to_thread(chrome.find_element(By.CSS_SELECTOR, css).click)


async def test_ops_change_the_menu_in_the_browser_and_the_next_caller_hears_it(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    browser: webdriver.Chrome,
) -> None:
    """
    1. Ops sign in and land on the editor, the voice menu loaded.
    2. Key 1 sent to a node that does not exist: refused, the line and field named in the
       page, the file and the running version unchanged.
    3. Key 1 to the referral directory: the diff shows it, it is applied live; the next
       caller presses 1 and hears the referral directory.
    4. One click on the version before puts the menu back (applied live again).
    """
    menu_file = running.settings.config_dir / "menu.yaml"
    original = menu_file.read_text()
    engine = create_async_engine(running.instance.database_url or "")
    name = f"zhou.ops-{uuid.uuid4().hex[:6]}"
    await accounts.add(engine, name, PASSWORD, ["ops"], None, "cli:test")
    await engine.dispose()
    port = running.settings.ports.http
    caller = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000411"
    )
    try:
        await sign_in(browser, f"http://127.0.0.1:{port}/console/", name)
        await until(browser, lambda c: c.current_url.endswith("/console/ops.html"))
        await until(
            browser,
            lambda c: "start: main" in c.find_element(By.ID, "editor").get_property("value"),
        )
        ARTEFACTS.mkdir(parents=True, exist_ok=True)

        await type_into_editor(browser, original.replace(OPTION, '"1": {goto: nowhere}'))
        await click(browser, "#do-apply")
        await until(browser, lambda c: "nodes.main.options.1.goto" in text("#problems")(c))
        line = original.splitlines().index(f"      {OPTION}") + 1
        assert browser.find_element(By.CSS_SELECTOR, "#gutter .bad").text == str(line)
        assert text("#result")(browser) == "未应用：有错误，文件未改动"
        browser.save_screenshot(str(ARTEFACTS / "ops-editor-refused.png"))
        assert menu_file.read_text() == original
        health = running.controller.health()
        assert health is not None and health["config_version"] == "2026-11-23"

        changed = original.replace(OPTION, '"1": {service: referral, then: selfservice}')
        await type_into_editor(browser, changed.replace('"2026-11-23"', '"v-browser"'))
        await click(browser, "#do-check")
        await until(browser, lambda c: '+      "1": {service: referral' in text("#diff")(c))
        await click(browser, "#do-apply")
        await until(browser, lambda c: text("#result")(c) == "已应用，配置版本 v-browser")
        browser.save_screenshot(str(ARTEFACTS / "ops-editor-applied.png"))

        await caller.start([Pause(1500), Keys("1"), Pause(3000)])
        assert (await caller.finish()).ok
        row = await wait_for_call(db, caller.number)
        assert row["ivr_path"][:2] == ["main", "svc:referral"]
        assert "referral-intro" in prompts_heard(observer.events, row["channel_id"])

        await click(browser, "#versions tbody tr:nth-child(2) button.rollback")
        await until(browser, lambda c: text("#result")(c) == "已应用，配置版本 2026-11-23")
        assert menu_file.read_text() == original
        browser.save_screenshot(str(ARTEFACTS / "ops-editor-rolled-back.png"))
    finally:
        if menu_file.read_text() != original:
            menu_file.write_text(original)
            from tests.e2e.test_config_apply import apply

            await apply(running)


async def test_a_prompts_text_applied_is_what_callers_hear_next(running: SystemUnderTest) -> None:
    """Ops change the main menu's Mandarin text (through the API the editor uses): the
    recording Asterisk plays is generated again from it at once; a rollback brings back
    the recording from before."""
    manifest = REPO_ROOT / "sounds" / "prompts.yaml"
    original = manifest.read_text()
    wav = running.settings.on_host(running.settings.asterisk_dir) / "sounds/zh/menu-main.wav"
    before = wav.read_bytes()
    url = f"http://127.0.0.1:{running.settings.ports.http}/config/files/prompts.yaml"
    token = {"Authorization": f"Bearer {running.instance.secrets.api_token}"}
    try:
        async with aiohttp.ClientSession(headers=token) as http:
            loaded = await (await http.get(url)).json()
            changed = original.replace("自助查询请按1，", "自助服务请按1，", 1)
            resp = await http.post(url, json={"text": changed, "base": loaded["sha256"]})
            assert resp.status == 200, await resp.text()
            done = await resp.json()
            assert wav.read_bytes() != before
            versions = (await (await http.get(f"{url}/versions")).json())["versions"]
            resp = await http.post(
                f"{url}/versions/{versions[1]['id']}/rollback", json={"base": done["sha256"]}
            )
            assert resp.status == 200, await resp.text()
            assert wav.read_bytes() == before and manifest.read_text() == original
    finally:
        if manifest.read_text() != original:
            manifest.write_text(original)
            from tests.e2e.test_config_apply import apply

            await apply(running)
