"""Work orders through the HTTP API and the CLI: agents open and route them, an office answers
with its own token and sees nothing else, supervisors get the 督办 list; every change is in
the audit log, and the citizen's texts are in the SMS file.

The real aiohttp app and the real PostgreSQL of the test instance (as in test_accounts.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.roster import load_roster
from acd.work_order_config import load_work_orders
from hotline import REPO_ROOT, accounts, cli, tokens, work_order_watch
from hotline.sessions import SessionPolicy
from hotline.sms import FileSms
from hotline.web import Metrics, make_app
from ivr.hours import load_hours
from tests.support.system import SystemUnderTest

PASSWORD = "社保热线-correct-horse"
INSTANCE_TOKEN = "instance-token-for-work-orders"
POLICY = SessionPolicy(instance="test", max_failures_per_address=50)
CITIZEN_ID = "110101199003074477"


@dataclass
class Office:
    client: TestClient[Any, Any]
    engine: AsyncEngine
    sms: FileSms
    run: str

    async def person(self, base: str, roles: list[str], agent: str | None = None) -> str:
        """A signed-in person; returns the CSRF token to send with changes."""
        await accounts.add(self.engine, f"{base}-{self.run}", PASSWORD, roles, agent, "cli:test")
        return await self.login(base)

    async def login(self, base: str) -> str:
        name = f"{base}-{self.run}"
        self.client.session.cookie_jar.clear()
        resp = await self.client.post("/session", json={"name": name, "password": PASSWORD})
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["csrf_token"])

    async def post(self, path: str, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
        resp = await self.client.post(path, json=body, headers=headers)
        return resp.status, await resp.json()

    async def get(self, path: str, **headers: str) -> tuple[int, Any]:
        resp = await self.client.get(path, headers=headers)
        return resp.status, await resp.json()


@pytest.fixture
async def office(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> AsyncIterator[Office]:
    await db.execute("TRUNCATE accounts, web_sessions, api_tokens RESTART IDENTITY CASCADE")
    await db.execute("TRUNCATE work_orders, work_order_steps")
    config = REPO_ROOT / "dialplan"
    engine = create_async_engine(system.instance.database_url or "")
    sms = FileSms(tmp_path / "sms.jsonl")
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token=INSTANCE_TOKEN, host_root=tmp_path),
        desk=None,
        engine=engine,
        hours=load_hours(config),
        work_orders=load_work_orders(config),
        roster=load_roster(config),
        sms=sms,
    )
    app = make_app(controller, SimpleNamespace(), Metrics(), POLICY)  # type: ignore[arg-type]
    try:
        async with TestClient(TestServer(app)) as client:
            yield Office(client, engine, sms, uuid.uuid4().hex[:6])
    finally:
        await engine.dispose()


QUESTION = {
    "caller_number": "13900000777",
    "id_number": CITIZEN_ID,
    "question": "退休后养老金为何比预计少",
    "line": "pension",
    "type": "standard",
}


async def test_an_order_from_the_agent_to_the_office_and_back(
    office: Office, db: asyncpg.Connection
) -> None:
    """
    1. Agent 1001 opens an order: owned by 1001 (whatever the body says), ID masked, due
       5 working days on; the citizen is texted its number.
    2. Agent 1002 may not change it; 1001 sends it to the pension office.
    3. The pension office's token lists only its own orders; the medical office's token
       cannot see or answer it. The pension office may not close it, but answers it; the
       citizen is texted the answer.
    4. A step out of order is refused (409); 1001 records the follow-up and closes it.
    5. Every change is in the audit log, without the ID number.
    """
    csrf = await office.person("wang.fang", ["agent"], agent="1001")
    status, order = await office.post(
        "/work-orders", {**QUESTION, "owner": "1002"}, **{"X-CSRF-Token": csrf}
    )
    assert status == 201, order
    number = order["number"]
    assert (order["owner"], order["status"], order["id_masked"]) == (
        "1001",
        "open",
        "110101********4477",
    )
    assert CITIZEN_ID not in json.dumps(order) and order["callback_number"] == "13900000777"
    assert len(number) == 12 and number.isdigit()
    (text,) = office.sms.sent()
    assert text["to"] == "13900000777" and number in text["text"] and "工单号" in text["text"]

    other = await office.person("li.qiang", ["agent"], agent="1002")
    status, refused = await office.post(
        f"/work-orders/{number}/status",
        {"status": "sent_to_office", "office": "medical"},
        **{"X-CSRF-Token": other},
    )
    assert (status, refused["error_id"]) == (403, "not_your_order")
    _, listed = await office.get("/work-orders?owner=1001")
    assert listed["work_orders"] == []  # an agent lists the orders they own, whatever they ask
    csrf = await office.login("wang.fang")
    status, sent = await office.post(
        f"/work-orders/{number}/status",
        {"status": "sent_to_office", "office": "pension"},
        **{"X-CSRF-Token": csrf},
    )
    assert (status, sent["status"], sent["office"]) == (200, "sent_to_office", "pension")
    _, elsewhere = await office.post(
        "/work-orders", {**QUESTION, "office": "medical"}, **{"X-CSRF-Token": csrf}
    )

    pension = await tokens.add(
        office.engine, f"pension-{office.run}", ["office"], "cli:t", "pension"
    )
    medical = await tokens.add(
        office.engine, f"medical-{office.run}", ["office"], "cli:t", "medical"
    )
    as_pension = {"Authorization": f"Bearer {pension}"}
    as_medical = {"Authorization": f"Bearer {medical}"}
    status, listed = await office.get("/work-orders", **as_pension)
    assert [o["number"] for o in listed["work_orders"]] == [number]
    status, listed = await office.get("/work-orders?office=medical", **as_pension)
    assert [o["number"] for o in listed["work_orders"]] == [number]  # its own, whatever it asks
    assert (await office.get(f"/work-orders/{number}", **as_medical))[0] == 404
    answer = {"status": "answered", "answer": "您的缴费年限中有3年为视同缴费，已核实无误。"}
    assert (await office.post(f"/work-orders/{number}/status", answer, **as_medical))[0] == 404
    status, refused = await office.post(
        f"/work-orders/{number}/status", {"status": "closed"}, **as_pension
    )
    assert (status, refused["error_id"]) == (403, "not_your_order")
    assert (await office.get("/work-orders/escalations", **as_pension))[0] == 403
    status, refused = await office.post(
        f"/work-orders/{number}/status", answer, **{"X-CSRF-Token": csrf}
    )
    assert (status, refused["error_id"]) == (403, "not_your_step")  # the owner cannot answer
    status, answered = await office.post(f"/work-orders/{number}/status", answer, **as_pension)
    assert (status, answered["status"], answered["answer"]) == (200, "answered", answer["answer"])
    texts = office.sms.sent()
    assert texts[-1]["reference"] == number and "视同缴费" in texts[-1]["text"]

    status, refused = await office.post(
        f"/work-orders/{number}/status", {"status": "closed"}, **{"X-CSRF-Token": csrf}
    )
    assert (status, refused["error_id"]) == (409, "transition_not_allowed")
    for step in ({"status": "followed_up", "satisfaction": 5}, {"status": "closed"}):
        status, done = await office.post(
            f"/work-orders/{number}/status", step, **{"X-CSRF-Token": csrf}
        )
        assert status == 200, done
    assert [h["status"] for h in done["history"]] == [
        "open",
        "sent_to_office",
        "answered",
        "followed_up",
        "closed",
    ]
    assert done["satisfaction"] == 5 and elsewhere["office"] == "medical"
    rows = await db.fetch(
        "SELECT who, what, detail FROM audit_log WHERE target = $1 ORDER BY id", number
    )
    assert [r["what"] for r in rows] == [
        "workorder.create",
        "workorder.sent_to_office",
        "workorder.answered",
        "workorder.followed_up",
        "workorder.closed",
    ]
    assert rows[2]["who"] == f"token:pension-{office.run}"
    assert CITIZEN_ID not in str([dict(r) for r in rows])
    assert await db.fetchval("SELECT count(*) FROM work_order_steps") == 6


async def test_escalations_bad_input_and_the_cli(
    office: Office, db: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    1. A supervisor opens an order without an owner, and another one whose deadline is then
       moved into the past: the 督办 list has the overdue one first, then the ownerless one.
    2. A supervisor gives the ownerless order to 1001: it leaves the list.
    3. Bad input is refused with an error id; an office token needs an office code.
    4. `hotline workorders list|show|escalations` print the same, IDs masked.
    """
    csrf = {"X-CSRF-Token": await office.person("zhang.min", ["supervisor"])}
    _, nobodys = await office.post("/work-orders", QUESTION, **csrf)
    _, late = await office.post("/work-orders", {**QUESTION, "owner": "1001"}, **csrf)
    assert nobodys["owner"] is None
    await db.execute(
        "UPDATE work_orders SET due_at = now() - interval '1 day' WHERE number = $1",
        late["number"],
    )
    status, found = await office.get("/work-orders/escalations")
    assert status == 200
    assert [(e["number"], e["reason"]) for e in found["escalations"]] == [
        (late["number"], "overdue"),
        (nobodys["number"], "no_owner"),
    ]
    status, refused = await office.post(
        f"/work-orders/{nobodys['number']}/owner", {"owner": "9999"}, **csrf
    )
    assert (status, refused["error_id"]) == (400, "unknown_agent")  # not in the roster
    status, taken = await office.post(
        f"/work-orders/{nobodys['number']}/owner", {"owner": "1001"}, **csrf
    )
    assert (status, taken["owner"]) == (200, "1001")
    _, found = await office.get("/work-orders/escalations")
    assert [e["number"] for e in found["escalations"]] == [late["number"]]

    for body, error_id in (
        ({**QUESTION, "question": " "}, "bad_question"),
        ({**QUESTION, "type": "urgent"}, "unknown_type"),
        ({**QUESTION, "office": "nowhere"}, "unknown_office"),
        ({**QUESTION, "id_number": "12345"}, "bad_id_number"),
    ):
        status, refused = await office.post("/work-orders", body, **csrf)
        assert (status, refused["error_id"]) == (400, error_id)
    status, refused = await office.post(
        f"/work-orders/{late['number']}/status", {"status": "gone"}, **csrf
    )
    assert (status, refused["error_id"]) == (400, "unknown_status")
    assert (await office.get("/work-orders/999999999999"))[0] == 404
    with pytest.raises(accounts.AccountError):
        await tokens.add(office.engine, f"x-{office.run}", ["office"], "cli:t")

    async def hotline(*args: str) -> list[dict[str, Any]]:
        parsed = cli.parser().parse_args(["workorders", *args, "--instance", "test"])
        assert await asyncio.to_thread(parsed.func, parsed) == 0
        out = capsys.readouterr().out.splitlines()
        return [json.loads(line) for line in out if line.startswith("{")]  # not the log lines

    listed = await hotline("list", "--open")
    assert {o["number"] for o in listed} == {late["number"], nobodys["number"]}
    (shown,) = await hotline("show", late["number"])
    assert shown["id_masked"] == "110101********4477" and CITIZEN_ID not in str(shown)
    due = await hotline("escalations")
    assert [(e["number"], e["reason"]) for e in due] == [(late["number"], "overdue")]


