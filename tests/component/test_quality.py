"""Quality sampling (质检) against the real PostgreSQL of the test instance: the daily draw
happens once whatever asks for it again, supervisors hear a sample (the access audited under
their own name) and score it (the score audited), auditors read, and the scores per agent
per month appear in the agents' report beside the satisfaction.

The day is in 2031 and the agents are 92xx, so nothing else writes into it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.quality import RecordedCall, draw
from acd.quality_config import QualityConfig
from hotline import accounts, quality_draws, quality_store
from hotline.sessions import SessionPolicy
from hotline.web import Metrics, make_app
from ivr.hours import load_hours
from tests.support.system import SystemUnderTest

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2031, 5, 6)
SEED = "test-seed-2031-05-06"
PASSWORD = "社保热线-correct-horse"
SHEET = {"greeting": 1, "accuracy": 4, "policy": 5, "manners": 3}  # 10 + 32 + 30 + 12 = 84


def at(clock: str, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), ZONE)


async def recording(
    db: asyncpg.Connection, n: int, agent: str, moment: dt.datetime, seconds: float = 60
) -> int:
    value: int = await db.fetchval(
        "INSERT INTO recordings (channel_id, agent, path, seconds, sha256, created_at,"
        " purge_after) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        f"qa-{n}",
        agent,
        f"/monitor/qa-{n}.wav",
        seconds,
        "b" * 64,
        moment,
        DAY + dt.timedelta(days=180),
    )
    return value


async def a_day_of_recordings(db: asyncpg.Connection) -> list[RecordedCall]:
    """40 calls of 9201, 3 of 9202 (and a 5 s one), a purged one of 9203, one of 9201 the
    next day (local time: 00:10 on the 7th) and one the day before: the eligible ones."""
    eligible = []
    for n in range(40):
        rid = await recording(db, n, "9201", at("09:00") + dt.timedelta(minutes=10 * n))
        eligible.append(RecordedCall(rid, "9201", f"qa-{n}"))
    for n in range(40, 43):
        rid = await recording(db, n, "9202", at("14:00") + dt.timedelta(minutes=n))
        eligible.append(RecordedCall(rid, "9202", f"qa-{n}"))
    await recording(db, 43, "9202", at("15:00"), seconds=5)  # too short to judge
    purged = await recording(db, 44, "9203", at("16:00"))
    await db.execute("UPDATE recordings SET purged_at = now() WHERE id = $1", purged)
    await recording(db, 45, "9201", at("00:10", DAY + dt.timedelta(days=1)))
    await recording(db, 46, "9201", at("23:50", DAY - dt.timedelta(days=1)))
    return eligible


@pytest.fixture
async def engine(system: SystemUnderTest, db: asyncpg.Connection) -> AsyncIterator[AsyncEngine]:
    await db.execute("TRUNCATE accounts, web_sessions RESTART IDENTITY CASCADE")
    await db.execute("DELETE FROM quality_scores")
    await db.execute("DELETE FROM quality_samples")
    await db.execute("DELETE FROM quality_days")
    await db.execute("DELETE FROM recording_access")
    await db.execute("DELETE FROM recordings WHERE channel_id LIKE 'qa-%'")
    made = create_async_engine(system.instance.database_url or "")
    try:
        yield made
    finally:
        await made.dispose()


async def test_the_day_is_drawn_once_whoever_asks_again(
    db: asyncpg.Connection, engine: AsyncEngine
) -> None:
    """
    1. A day of recordings: 40 of agent 9201, 3 of 9202 (and one of 5 s), a purged one.
    2. The draw takes 5 % rounded up, at least 1: 2 of 9201, 1 of 9202, none of the short
       or purged ones nor of the days around; exactly what the pure draw chooses from the
       day's seed, which is stored with the day.
    3. Drawing the day again, and the controller's rounds, change nothing; the rounds draw
       the two days before it, not drawn yet (one recording on the eve, none before).
    """
    eligible = await a_day_of_recordings(db)
    config = QualityConfig()

    assert await quality_store.draw_day(engine, DAY, config, ZONE, seed=SEED) == 3

    rows = await db.fetch("SELECT recording_id, agent FROM quality_samples ORDER BY id")
    expected = draw(eligible, 0.05, 1, SEED)
    assert [(r["recording_id"], r["agent"]) for r in rows] == [
        (c.recording, c.agent) for c in expected
    ]
    assert [r["agent"] for r in rows] == ["9201", "9201", "9202"]
    day = await db.fetchrow("SELECT seed, share, samples FROM quality_days WHERE day = $1", DAY)
    assert (day["seed"], day["share"], day["samples"]) == (SEED, 0.05, 3)

    assert await quality_store.draw_day(engine, DAY, config, ZONE) is None
    after_midnight = at("01:30", DAY + dt.timedelta(days=1))  # the day over by 1.5 hours
    drawn = await quality_draws.one_round(engine, config, ZONE, after_midnight)
    # The day before has its one recording (23:50), the one before none.
    assert drawn == {DAY - dt.timedelta(days=2): 0, DAY - dt.timedelta(days=1): 1}
    assert await quality_draws.one_round(engine, config, ZONE, after_midnight) == {}
    assert await db.fetchval("SELECT count(*) FROM quality_samples WHERE day = $1", DAY) == 3
    # At 00:30 the day is not over by an hour yet: a round then would not have drawn it.
    assert DAY not in quality_draws.due_days(at("00:30", DAY + dt.timedelta(days=1)), ZONE)


async def sign_in(client: TestClient[Any, Any], name: str) -> dict[str, str]:
    resp = await client.post("/session", json={"name": name, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    body: dict[str, str] = await resp.json()
    return {"X-CSRF-Token": body["csrf_token"]}


async def test_a_supervisor_hears_and_scores_a_sample_and_both_are_audited(
    system: SystemUnderTest, db: asyncpg.Connection, engine: AsyncEngine, tmp_path: Path
) -> None:
    """
    1. The day is drawn; the supervisor lists the open samples: 3.
    2. They hear one through GET /recordings/<id>: the access is stored under their name.
    3. A sheet that does not fit the form is refused; the right one scores 84.0, audited
       with the points (`quality.score`); a second score of the same sample is refused.
    4. An auditor reads the samples and the scores but may not score; an agent sees none.
    5. The month's scores per agent, over the API and in the agents' report (JSON, XLSX).
    """
    await a_day_of_recordings(db)
    assert await quality_store.draw_day(engine, DAY, QualityConfig(), ZONE, seed=SEED) == 3
    for n in range(47):
        audio = tmp_path / "monitor" / f"qa-{n}.wav"
        audio.parent.mkdir(exist_ok=True)
        audio.write_bytes(b"RIFF-qa-%d" % n)
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token="instance-token-for-these-tests", host_root=tmp_path),
        engine=engine,
        hours=load_hours(system.settings.config_dir),
        quality=QualityConfig(),
        desk=None,
    )
    for name, roles, agent in (
        ("zhang.wei", ["supervisor"], None),
        ("audit.li", ["auditor"], None),
        ("agent.9201", ["agent"], "9201"),
    ):
        await accounts.add(engine, name, PASSWORD, roles, agent, "cli:test")
    app = make_app(controller, SimpleNamespace(), Metrics(), SessionPolicy(instance="test"))  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        csrf = await sign_in(client, "zhang.wei")
        resp = await client.get(f"/quality/samples?day={DAY}")
        samples = (await resp.json())["samples"]
        assert [s["agent"] for s in samples] == ["9201", "9201", "9202"]
        first = samples[0]
        assert first["score"] is None and first["seconds"] == 60.0

        resp = await client.get(f"/recordings/{first['recording']}?reason=质检 {first['id']}")
        assert resp.status == 200 and (await resp.read()).startswith(b"RIFF-qa-")
        heard = await db.fetchrow(
            "SELECT who, why FROM recording_access WHERE recording_id = $1", first["recording"]
        )
        assert (heard["who"], heard["why"]) == ("zhang.wei", f"质检 {first['id']}")

        score_url = f"/quality/samples/{first['id']}/score"
        resp = await client.post(score_url, json={"items": {**SHEET, "greeting": 2}}, headers=csrf)
        assert (resp.status, (await resp.json())["error_id"]) == (400, "bad_points")
        resp = await client.post(score_url, json={"items": SHEET, "comment": "政策答复完整"})
        assert (resp.status, (await resp.json())["error_id"]) == (403, "csrf_token_required")
        resp = await client.post(
            score_url, json={"items": SHEET, "comment": "政策答复完整"}, headers=csrf
        )
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["score"] == 84.0
        resp = await client.post(score_url, json={"items": SHEET}, headers=csrf)
        assert (resp.status, (await resp.json())["error_id"]) == (409, "already_scored")
        audited = await db.fetchrow(
            "SELECT who, role, target, detail FROM audit_log WHERE what = 'quality.score'"
            " ORDER BY id DESC LIMIT 1"
        )
        assert (audited["who"], audited["role"], audited["target"]) == (
            "zhang.wei",
            "supervisor",
            str(first["id"]),
        )
        detail = json.loads(audited["detail"])
        assert (detail["score"], detail["items"], detail["agent"]) == (84.0, SHEET, "9201")
        resp = await client.get(f"/quality/samples?day={DAY}")
        assert len((await resp.json())["samples"]) == 2  # the scored one is no longer open

        csrf = await sign_in(client, "audit.li")
        resp = await client.get(f"/quality/samples?day={DAY}&status=scored")
        scored = (await resp.json())["samples"]
        assert [(s["id"], s["score"]["score"], s["score"]["scorer"]) for s in scored] == [
            (first["id"], 84.0, "zhang.wei")
        ]
        resp = await client.post(
            f"/quality/samples/{samples[1]['id']}/score", json={"items": SHEET}, headers=csrf
        )
        assert resp.status == 403
        resp = await client.get("/quality/scores?month=2031-05")
        assert (await resp.json())["agents"] == [
            {"agent": "9201", "samples": 2, "scored": 1, "average": 84.0},
            {"agent": "9202", "samples": 1, "scored": 0, "average": None},
        ]
        await sign_in(client, "agent.9201")
        resp = await client.get(f"/quality/samples?day={DAY}")
        assert resp.status == 403

        token = {"Authorization": "Bearer instance-token-for-these-tests"}
        resp = await client.get("/reports/agents?month=2031-05", headers=token)
        assert resp.status == 200, await resp.text()
        by_month = (await resp.json())["quality_by_month"]
        assert by_month[0] == {
            "agent": "9201",
            "month": "2031-05",
            "quality_samples": 2,
            "quality_scored": 1,
            "quality_score": 84.0,
        }
        resp = await client.get("/reports/agents?month=2031-05&format=xlsx", headers=token)
        book = load_workbook(io.BytesIO(await resp.read()))
        rows = list(book["quality_by_month"].iter_rows(values_only=True))
        assert rows[1] == ("9201", "2031-05", 2, 1, 84)
