"""People and machines at the HTTP API: login, sessions that expire, lockout, CSRF, the role
table, the append-only audit log, revocable tokens, recording access by the signed-in person.

The real aiohttp app and the real PostgreSQL of the test instance; the controller around
the routes is the real router and desk without Asterisk (as in test_web_bad_input.py).
"""

from __future__ import annotations

import asyncio
import io
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

from acd.queues import load_queues
from acd.roster import load_roster
from acd.router import Router
from hotline import REPO_ROOT, accounts, cli, tokens
from hotline.desk import Desk
from hotline.sessions import SessionPolicy
from hotline.store.journal import Journal
from hotline.web import Metrics, make_app
from tests.support.system import SystemUnderTest

PASSWORD = "社保热线-correct-horse"
INSTANCE_TOKEN = "instance-token-for-these-tests"
POLICY = SessionPolicy(instance="test", max_failures_per_address=8)


@dataclass
class Center:
    client: TestClient[Any, Any]
    engine: AsyncEngine
    controller: Any
    run: str  # this run's suffix: the audit log outlives runs, names must not collide

    def name(self, base: str) -> str:
        return f"{base}-{self.run}"

    async def person(self, base: str, roles: list[str], agent: str | None = None) -> str:
        name = self.name(base)
        await accounts.add(self.engine, name, PASSWORD, roles, agent, "cli:test")
        return name

    async def login(self, name: str, password: str = PASSWORD) -> dict[str, Any]:
        resp = await self.client.post("/session", json={"name": name, "password": password})
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body


@pytest.fixture
async def center(
    system: SystemUnderTest, db: asyncpg.Connection, tmp_path: Path
) -> AsyncIterator[Center]:
    await db.execute("TRUNCATE accounts, web_sessions, api_tokens RESTART IDENTITY CASCADE")
    config = REPO_ROOT / "dialplan"
    router = Router(load_queues(config), list(load_roster(config).agents))
    journal = Journal(engine=None, spool_dir=tmp_path / "journal")
    desk = Desk(
        router=router,
        ari=SimpleNamespace(),  # type: ignore[arg-type]
        ami=SimpleNamespace(),  # type: ignore[arg-type]
        journal=journal,
        post=lambda call, item: None,
        recordings_dir=Path("/nowhere"),
        host_root=tmp_path,
    )
    engine = create_async_engine(system.instance.database_url or "")
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token=INSTANCE_TOKEN, host_root=tmp_path),
        desk=desk,
        engine=engine,
        journal=journal,
    )
    app = make_app(controller, SimpleNamespace(), Metrics(), POLICY)  # type: ignore[arg-type]
    try:
        async with TestClient(TestServer(app)) as client:
            yield Center(client, engine, controller, uuid.uuid4().hex[:6])
    finally:
        await engine.dispose()


async def audited(db: asyncpg.Connection, who: str) -> list[tuple[str, str, str]]:
    rows = await db.fetch(
        "SELECT what, target, outcome FROM audit_log WHERE who = $1 ORDER BY id", who
    )
    return [(r["what"], r["target"], r["outcome"]) for r in rows]


async def test_login_whoami_and_logout(center: Center, db: asyncpg.Connection) -> None:
    """
    1. A supervisor logs in (JSON): an HttpOnly, SameSite=Strict cookie named after the
       instance, and a CSRF token; GET /session says who they are.
    2. They log out (DELETE with the CSRF token): the same cookie is refused afterwards.
    3. The form login works the same way; a wrong password is refused without saying why;
       a login posted by another site's page is refused.
    """
    name = await center.person("li.na", ["supervisor"])
    resp = await center.client.post("/session", json={"name": name, "password": PASSWORD})
    assert resp.status == 200
    cookie = resp.cookies[POLICY.cookie_name]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    csrf = (await resp.json())["csrf_token"]
    me = await (await center.client.get("/session")).json()
    assert (me["name"], me["roles"], me["csrf_token"]) == (name, ["supervisor"], csrf)
    assert (await center.client.get("/agents")).status == 200
    resp = await center.client.delete("/session", headers={"X-CSRF-Token": csrf})
    assert (resp.status, await resp.json()) == (200, {"logged_out": True})
    center.client.session.cookie_jar.update_cookies({POLICY.cookie_name: cookie.value})
    resp = await center.client.get("/agents")
    assert (resp.status, (await resp.json())["error_id"]) == (401, "session_expired")
    resp = await center.client.post("/session", data={"name": name, "password": PASSWORD})
    assert resp.status == 200
    resp = await center.client.post("/session", data={"name": name, "password": "wrong" * 3})
    assert (resp.status, await resp.json()) == (401, {"error_id": "login_failed"})
    evil = {"Origin": "https://evil.example"}
    resp = await center.client.post(
        "/session", data={"name": name, "password": PASSWORD}, headers=evil
    )
    assert (resp.status, await resp.json()) == (403, {"error_id": "cross_origin_login"})
    assert [w for w, _, _ in await audited(db, name)] == [
        "login",
        "logout",
        "login",
        "login.failure",
    ]


