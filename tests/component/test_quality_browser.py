"""The quality page (质检) in Debian's chromium: a supervisor goes from the wallboard to the
samples, hears one and scores it with the form; the screenshot is kept in
.local/test-artefacts/ (as the console's other browser tests do)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from acd.quality_config import QualityConfig
from hotline import accounts, quality_store
from tests.component import test_console_browser as console_browser
from tests.component.test_console import PASSWORD, Console
from tests.component.test_console_browser import ARTEFACTS, sign_in, text, until

# The console browser tests' fixtures: chromium, and the app with its accounts emptied.
browser = console_browser.browser
center = console_browser.center

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2031, 6, 3)


async def test_a_supervisor_scores_a_sample_in_the_browser(
    center: Console, browser: webdriver.Chrome, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """
    1. Agent 1001 had one recorded call on the day; the day is drawn: one sample.
    2. A supervisor signs in, goes from the wallboard to 质检 and opens the sample.
    3. 播放录音 fetches the recording once: the access is audited under their name.
    4. Accuracy 4 of 5 and manners 3 of 5 show 84.00 before it is sent; once sent the
       sample leaves the list to score, the score is stored and audited, and the month's
       table shows it.
    """
    for table in ("quality_scores", "quality_samples", "quality_days", "recording_access"):
        await db.execute(f"DELETE FROM {table}")
    await db.execute("DELETE FROM recordings WHERE channel_id = 'qb-1'")
    (tmp_path / "monitor").mkdir()
    (tmp_path / "monitor" / "qb-1.wav").write_bytes(b"RIFF-qb-1")
    recording = await db.fetchval(
        "INSERT INTO recordings (channel_id, agent, path, seconds, sha256, created_at,"
        " purge_after) VALUES ('qb-1', '1001', '/monitor/qb-1.wav', 95, $1, $2, $3)"
        " RETURNING id",
        "c" * 64,
        dt.datetime.combine(DAY, dt.time(10, 30), ZONE),
        DAY + dt.timedelta(days=180),
    )
    assert await quality_store.draw_day(center.engine, DAY, QualityConfig(), ZONE) == 1
    name = f"zhao.min-{center.run}"
    await accounts.add(center.engine, name, PASSWORD, ["supervisor"], None, "cli:test")

    await sign_in(browser, str(center.client.make_url("/console/")), name)
    await until(browser, lambda c: c.current_url.endswith("/console/wallboard.html"))
    await asyncio.to_thread(browser.find_element(By.ID, "to-quality").click)
    await until(browser, lambda c: c.current_url.endswith("/console/quality.html"))
    await until(browser, lambda c: text("#samples tbody tr td:nth-child(3)")(c) == "1001")
    assert text("#samples tbody tr td:nth-child(4)")(browser) == "1:35"
    await asyncio.to_thread(browser.find_element(By.CSS_SELECTOR, "#samples button.open").click)
    await asyncio.to_thread(browser.find_element(By.ID, "play").click)
    sample = await db.fetchval("SELECT id FROM quality_samples")
    audio = browser.find_element(By.ID, "audio")
    await until(browser, lambda _c: audio.get_attribute("data-loaded") == str(sample))
    heard = await db.fetch("SELECT who FROM recording_access WHERE recording_id = $1", recording)
    assert [r["who"] for r in heard] == [name]

    assert text("#total")(browser) == "100.00"
    Select(browser.find_element(By.ID, "item-accuracy")).select_by_value("4")
    Select(browser.find_element(By.ID, "item-manners")).select_by_value("3")
    assert text("#total")(browser) == "84.00"
    browser.find_element(By.ID, "comment").send_keys("问候规范，答复准确")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTEFACTS / "console-quality-form.png"))
    await asyncio.to_thread(browser.find_element(By.ID, "submit").click)
    await until(browser, lambda c: c.find_element(By.ID, "none").is_displayed())

    stored = await db.fetchrow("SELECT scorer, score, comment FROM quality_scores")
    assert (stored["scorer"], float(stored["score"]), stored["comment"]) == (
        name,
        84.0,
        "问候规范，答复准确",
    )
    audited = await db.fetchrow(
        "SELECT detail FROM audit_log WHERE what = 'quality.score' AND who = $1", name
    )
    assert json.loads(audited["detail"])["score"] == 84.0
    browser.execute_script("document.getElementById('month').value = '2031-06'")
    await asyncio.to_thread(browser.find_element(By.ID, "month-show").click)
    await until(browser, lambda c: text('#months tr[data-agent="1001"] td.average')(c) == "84.00")
    browser.save_screenshot(str(ARTEFACTS / "console-quality.png"))
