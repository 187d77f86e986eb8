"""The call on an agent's desk against the real PostgreSQL: the agent who answered sees the
caller (masked), the verified ID (masked), the menu path, the wait and the caller's last 30
days; nobody else does; the wrap-up topic they pick is stored with their leg and counted in
the day's report (computed, then read back from the stored day).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from acd.report_records import Period, ReportRules
from hotline.report_days import period_report
from hotline.store.changes import apply_facts
from hotline.store.journal import Fact
from tests.component.test_console import PASSWORD, Console, make_console
from tests.support.system import SystemUnderTest

CITIZEN_ID = "11010519491231002X"


@pytest.fixture
async def center(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> AsyncIterator[Console]:
    await db.execute("TRUNCATE accounts, web_sessions RESTART IDENTITY CASCADE")
    async for made in make_console(system, tmp_path):
        yield made


async def a_month_of_history(db: asyncpg.Connection, number: str) -> None:
    """Two calls from `number` (3 and 40 days ago), one from another number; a voice
    message, a callback and a work order of `number`'s."""
    now = dt.datetime.now(dt.UTC)
    for cid, caller, days in (("h1", number, 3), ("h2", number, 40), ("h3", "13000000000", 1)):
        await db.execute(
            "INSERT INTO calls (channel_id, caller_number, started_at, queue, disposition)"
            " VALUES ($1, $2, $3, 'social_insurance', 'abandoned')",
            f"{cid}-{number}",
            caller,
            now - dt.timedelta(days=days),
        )
    await db.execute(
        "INSERT INTO voice_messages (channel_id, caller_number, recording, seconds, created_at,"
        " due_on) VALUES ('h1', $1, $2, 9, $3, $4)",
        number,
        f"vm-{number}",
        now - dt.timedelta(days=3),
        (now + dt.timedelta(days=4)).date(),
    )
    await db.execute(
        "INSERT INTO callbacks (channel_id, caller_number, number, queue, priority, entered,"
        " language, requested_at, status) VALUES ($1, $2, $2, 'general', 0, 0, 'zh', $3,"
        " 'failed')",
        f"cb-{number}",
        number,
        now - dt.timedelta(days=2),
    )
    await db.execute(
        "INSERT INTO work_orders (number, caller_number, callback_number, question, line, kind,"
        " status, opened_at, due_at) VALUES ($1, $2, $2, '养老金', 'pension', 'standard',"
        " 'open', $3, $4)",
        "2099" + number[-8:],
        number,
        now - dt.timedelta(days=2),
        now + dt.timedelta(days=5),
    )


