"""The console in a real browser: Debian's chromium, driven by selenium through Debian's
chromedriver (both installed by ./dev), against the real app and PostgreSQL.

Selenium blocks: its calls run in a thread so that the app on this loop keeps serving.
A screenshot of the wallboard is kept in .local/test-artefacts/ for people to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from hotline import REPO_ROOT, accounts, audit
from hotline.sms import FileSms
from hotline.store.journal import Fact
from tests.component.test_console import PASSWORD, Console, make_console
from tests.support.system import SystemUnderTest

ARTEFACTS = REPO_ROOT / ".local" / "test-artefacts"
INSTANCE = {"Authorization": "Bearer instance-token-for-these-tests"}
CLICK = "document.querySelector(arguments[0]).click()"
OFFICES = ("pension", "medical")
SHOWN = "const e = document.querySelector(arguments[0]); return e ? e.innerText : null"


@pytest.fixture
async def browser() -> AsyncIterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("chromium or chromedriver is not installed (./dev packages installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)  # no-sandbox: the tests run as root (CI does)
    options.add_argument("--window-size=1280,900")
    try:
        chrome = webdriver.Chrome(options=options, service=Service(driver))
    except WebDriverException as exc:
        pytest.skip(f"chromium did not start: {exc.msg}")
    try:
        yield chrome
    finally:
        # The page (the wallboard's websocket) is left and the browser quits while the test's
        # server still serves, in this loop: a socket dropped after it could outlive the
        # loop and be reported (a ResourceWarning, an error here) in the next test's set-up.
        with contextlib.suppress(WebDriverException):
            await asyncio.to_thread(chrome.get, "about:blank")
        await asyncio.to_thread(chrome.quit)
        await asyncio.sleep(0.2)


@pytest.fixture
async def center(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> AsyncIterator[Console]:
    await db.execute("TRUNCATE accounts, web_sessions RESTART IDENTITY CASCADE")
    async for made in make_console(system, tmp_path):
        yield made


async def until(chrome: webdriver.Chrome, check: Callable[[webdriver.Chrome], object]) -> None:
    # A table redrawn between finding a cell and reading it: read again at the next poll.
    wait = WebDriverWait(chrome, 10, 0.1, ignored_exceptions=[StaleElementReferenceException])
    await asyncio.to_thread(wait.until, check)


def text(css: str) -> Callable[[webdriver.Chrome], str]:
    return lambda chrome: chrome.find_element(By.CSS_SELECTOR, css).text


async def sign_in(chrome: webdriver.Chrome, base: str, name: str) -> None:
    await asyncio.to_thread(chrome.get, base)
    await until(chrome, lambda c: c.current_url.endswith("/console/login.html"))
    chrome.find_element(By.ID, "name").send_keys(name)
    chrome.find_element(By.ID, "password").send_keys(PASSWORD)
    await asyncio.to_thread(chrome.find_element(By.ID, "submit").click)


async def test_a_supervisor_logs_in_and_sees_a_caller_wait(
    center: Console, browser: webdriver.Chrome
) -> None:
    """
    1. The console's address sends the browser to the login page, in Mandarin.
    2. The supervisor signs in and lands on the wallboard: nobody waiting.
    3. Agent 1001 logs in and pauses (through the API); a caller enters the general queue:
       the wallboard shows 1 waiting in that queue and the agent paused, without a reload.
    4. English is one click away.
    5. The caller hangs up: listed to call back with the number masked; the supervisor's
       "show" reveals it (audited, tests/component/test_desk_call.py checks the row).
    """
    name = f"li.na-{center.run}"
    await accounts.add(center.engine, name, PASSWORD, ["supervisor"], None, "cli:test")
    base = str(center.client.make_url("/console/"))
    await sign_in(browser, base, name)
    assert browser.find_element(By.ID, "submit").text == "登录"
    await until(browser, lambda c: c.current_url.endswith("/console/wallboard.html"))
    await until(browser, lambda c: text("#total-waiting")(c) == "0")
    assert text("#status")(browser) == "实时"

    for command in ("login", "pause?reason=meal"):
        resp = await center.client.post(f"/agents/1001/{command}", headers=INSTANCE)
        assert resp.status == 200, await resp.text()
    center.desk.journal.record(Fact("c1", "queued", {"queue": "general"}))  # what the call does
    center.desk.router.enqueue("c1", "general", 0, time.time())
    await until(browser, lambda c: text('tr[data-queue="general"] td.waiting')(c) == "1")
    assert (text("#total-waiting")(browser), text("#total-offered")(browser)) == ("1", "1")
    assert text('tr[data-agent="1001"]')(browser).split()[:2] == ["1001", "小休"]

    # 5. The caller hangs up: on the list to call back, masked; "show" gives the number.
    center.desk.journal.record(Fact("c1", "call_started", {"caller": "13812345678"}))
    center.desk.journal.record(Fact("c1", "ended", {"disposition": "abandoned"}))
    await until(browser, lambda c: text('tr[data-call="c1"] td.number')(c) == "138****5678")
    await asyncio.to_thread(
        browser.find_element(By.CSS_SELECTOR, 'tr[data-call="c1"] button').click
    )
    await until(browser, lambda c: text('tr[data-call="c1"] td.number')(c) == "13812345678")

    await asyncio.to_thread(browser.find_element(By.ID, "language").click)
    await until(browser, lambda c: text("#queues th:nth-child(2)")(c) == "Waiting")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / "console-wallboard.png"))


async def test_an_agent_signs_in_and_pauses_from_the_desk(
    center: Console, browser: webdriver.Chrome
) -> None:
    """An agent lands on their desk, signs in to the queues and pauses for a meal with the
    buttons; the state shown follows (over the desk's websocket)."""
    name = f"wang.fang-{center.run}"
    await accounts.add(center.engine, name, PASSWORD, ["agent"], "1002", "cli:test")
    await sign_in(browser, str(center.client.make_url("/console/")), name)
    await until(browser, lambda c: c.current_url.endswith("/console/desk.html"))
    await until(browser, lambda c: text("#state")(c) == "未签入")
    await asyncio.to_thread(browser.find_element(By.ID, "do-login").click)
    await until(browser, lambda c: text("#state")(c) == "空闲")
    Select(browser.find_element(By.ID, "pause-reason")).select_by_value("meal")
    await asyncio.to_thread(browser.find_element(By.ID, "do-pause").click)
    await until(browser, lambda c: (text("#state")(c), text("#reason")(c)) == ("小休", "用餐"))
    assert center.desk.router.agents["1002"].reason == "meal"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / "console-desk.png"))