async def test_sessions_end_when_idle_or_too_old(center: Center, db: asyncpg.Connection) -> None:
    """A session unused for longer than the idle time, or older than the absolute limit
    although in use, is refused and deleted (times moved back in the database, not waited)."""
    name = await center.person("zhao.lei", ["supervisor"])
    await center.login(name)
    assert (await center.client.get("/agents")).status == 200
    await db.execute(
        "UPDATE web_sessions SET last_seen = now() - make_interval(secs => $1 + 5)",
        POLICY.idle_seconds,
    )
    assert (await center.client.get("/agents")).status == 401
    await center.login(name)
    await db.execute(
        "UPDATE web_sessions SET created_at = now() - make_interval(secs => $1 + 5)",
        POLICY.max_seconds,
    )
    assert (await center.client.get("/agents")).status == 401
    assert await db.fetchval("SELECT count(*) FROM web_sessions") == 0


async def test_lockout_after_five_failures_and_per_address_limit(
    center: Center, db: asyncpg.Connection
) -> None:
    """
    1. Five wrong passwords lock the account: the right one is refused too (audited lockout).
    2. A password reset from the CLI lifts it.
    3. Past the per-address limit (8 failures here) the address gets 429 without a check.
    """
    name = await center.person("qian.wei", ["ops"])
    for _ in range(5):
        resp = await center.client.post("/session", json={"name": name, "password": "x" * 12})
        assert resp.status == 401
    resp = await center.client.post("/session", json={"name": name, "password": PASSWORD})
    assert resp.status == 401
    outcomes = await audited(db, name)
    assert [w for w, _, _ in outcomes] == ["login.failure"] * 4 + ["login.lockout"] * 1 + [
        "login.failure"
    ]
    assert outcomes[-1][2] == "locked"
    await accounts.reset_password(center.engine, name, PASSWORD + "2", "cli:test")
    await center.login(name, PASSWORD + "2")
    for _ in range(2):  # 6 failures so far from this address, then 2 more reach 8
        await center.client.post("/session", json={"name": "nobody", "password": "x" * 12})
    resp = await center.client.post("/session", json={"name": name, "password": PASSWORD + "2"})
    assert (resp.status, (await resp.json())["error_id"]) == (429, "too_many_attempts")
    assert ("login.address_blocked", "", "429") in await audited(db, "nobody")


async def test_agents_own_state_only_supervisor_forces_csrf_required(
    center: Center, db: asyncpg.Connection
) -> None:
    """
    1. Agent 1001 signed in: their own login with the CSRF token works (not a forced change);
       without the token it is refused (403, audited); another agent's state and the
       supervisor's wallboard are refused (403, audited).
    2. A supervisor forces 1001 into a pause: done, audited as a forced change.
    """
    agent = await center.person("zhou.min", ["agent"], agent="1001")
    csrf = (await center.login(agent))["csrf_token"]
    resp = await center.client.post("/agents/1001/login")
    assert (resp.status, (await resp.json())["error_id"]) == (403, "csrf_token_required")
    assert center.controller.desk.router.agents["1001"].status.value == "logged_out"
    token = {"X-CSRF-Token": csrf}
    assert (await center.client.post("/agents/1001/login", headers=token)).status == 200
    assert (await center.client.post("/agents/1002/login", headers=token)).status == 403
    assert (await center.client.get("/agents")).status == 403
    assert await audited(db, agent) == [
        ("login", "", "ok"),
        ("access.refused", "POST /agents/1001/login", "csrf_token_required"),
        ("access.refused", "POST /agents/1002/login", "forbidden"),
        ("access.refused", "GET /agents", "forbidden"),
    ]
    boss = await center.person("wu.gang", ["supervisor"])
    csrf = (await center.login(boss))["csrf_token"]
    resp = await center.client.post(
        "/agents/1001/pause?reason=meeting", headers={"X-CSRF-Token": csrf}
    )
    assert (resp.status, (await resp.json())["status"]) == (200, "paused")
    row = await db.fetchrow(
        "SELECT what, role, target, outcome, detail FROM audit_log WHERE who = $1"
        " AND what LIKE 'agent.%'",
        boss,
    )
    assert (row["what"], row["role"], row["target"], row["outcome"]) == (
        "agent.forced.pause",
        "supervisor",
        "1001",
        "ok",
    )