async def test_the_agent_on_the_call_sees_its_context_and_nobody_else_does(
    center: Console, db: asyncpg.Connection
) -> None:
    """
    1. Agent 1002 without a call: 404. A supervisor: refused (agents only).
    2. A caller verified in self-service, through the menu to the general queue, is
       answered by 1002 after 12 s: the desk call shows the number and the ID masked, the
       path, the wait, and the caller's last 30 days (not the call 40 days ago, nor another
       caller's); neither the whole number nor the whole ID is in the answer.
    3. Agent 1003 has no call: 404, whatever they send.
    4. 1002 picks a topic: recorded as the journal's `wrap_up` for their call; an unknown
       topic is refused.
    """
    number = f"139{random.randrange(10**8):08d}"
    await a_month_of_history(db, number)
    await center.person("li.na", ["supervisor"])
    assert (await center.client.get("/console/desk/call")).status == 403
    await center.person("wang.fang", ["agent"], agent="1002")
    resp = await center.client.get("/console/desk/call")
    assert (resp.status, (await resp.json())["error_id"]) == (404, "no_call")

    now = time.time()
    session = SimpleNamespace(verified_id=CITIZEN_ID, path=["welcome", "main", "svc:pension"])
    person = SimpleNamespace(queue="general", entered=now - 12, answered_at=now)
    center.calls["c-desk"] = SimpleNamespace(caller_number=number, person=person, session=session)
    center.desk.router.login("1002", now)
    center.desk.router.enqueue("c-desk", "general", 0, now - 12)
    center.desk.router.answered("c-desk", "1002", now)
    resp = await center.client.get("/console/desk/call")
    assert resp.status == 200, await resp.text()
    raw = await resp.text()
    assert number not in raw and CITIZEN_ID not in raw
    body = json.loads(raw)
    assert body["call"] == {
        "caller": f"139****{number[-4:]}",
        "queue": "general",
        "verified_id": "110105********002X",
        "ivr_path": ["welcome", "main", "svc:pension"],
        "topic": None,
        "wait_seconds": 12.0,
    }
    history = body["history"]
    assert [(c["queue"], c["outcome"]) for c in history["calls"]] == [
        ("social_insurance", "abandoned")
    ]
    assert [v["status"] for v in history["voice_messages"]] == ["open"]
    assert [c["status"] for c in history["callbacks"]] == ["failed"]
    assert [(w["number"], w["status"]) for w in history["work_orders"]] == [
        ("2099" + number[-8:], "open")
    ]
    assert "pension_payment" in [t["code"] for t in body["topics"]]

    await center.person("zhao.lei", ["agent"], agent="1003")
    resp = await center.client.get(f"/console/desk/call?number={number}&call=c-desk")
    assert resp.status == 404  # 1003 has no call; nothing they send names another one

    name = f"wang.fang-{center.run}"
    await center.client.post("/session", json={"name": name, "password": PASSWORD})
    me = await (await center.client.get("/session")).json()
    csrf = {"X-CSRF-Token": me["csrf_token"]}
    recorded: list[Fact] = []
    center.desk.journal.observers.append(recorded.append)
    resp = await center.client.post("/console/desk/topic", json={"topic": "nope"}, headers=csrf)
    assert (resp.status, (await resp.json())["error_id"]) == (400, "unknown_topic")
    resp = await center.client.post(
        "/console/desk/topic", json={"topic": "pension_payment"}, headers=csrf
    )
    assert resp.status == 200, await resp.text()
    assert [(f.channel_id, f.kind, f.data) for f in recorded] == [
        ("c-desk", "wrap_up", {"agent": "1002", "topic": "pension_payment"})
    ]
    body = await (await center.client.get("/console/desk/call")).json()
    assert body["call"]["topic"] == "pension_payment"


async def test_a_topic_is_stored_with_the_leg_and_counted_in_the_days_report(
    system: SystemUnderTest, db: asyncpg.Connection
) -> None:
    """
    1. A call's facts as the journal writes them, then the agent's `wrap_up`: the topic is on
       their answered leg.
    2. The day's report counts it among the wrap-up topics, beside the menu nodes; the day
       read back from the stored rollup says the same.
    """
    day = dt.date(2032, 5, 11)
    zone = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime.combine(day, dt.time(9), zone)
    cid = f"wrap-{uuid.uuid4().hex[:8]}"

    def fact(kind: str, seconds: int, **data: object) -> Fact:
        return Fact(cid, kind, dict(data), start + dt.timedelta(seconds=seconds))

    facts = [
        fact("call_started", 0, caller="13800000001", dialed="12333", language="zh"),
        fact("node", 1, node="main"),
        fact("queued", 5, queue="general"),
        fact("segment_offered", 8, queue="general", agent="1001"),
        fact("segment_answered", 10, agent="1001"),
        fact("agent", 10, agent="1001"),
        fact("segment_ended", 100, agent="1001", outcome="agent_hangup"),
        fact("ended", 100, side="agent", disposition="answered"),
        fact("wrap_up", 110, agent="1001", topic="pension_payment"),
    ]
    async with db.transaction():
        await apply_facts(db, facts)
    topic = await db.fetchval("SELECT topic FROM call_segments WHERE channel_id = $1", cid)
    assert topic == "pension_payment"
    engine = create_async_engine(system.instance.database_url or "")
    try:
        later = start + dt.timedelta(days=2)
        for _computed_then_stored in range(2):
            report = await period_report(engine, Period.day(day), ReportRules(), now=later)
            assert report.wrap_up_topics == {"pension_payment": 1}
            assert report.topics == {"main": 1}
    finally:
        await engine.dispose()