async def test_a_supervisor_forces_a_pause_then_a_sign_out_from_the_wallboard(
    center: Console, browser: webdriver.Chrome, db: asyncpg.Connection
) -> None:
    """Agent 1003 is ready; the supervisor clicks 强制小休 on their row, then 强制签出: the
    agent is paused, then off the board; both are audited as forced by the supervisor."""
    name = f"zhou.jie-{center.run}"
    await accounts.add(center.engine, name, PASSWORD, ["supervisor"], None, "cli:test")
    resp = await center.client.post("/agents/1003/login", headers=INSTANCE)
    assert resp.status == 200, await resp.text()
    await sign_in(browser, str(center.client.make_url("/console/")), name)
    await until(browser, lambda c: c.current_url.endswith("/console/wallboard.html"))
    row = 'tr[data-agent="1003"]'

    def state(chrome: webdriver.Chrome) -> list[str] | None:
        """The row's 工号 and state, read in one step (the rows are redrawn every second)."""
        shown = chrome.execute_script(SHOWN, row)
        return shown.split()[:2] if shown is not None else None

    await until(browser, lambda c: state(c) == ["1003", "空闲"])
    # No listen buttons for an agent who is not talking.
    assert not browser.find_elements(By.CSS_SELECTOR, f'{row} button[data-action="listen"]')
    # Found and clicked in one step: the board redraws its rows every second.
    await asyncio.to_thread(browser.execute_script, CLICK, f'{row} [data-action="force_pause"]')
    await until(browser, lambda c: state(c) == ["1003", "小休"])
    await asyncio.to_thread(browser.execute_script, CLICK, f'{row} [data-action="force_logout"]')
    await until(browser, lambda c: state(c) is None)
    forced = await db.fetch(
        "SELECT what FROM audit_log WHERE who = $1 AND target = '1003' ORDER BY id", name
    )
    assert [r["what"] for r in forced] == ["agent.forced.pause", "agent.forced.logout"]