async def test_audit_log_read_by_auditors_and_never_changed(
    center: Center, db: asyncpg.Connection
) -> None:
    """
    1. An auditor reads the audit log filtered by who and by what; an ops person may not.
    2. PostgreSQL itself refuses to change, delete or truncate audit rows.
    """
    ops = await center.person("sun.li", ["ops"])
    await center.login(ops)
    assert (await center.client.get("/audit")).status == 403
    auditor = await center.person("he.jing", ["auditor"])
    await center.login(auditor)
    got = await (await center.client.get("/audit", params={"who": ops})).json()
    assert [(r["what"], r["outcome"]) for r in got["audit"]] == [
        ("access.refused", "forbidden"),
        ("login", "ok"),
    ]
    got = await (await center.client.get("/audit", params={"what": "account."})).json()
    assert {r["target"] for r in got["audit"]} >= {ops, auditor}
    resp = await center.client.get("/audit", params={"since": "yesterday"})
    assert (resp.status, (await resp.json())["error_id"]) == (400, "bad_filter")
    for statement in (
        "UPDATE audit_log SET who = 'nobody' WHERE who = $1",
        "DELETE FROM audit_log WHERE who = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await db.execute(statement, ops)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("TRUNCATE audit_log")
    assert len(await audited(db, ops)) == 2


async def test_a_revoked_token_is_refused_and_audited(
    center: Center, db: asyncpg.Connection
) -> None:
    """A client's token works with its roles only; once revoked it is a 401 (audited). The
    instance's own token keeps working."""
    client = center.name("wallboard")
    token = await tokens.add(center.engine, client, ["supervisor"], "cli:test")
    assert await db.fetchval("SELECT count(*) FROM api_tokens WHERE token_sha256 = $1", token) == 0
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await center.client.get("/agents", headers=bearer)).status == 200
    assert (await center.client.post("/config/apply", headers=bearer)).status == 403
    await tokens.revoke(center.engine, client, "cli:test")
    resp = await center.client.get("/agents", headers=bearer)
    assert (resp.status, (await resp.json())["error_id"]) == (401, "unauthorized")
    instance = {"Authorization": f"Bearer {INSTANCE_TOKEN}"}
    assert (await center.client.get("/agents", headers=instance)).status == 200
    assert await audited(db, f"token:{client}") == [
        ("access.refused", "POST /config/apply", "forbidden")
    ]
    rows = await db.fetch("SELECT who, what FROM audit_log WHERE target = $1 ORDER BY id", client)
    assert [(r["who"], r["what"]) for r in rows] == [
        ("cli:test", "token.add"),
        ("cli:test", "token.revoke"),
    ]


async def test_recording_access_names_the_signed_in_person(
    center: Center, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """A supervisor plays a recording while claiming to be someone else in X-Hotline-User:
    the access is stored under their own account, in recording_access and the audit log."""
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "acc.wav").write_bytes(b"RIFF....")
    recording = await db.fetchval(
        "INSERT INTO recordings (channel_id, agent, path, seconds, sha256, created_at,"
        " purge_after) VALUES ('acc-test', '1001', '/var/acc.wav', 3, $1, now(),"
        " current_date + 1) RETURNING id",
        "b" * 64,
    )
    boss = await center.person("lin.tao", ["supervisor"])
    await center.login(boss)
    resp = await center.client.get(
        f"/recordings/{recording}",
        params={"reason": "complaint 42"},
        headers={"X-Hotline-User": "somebody-else"},
    )
    assert (resp.status, await resp.read()) == (200, b"RIFF....")
    access = await db.fetchrow(
        "SELECT who, why FROM recording_access WHERE recording_id = $1", recording
    )
    assert (access["who"], access["why"]) == (boss, "complaint 42")
    row = await db.fetchrow(
        "SELECT role, target, detail FROM audit_log WHERE who = $1 AND what = 'recording.access'",
        boss,
    )
    assert (row["role"], row["target"]) == ("supervisor", str(recording))
    assert "somebody-else" not in str(await audited(db, boss))


async def hotline_cli(*args: str) -> int:
    """`hotline … --instance test` in this process (its parser and command, without the
    seconds a new Python takes to start): the exit code."""
    parsed = cli.parser().parse_args([*args, "--instance", "test"])
    code: int = await asyncio.to_thread(parsed.func, parsed)
    return code


async def test_the_first_ops_account_comes_from_the_cli(
    center: Center, db: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    1. `hotline accounts add --role ops --generate NAME` prints a password once; it logs in.
    2. A weak password is refused by the CLI, nothing is created.
    3. `disable` ends the session at once and refuses the next login; all audited by the
       host's user.
    """
    name = center.name("ops.first")
    assert await hotline_cli("accounts", "add", "--role", "ops", "--generate", name) == 0
    password = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    await center.login(name, password)
    assert (await center.client.get("/session")).status == 200
    weak = center.name("ops.weak")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO("123456\n"))
        assert await hotline_cli("accounts", "add", "--role", "ops", "--password-stdin", weak) == 2
    assert "at least 12 characters" in capsys.readouterr().err
    assert await hotline_cli("accounts", "list") == 0
    listed = capsys.readouterr().out
    assert name in listed and weak not in listed and "hash" not in listed
    assert await hotline_cli("accounts", "disable", name) == 0
    assert (await center.client.get("/session")).status == 401
    resp = await center.client.post("/session", json={"name": name, "password": password})
    assert resp.status == 401
    rows = await db.fetch("SELECT who, what FROM audit_log WHERE target = $1 ORDER BY id", name)
    assert [r["what"] for r in rows] == ["account.add", "account.disable"]
    assert all(r["who"].startswith("cli:") for r in rows)
