"""A live SIPp call on the console (Debian's chromium through selenium): the caller waiting
appears on the supervisor's wallboard; once the agent's desk phone answers, the wallboard
shows the agent talking and the agent's desk page shows the call, the number masked.
Screenshots are kept in .local/test-artefacts/."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy.ext.asyncio import create_async_engine

from hotline import accounts
from tests.component.test_console_browser import ARTEFACTS, browser, sign_in, text, until
from tests.support.calls import wait_for_call
from tests.support.desk import desk, phone, set_agent
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Hold, Keys, Pause
from tests.support.system import SystemUnderTest

__all__ = ["browser", "desk"]  # the fixtures
PASSWORD = "社保热线-correct-horse"


async def test_a_live_call_on_the_wallboard_and_on_the_agent_desk(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    desk: list[DeskPhone],
    browser: webdriver.Chrome,
) -> None:
    """
    1. Agent 1002 signs in and pauses; the supervisor's wallboard shows nobody waiting.
    2. A citizen asks for a person (0, 0): the wallboard shows them waiting in `general`.
    3. 1002 is made ready; the desk phone answers: the wallboard shows 1002 talking.
    4. The agent signs in to the console: the desk shows the call, number masked.
    5. On the desk, the agent files a work order on the call (complex, for the pension
       office): it is stored with the call, the caller's whole number, the agent as owner
       and the recording in progress; a second order on the same call is refused.
    6. The citizen hangs up: the call is stored answered by 1002.
    """
    run = uuid.uuid4().hex[:6]
    await db.execute("DELETE FROM accounts WHERE agent = '1002'")  # an earlier run's
    engine = create_async_engine(running.instance.database_url or "")
    supervisor, agent = f"li.live-{run}", f"zhang.live-{run}"
    await accounts.add(engine, supervisor, PASSWORD, ["supervisor"], None, "cli:test")
    await accounts.add(engine, agent, PASSWORD, ["agent"], "1002", "cli:test")
    await engine.dispose()
    base = f"http://127.0.0.1:{running.settings.ports.http}/console/"
    agent_phone = phone(running, "1002")
    desk.append(agent_phone)
    await agent_phone.register()
    await set_agent(running, "1002", "login")
    await set_agent(running, "1002", "pause?reason=meal")

    await sign_in(browser, base, supervisor)
    await until(browser, lambda c: c.current_url.endswith("/console/wallboard.html"))
    await until(browser, lambda c: text("#total-waiting")(c) == "0")
    citizen = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000621"
    )
    await citizen.start([Pause(1500), Keys("0"), Pause(800), Keys("0"), Hold(), Pause(500)])
    await until(browser, lambda c: text('tr[data-queue="general"] td.waiting')(c) == "1")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / "console-live-waiting.png"))

    await set_agent(running, "1002", "ready")
    await until(browser, lambda c: text('tr[data-agent="1002"]')(c).split()[:2] == ["1002", "通话"])
    assert text("#total-waiting")(browser) == "0"
    browser.save_screenshot(str(ARTEFACTS / "console-live-talking.png"))

    browser.delete_all_cookies()
    await sign_in(browser, base, agent)
    await until(browser, lambda c: c.current_url.endswith("/console/desk.html"))
    await until(browser, lambda c: text("#call-caller")(c) == "139****0621")
    assert (text("#state")(browser), text("#call-queue")(browser)) == ("通话", "general")
    browser.save_screenshot(str(ARTEFACTS / "console-live-desk.png"))

    await until(browser, lambda c: len(Select(c.find_element(By.ID, "order-type")).options) > 1)
    browser.find_element(By.ID, "order-question").send_keys("养老金待遇核定有疑问，需科室核实")
    Select(browser.find_element(By.ID, "order-type")).select_by_value("complex")
    Select(browser.find_element(By.ID, "order-office")).select_by_value("pension")
    await asyncio.to_thread(browser.find_element(By.ID, "do-file-order").click)
    await until(browser, lambda c: text("#order-filed")(c).startswith("已建工单"))
    number = text("#order-filed")(browser).split()[-1]
    order = await db.fetchrow("SELECT * FROM work_orders WHERE number = $1", number)
    assert order is not None
    assert (order["caller_number"], order["callback_number"], order["owner"]) == (
        citizen.number,
        citizen.number,
        "1002",
    )
    assert (order["kind"], order["office"], order["line"]) == ("complex", "pension", "general")
    assert order["recording"] and order["recording"].endswith("-1002.wav")
    browser.find_element(By.ID, "order-question").send_keys("第二张")
    await asyncio.to_thread(browser.find_element(By.ID, "do-file-order").click)
    await until(browser, lambda c: text("#order-filed")(c) == "本次来电已建工单")
    browser.save_screenshot(str(ARTEFACTS / "console-live-work-order.png"))

    await citizen.go_on()
    result = await citizen.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, citizen.number)
    assert (row["agent"], row["queue"], row["disposition"]) == ("1002", "general", "answered")
    assert order["call_id"] == row["channel_id"]