async def test_an_agent_on_a_call_sees_its_context_and_picks_a_topic(
    center: Console, browser: webdriver.Chrome
) -> None:
    """
    1. Agent 1002 is signed in to the queues on their desk.
    2. A caller verified in self-service is answered by them: the desk shows the ID masked
       and the menu path, and offers the topics of topics.yaml.
    3. They pick "养老金发放" and save it: "已保存", and the journal has their wrap-up.
    """
    name = f"wang.fang-{center.run}"
    await accounts.add(center.engine, name, PASSWORD, ["agent"], "1002", "cli:test")
    await sign_in(browser, str(center.client.make_url("/console/")), name)
    await until(browser, lambda c: text("#state")(c) == "未签入")
    await asyncio.to_thread(browser.find_element(By.ID, "do-login").click)
    await until(browser, lambda c: text("#state")(c) == "空闲")

    now = time.time()
    session = SimpleNamespace(verified_id="11010519491231002X", path=["welcome", "main"])
    person = SimpleNamespace(queue="general", entered=now - 8, answered_at=now)
    center.calls["c9"] = SimpleNamespace(
        caller_number="13812345678", person=person, session=session
    )
    center.desk.router.enqueue("c9", "general", 0, now - 8)
    center.desk.router.answered("c9", "1002", now)
    await until(browser, lambda c: text("#ctx-id")(c) == "110105********002X")
    assert text("#ctx-path")(browser) == "welcome → main"
    recorded: list[Fact] = []
    center.desk.journal.observers.append(recorded.append)
    Select(browser.find_element(By.ID, "topic")).select_by_visible_text("养老金发放")
    await asyncio.to_thread(browser.find_element(By.ID, "do-topic").click)
    await until(browser, lambda c: text("#topic-saved")(c) == "已保存")
    assert [(f.kind, f.data["topic"]) for f in recorded] == [("wrap_up", "pension_payment")]
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / "console-desk-call.png"))


async def test_an_auditor_reads_who_did_and_heard_what(
    center: Console, browser: webdriver.Chrome
) -> None:
    """
    1. An auditor lands on the reports and follows the link to the audit log: the newest
       rows first, among them a supervisor's recording access and their forced pause.
    2. Filtered to recordings heard: only the recording access is left; a reader's markup
       in the log is shown as text, never run.
    3. A supervisor opening the audit page is sent to their own first page.
    """
    run = center.run
    heard = audit.Entry(
        f"li.na-{run}", "recording.access", "supervisor", f"rec-{run}", detail={"why": "<b>x"}
    )
    forced = audit.Entry(f"li.na-{run}", "agent.forced.pause", "supervisor", "1003")
    for entry in (heard, forced):
        assert await audit.record(center.engine, entry)
    name = f"qian.audit-{run}"
    await accounts.add(center.engine, name, PASSWORD, ["auditor"], None, "cli:test")
    await sign_in(browser, str(center.client.make_url("/console/")), name)
    await until(browser, lambda c: c.current_url.split("?")[0].endswith("/console/report.html"))
    await asyncio.to_thread(browser.execute_script, CLICK, 'a[href="/console/audit.html"]')
    await until(browser, lambda c: c.current_url.endswith("/console/audit.html"))
    await until(browser, lambda c: f"rec-{run}" in text("#audit tbody")(c))
    rows = browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")
    whats = [r.find_elements(By.TAG_NAME, "td")[3].text for r in rows]
    assert whats.index("agent.forced.pause") < whats.index("recording.access")  # newest first

    Select(browser.find_element(By.ID, "audit-what")).select_by_value("recording.")
    await asyncio.to_thread(browser.find_element(By.ID, "show").click)
    await until(
        browser,
        lambda c: (
            {
                r.find_elements(By.TAG_NAME, "td")[3].text
                for r in c.find_elements(By.CSS_SELECTOR, "#audit tbody tr")
            }
            == {"recording.access"}
        ),
    )
    assert '{"why":"<b>x"}' in text("#audit tbody")(browser)  # as text: no <b> element
    assert not browser.find_elements(By.CSS_SELECTOR, "#audit tbody b")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / "console-audit.png"))

    browser.delete_all_cookies()
    supervisor = f"li.na-{run}"
    await accounts.add(center.engine, supervisor, PASSWORD, ["supervisor"], None, "cli:test")
    await sign_in(browser, str(center.client.make_url("/console/")), supervisor)
    await until(browser, lambda c: c.current_url.endswith("/console/wallboard.html"))
    await asyncio.to_thread(browser.get, str(center.client.make_url("/console/audit.html")))
    await until(browser, lambda c: c.current_url.endswith("/console/wallboard.html"))