async def test_the_controller_watch_sets_the_gauge_and_logs(
    office: Office, db: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """One scan of the supervised 督办 task: an overdue order and an ownerless one are in
    the gauge by reason and in one log line; near_due is 0."""
    csrf = {"X-CSRF-Token": await office.person("zhao.li", ["supervisor"])}
    _, late = await office.post("/work-orders", {**QUESTION, "owner": "1001"}, **csrf)
    await office.post("/work-orders", QUESTION, **csrf)
    await db.execute(
        "UPDATE work_orders SET due_at = now() - interval '1 hour' WHERE number = $1",
        late["number"],
    )
    config = REPO_ROOT / "dialplan"
    metrics = Metrics()
    controller = SimpleNamespace(
        engine=office.engine,
        desk=None,
        hours=load_hours(config),
        work_orders=load_work_orders(config),
        metrics=metrics,
    )
    capsys.readouterr()
    found = await work_order_watch.scan(controller)  # type: ignore[arg-type]
    assert sorted(e.reason for e in found) == ["no_owner", "overdue"]
    gauge = {
        reason: metrics.registry.get_sample_value(
            "hotline_work_orders_escalated", {"reason": reason}
        )
        for reason in work_order_watch.REASONS
    }
    assert gauge == {"overdue": 1.0, "near_due": 0.0, "no_owner": 1.0}
    assert "work_orders_escalated" in capsys.readouterr().out


async def test_voice_messages_become_work_orders_once(
    office: Office, db: asyncpg.Connection
) -> None:
    """
    1. A voice message is stored (as the journal does): the watch makes it a work order of
       type voice_message, with its recording and callback number, no owner (督办), due 5
       working days on; its deadline has passed, so no text promises it. A message left
       now is texted its number (to the calling number, none having been keyed).
    2. The next pass makes nothing more; the order is listed with the others.
    """
    recording = f"vm-{office.run}"
    message = await db.fetchval(
        "INSERT INTO voice_messages (channel_id, caller_number, callback_number, recording,"
        " seconds, created_at, due_on) VALUES ($1, '13900000888', '02588776655', $2, 12.4,"
        " '2026-09-23 10:00+08', '2026-10-08') RETURNING id",
        f"ch-{office.run}",
        recording,
    )
    config = REPO_ROOT / "dialplan"
    controller = SimpleNamespace(
        engine=office.engine,
        hours=load_hours(config),
        work_orders=load_work_orders(config),
        sms=office.sms,
    )
    await db.execute(
        "INSERT INTO voice_messages (channel_id, caller_number, callback_number, recording,"
        " seconds, created_at, due_on) VALUES ($1, '13900000889', '', $2, 8, now(),"
        " current_date + 7)",
        f"ch-{office.run}-new",
        f"{recording}-new",
    )
    made = await work_order_watch.adopt_voice_messages(controller)  # type: ignore[arg-type]
    (order,) = [o for o in made if o.recording == recording]
    assert (order.kind, order.owner) == ("voice_message", None)
    assert order.callback_number == "02588776655"
    assert order.due_at.isoformat() == "2026-10-08T17:00:00+08:00" and "12秒" in order.question
    (new,) = [o for o in made if o.recording == f"{recording}-new"]
    texts = [sent["text"] for sent in office.sms.sent()]
    # Its deadline has passed: no text promising it; the fresh one is texted its number.
    assert not any(order.number in text for text in texts)
    assert new.number in texts[-1] and new.callback_number == "13900000889"
    assert await work_order_watch.adopt_voice_messages(controller) == []  # type: ignore[arg-type]
    call_id = await db.fetchval("SELECT call_id FROM work_orders WHERE number = $1", order.number)
    assert call_id == f"vm:{message}"
    _, listed = await office.get("/work-orders?open=1", Authorization=f"Bearer {INSTANCE_TOKEN}")
    assert order.number in [o["number"] for o in listed["work_orders"]]


async def test_a_person_of_an_office_sees_and_answers_only_its_orders(
    office: Office, db: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    1. `hotline accounts add --role office --office pension` makes a person of the pension
       office; an office work_orders.yaml does not name is refused.
    2. Signed in, they list only the pension office's orders (whatever they ask), cannot
       see or answer the medical office's, may not close their own, nor change it without
       the session's CSRF token.
    3. They answer it: `answered`, the citizen is texted the answer, the audit log names them.
    """
    name = f"bao.ke-{office.run}"

    async def accounts_cli(*args: str) -> int:
        parsed = cli.parser().parse_args(["accounts", "add", *args, "--instance", "test"])
        code: int = await asyncio.to_thread(parsed.func, parsed)
        return code

    assert await accounts_cli("--role", "office", "--office", "nowhere", "--generate", "x.y") == 2
    assert "no office 'nowhere'" in capsys.readouterr().err
    assert await accounts_cli("--role", "office", "--office", "pension", "--generate", name) == 0
    password = capsys.readouterr().out.split(": ")[-1].strip()
    row = await db.fetchrow("SELECT roles, office FROM accounts WHERE name = $1", name)
    assert row is not None and (row["roles"], row["office"]) == (["office"], "pension")

    csrf = {"X-CSRF-Token": await office.person("zhang.min", ["supervisor"])}
    numbers = {}
    for where in ("pension", "medical"):
        status, order = await office.post("/work-orders", {**QUESTION, "office": where}, **csrf)
        assert status == 201, order
        step = {"status": "sent_to_office"}
        status, _ = await office.post(f"/work-orders/{order['number']}/status", step, **csrf)
        assert status == 200
        numbers[where] = order["number"]
    mine, theirs = numbers["pension"], numbers["medical"]

    office.client.session.cookie_jar.clear()
    resp = await office.client.post("/session", json={"name": name, "password": password})
    assert resp.status == 200, await resp.text()
    session = await resp.json()
    assert (session["roles"], session["office"]) == (["office"], "pension")
    as_person = {"X-CSRF-Token": session["csrf_token"]}
    for query in ("", "?office=medical", "?status=sent_to_office"):
        status, listed = await office.get(f"/work-orders{query}")
        assert [o["number"] for o in listed["work_orders"]] == [mine], query
    assert listed["work_orders"][0]["id_masked"] == "110101********4477"
    assert (await office.get(f"/work-orders/{theirs}"))[0] == 404
    answer = {"status": "answered", "answer": "按 2026 年调整办法重新核定，差额随下月发放"}
    status, _ = await office.post(f"/work-orders/{theirs}/status", answer, **as_person)
    assert status == 404
    assert (await office.get("/work-orders/escalations"))[0] == 403
    status, refused = await office.post(
        f"/work-orders/{mine}/status", {"status": "closed"}, **as_person
    )
    assert (status, refused["error_id"]) == (403, "not_your_order")
    status, refused = await office.post(f"/work-orders/{mine}/status", answer)
    assert (status, refused["error_id"]) == (403, "csrf_token_required")

    status, answered = await office.post(f"/work-orders/{mine}/status", answer, **as_person)
    assert (status, answered["status"], answered["answer"]) == (200, "answered", answer["answer"])
    assert answer["answer"] in office.sms.sent()[-1]["text"]
    by = await db.fetchval(
        "SELECT who FROM audit_log WHERE what = 'workorder.answered' AND target = $1", mine
    )
    assert by == name