async def test_a_wrong_password_locks_the_account_and_each_role_sees_its_own_pages(
    center: Console, browser: webdriver.Chrome, db: asyncpg.Connection
) -> None:
    """
    1. Five wrong passwords in the login page: "账号或密码错误" each time; the sixth try,
       with the right password, is refused as well (locked) and audited.
    2. Each role opening every page: its own pages open, the others send it to its first
       page (the server refuses their data anyway; tests/unit/test_access_rules.py).
    """
    base = str(center.client.make_url("/console/"))
    locked = f"zhao.lock-{center.run}"
    await accounts.add(center.engine, locked, PASSWORD, ["supervisor"], None, "cli:test")
    await asyncio.to_thread(browser.get, base)
    await until(browser, lambda c: c.current_url.endswith("/console/login.html"))
    for attempt in range(6):
        browser.find_element(By.ID, "name").clear()
        browser.find_element(By.ID, "name").send_keys(locked)
        browser.find_element(By.ID, "password").send_keys(PASSWORD if attempt == 5 else "wrong")
        await asyncio.to_thread(browser.find_element(By.ID, "submit").click)
        await until(browser, lambda c: text("#error")(c) == "账号或密码错误")
        if attempt < 5:  # the next try must show the message afresh
            browser.execute_script("document.getElementById('error').textContent = ''")
    assert browser.current_url.endswith("/console/login.html")
    outcomes = await db.fetch(
        "SELECT outcome FROM audit_log WHERE who = $1 AND what LIKE 'login.%' ORDER BY id",
        locked,
    )
    assert len(outcomes) >= 6 and "locked" in {r["outcome"] for r in outcomes}, outcomes

    pages = ("wallboard", "desk", "ops", "quality", "report", "planner", "audit", "office")
    opens = {
        "supervisor": {"wallboard", "quality", "report", "planner"},
        "agent": {"desk"},
        "ops": {"ops"},
        "auditor": {"quality", "report", "planner", "audit"},
        "office": {"office"},
    }
    first = {
        "supervisor": "wallboard",
        "agent": "desk",
        "ops": "ops",
        "auditor": "report",
        "office": "office",
    }
    for role, allowed in opens.items():
        name = f"{role}.pages-{center.run}"
        desk_phone = "1003" if role == "agent" else None
        code = "pension" if role == "office" else None
        await accounts.add(
            center.engine, name, PASSWORD, [role], desk_phone, "cli:test", code, OFFICES
        )
        browser.delete_all_cookies()
        await sign_in(browser, base, name)
        await until(
            browser, lambda c, r=role: c.current_url.split("?")[0].endswith(f"/{first[r]}.html")
        )
        for page in pages:
            await asyncio.to_thread(browser.get, f"{base}{page}.html")
            landed = page if page in allowed else first[role]
            # A page names who is signed in only once it has let them stay (shell()).
            try:
                await until(
                    browser,
                    lambda c, p=landed: (
                        c.current_url.split("?")[0].endswith(f"/{p}.html") and text("#who")(c)
                    ),
                )
            except TimeoutException:
                raise AssertionError((role, page, browser.current_url)) from None


async def test_an_office_person_answers_their_order(
    center: Console, browser: webdriver.Chrome, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. Two orders wait for an answer: the pension office's (past its due date) and the
       medical office's. A person of the pension office signs in and lands on the office
       page: their order, its due date in red, the ID masked; not the medical office's.
    2. They open it: its history. An empty answer is refused at the field.
    3. They answer: the order is `answered`, the citizen is texted the answer.
    """
    await db.execute("TRUNCATE work_orders, work_order_steps")
    numbers = {}
    for where in OFFICES:
        body = {
            "callback_number": "13900000777",
            "id_number": "110101199003074477",
            "question": f"养老金为何比预计少（{where}）",
            "line": "pension",
            "office": where,
        }
        resp = await center.client.post("/work-orders", json=body, headers=INSTANCE)
        assert resp.status == 201, await resp.text()
        numbers[where] = (await resp.json())["number"]
        step = {"status": "sent_to_office"}
        resp = await center.client.post(
            f"/work-orders/{numbers[where]}/status", json=step, headers=INSTANCE
        )
        assert resp.status == 200, await resp.text()
    mine, theirs = numbers["pension"], numbers["medical"]
    await db.execute(
        "UPDATE work_orders SET due_at = now() - interval '1 day' WHERE number = $1", mine
    )
    name = f"bao.ke-{center.run}"
    await accounts.add(
        center.engine, name, PASSWORD, ["office"], None, "cli:test", "pension", OFFICES
    )
    await sign_in(browser, str(center.client.make_url("/console/")), name)
    await until(browser, lambda c: c.current_url.endswith("/console/office.html"))
    row = f'tr[data-number="{mine}"]'
    await until(browser, lambda c: text(row)(c) != "")
    assert "110101********4477" in text(row)(browser) and "已超期" in text(row)(browser)
    assert browser.find_elements(By.CSS_SELECTOR, f"{row} td.overdue")
    assert not browser.find_elements(By.CSS_SELECTOR, f'tr[data-number="{theirs}"]')
    assert theirs not in text("#orders")(browser)

    await asyncio.to_thread(browser.execute_script, CLICK, f"{row} a")
    await until(browser, lambda c: text("#order-number")(c) == mine)
    assert "待科室答复" in text("#history")(browser)
    await asyncio.to_thread(browser.find_element(By.ID, "do-answer").click)
    await until(browser, lambda c: text("#answer-error")(c) == "请填写答复内容")
    assert browser.find_element(By.ID, "answer").get_attribute("aria-invalid") == "true"
    status = "SELECT status FROM work_orders WHERE number = $1"
    assert await db.fetchval(status, mine) == "sent_to_office"

    answer = "按 2026 年调整办法重新核定，差额随下月发放"
    browser.find_element(By.ID, "answer").send_keys(answer)
    await asyncio.to_thread(browser.find_element(By.ID, "do-answer").click)
    await until(browser, lambda c: text("#done")(c) == "已答复，短信已发送市民")
    assert await db.fetchval(status, mine) == "answered"
    assert await db.fetchval(status, theirs) == "sent_to_office"
    sent = FileSms(tmp_path / "sms.jsonl").sent()
    assert sent[-1]["to"] == "13900000777" and answer in sent[-1]["text"]
    assert "已答复" in text("#history")(browser)
    await until(browser, lambda c: not c.find_elements(By.CSS_SELECTOR, row))  # no longer waiting
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / "console-office.png"))
