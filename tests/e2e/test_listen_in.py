"""A supervisor listens to, whispers to and barges into a live conversation on their own desk
phone, through the real Asterisk: who hears whom is measured on each phone's RTP (each person
speaks a tone of their own, tests/support/handset.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from hotline import accounts
from tests.support.desk import answered_by, in_conversation, phone, set_agent
from tests.support.handset import Handset
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Hold, WaitForHangup
from tests.support.system import SystemUnderTest

PASSWORD = "班长-监听-correct-horse"
CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 500, 1100, 1700
HEARD, SILENT = 1500.0, 300.0  # a tone is sent at amplitude 6000


@pytest.fixture
async def supervisor(running: SystemUnderTest, db: asyncpg.Connection) -> AsyncIterator[str]:
    """A supervisor account tied to desk phone 1004 (its 工号), for this test only."""
    name = f"sup-{uuid.uuid4().hex[:6]}"
    await db.execute("DELETE FROM accounts WHERE agent = '1004'")
    engine = create_async_engine(running.instance.database_url or "")
    try:
        await accounts.add(engine, name, PASSWORD, ["supervisor"], "1004", "cli:test")
    finally:
        await engine.dispose()
    yield name
    await db.execute("DELETE FROM accounts WHERE name = $1", name)


class Wallboard:
    """The supervisor's browser session, as the wallboard's buttons use it."""

    def __init__(self, system: SystemUnderTest) -> None:
        self.base = f"http://127.0.0.1:{system.settings.ports.http}"
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def login(self, name: str) -> None:
        async with self.http.post(
            f"{self.base}/session", json={"name": name, "password": PASSWORD}
        ) as resp:
            assert resp.status == 200, await resp.text()
            self.csrf = (await resp.json())["csrf_token"]

    async def supervise(self, agent: str, mode: str) -> tuple[int, dict[str, Any]]:
        async with self.http.post(
            f"{self.base}/supervision/{agent}/{mode}", headers={"X-CSRF-Token": self.csrf}
        ) as resp:
            return resp.status, await resp.json()


async def audit_rows(db: asyncpg.Connection, who: str) -> list[tuple[str, str, str, str]]:
    """(what, outcome, mode, reason or error) of a supervisor's supervision rows, in order."""
    rows = await db.fetch(
        "SELECT what, outcome, detail FROM audit_log WHERE who = $1"
        " AND what LIKE 'supervision.%' ORDER BY id",
        who,
    )
    out = []
    for r in rows:
        d = json.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"]
        out.append((r["what"], r["outcome"], d["mode"], d.get("reason", d.get("error_id", ""))))
    return out


async def talking(
    citizen: Caller, ear: Handset, observer: AriObserver, db: asyncpg.Connection
) -> None:
    """The citizen calls, asks for a person (0, 0) and is put through to agent 1001: both
    have heard the agent's number and hear each other."""
    await citizen.start([Hold(60000)])
    call = await observer.call_from(citizen.number)
    await asyncio.sleep(1.5)  # the welcome has begun: Asterisk sends, the handset answers
    await ear.press("0")
    await asyncio.sleep(0.5)
    await ear.press("0")
    await answered_by(db, call, "1001", timeout=20)
    await in_conversation(observer, call, "1001")


async def left_behind(observer: AriObserver) -> list[str]:
    """The session's channels and bridges (and the supervisor's phone's channel) still in
    Asterisk after up to 10 s: none once the session has ended."""
    for _ in range(50):
        channels = await observer.channels()
        left = [c["id"] for c in channels if c["id"].startswith("sv-")]
        left += [c["name"] for c in channels if c["name"].startswith("PJSIP/1004")]
        left += [b["id"] for b in await observer.bridges() if b["id"].startswith("sv-")]
        if not left:
            break
        await asyncio.sleep(0.2)
    return left


async def snooping(observer: AriObserver, n: int) -> float:
    """Wait until the session's nth snoop is in the supervisor's bridge; the loop time then."""
    await observer.wait_for(
        lambda e: (
            e.get("type") == "ChannelEnteredBridge"
            and e["bridge"]["id"].startswith("sv-")
            and e["channel"]["id"].startswith("sv-")
            and e["channel"]["id"].endswith(f"-s{n}")
        ),
        15,
    )
    return asyncio.get_running_loop().time()


async def listened(ears: dict[str, Handset], since: float) -> dict[str, dict[str, float]]:
    """After 1.5 s: how loud each voice was on each phone over its last second."""
    await asyncio.sleep(1.5)
    start = since + 0.4
    voices = {"caller": CALLER_HZ, "agent": AGENT_HZ, "supervisor": SUPERVISOR_HZ}
    return {
        leg: {who: round(ear.level(hz, start, start + 1.0)) for who, hz in voices.items()}
        for leg, ear in ears.items()
    }


async def test_listen_whisper_and_barge_are_heard_on_the_right_legs(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
    supervisor: str,
) -> None:
    """
    1. A citizen (tone 500 Hz) talks with agent 1001 (1100 Hz). The supervisor, signed in,
       asks to listen to 1002 (not in a conversation): refused, audited.
    2. Listen to 1001 from the wallboard: the supervisor's desk phone (1004, 1700 Hz) rings,
       answers, and hears the caller and the agent; neither hears the supervisor.
    3. Whisper: the agent hears the supervisor, the caller does not.
    4. Barge: both hear the supervisor.
    5. The caller hangs up: the supervisor's phone is hung up, no snoop or bridge of the
       session is left in Asterisk; start, switches and stop are in the audit log.
    """
    ears = {
        "caller": await Handset(CALLER_HZ).open(),
        "agent": await Handset(AGENT_HZ).open(),
        "supervisor": await Handset(SUPERVISOR_HZ).open(),
    }
    agent = phone(running, "1001", media_port=ears["agent"].port)
    boss = phone(running, "1004", media_port=ears["supervisor"].port)
    desk += [agent, boss]
    await agent.register()
    await boss.register()
    await set_agent(running, "1001", "login")
    citizen = Caller(
        sip_port=running.settings.ports.sip,
        work_dir=running.work_dir,
        number="13900001101",
        media_port=ears["caller"].port,
    )
    wallboard = Wallboard(running)
    try:
        await wallboard.login(supervisor)
        await talking(citizen, ears["caller"], observer, db)

        assert await wallboard.supervise("1002", "listen") == (
            409,
            {"error_id": "agent_not_in_conversation"},
        )
        status, body = await wallboard.supervise("1001", "listen")
        assert status == 202 and body["phone"] == "1004", body
        heard = await listened(ears, await snooping(observer, 1))
        assert heard["supervisor"]["caller"] > HEARD and heard["supervisor"]["agent"] > HEARD, heard
        assert heard["caller"]["supervisor"] < SILENT, heard
        assert heard["agent"]["supervisor"] < SILENT, heard
        assert heard["caller"]["agent"] > HEARD, heard  # the conversation goes on

        assert (await wallboard.supervise("1001", "whisper"))[0] == 202
        heard = await listened(ears, await snooping(observer, 2))
        assert heard["agent"]["supervisor"] > HEARD, heard
        assert heard["caller"]["supervisor"] < SILENT, heard
        assert heard["supervisor"]["caller"] > HEARD, heard

        assert (await wallboard.supervise("1001", "barge"))[0] == 202
        heard = await listened(ears, await snooping(observer, 3))
        assert heard["agent"]["supervisor"] > HEARD, heard
        assert heard["caller"]["supervisor"] > HEARD, heard

        await citizen.go_on()
        assert (await citizen.finish()).ok
        assert await left_behind(observer) == []
        for _ in range(25):  # the stop row is written once the snoop has ended
            if len(await audit_rows(db, supervisor)) == 5:
                break
            await asyncio.sleep(0.2)
        assert await audit_rows(db, supervisor) == [
            ("supervision.start", "refused", "listen", "agent_not_in_conversation"),
            ("supervision.start", "ok", "listen", ""),
            ("supervision.switch", "ok", "whisper", ""),
            ("supervision.switch", "ok", "barge", ""),
            ("supervision.stop", "ok", "barge", "conversation_ended"),
        ]
    finally:
        await wallboard.http.close()
        for ear in ears.values():
            await ear.close()


async def test_a_desk_phone_barges_with_a_feature_code_and_switches_with_keys(
    running: SystemUnderTest,
    db: asyncpg.Connection,
    observer: AriObserver,
    desk: list[DeskPhone],
    supervisor: str,
) -> None:
    """
    1. Refused: the supervisor's phone (1004) dials *51 1002 (1002 in no conversation);
       agent 1003's phone (no supervisor account) dials *53 1001. Both are told so and hung
       up; the refusals are audited.
    2. A citizen talks with agent 1001; the supervisor dials *53 1001 on desk phone 1004:
       both hear the supervisor. They press 1 (listen): neither hears them any more.
    3. The supervisor hangs up: the conversation goes on; start, switch and stop audited.
    """
    passwords = running.instance.secrets.agent_passwords
    sip, work = running.settings.ports.sip, running.work_dir
    refused = await asyncio.gather(
        Caller(sip_port=sip, work_dir=work, number="1004", auth=("1004", passwords["1004"])).call(
            [WaitForHangup(15000)], service="*511002"
        ),
        Caller(sip_port=sip, work_dir=work, number="1003", auth=("1003", passwords["1003"])).call(
            [WaitForHangup(15000)], service="*531001"
        ),
    )
    assert all(r.ok for r in refused), [r.output for r in refused]
    not_supervisor = await db.fetchval(
        "SELECT detail->>'error_id' FROM audit_log WHERE who = 'phone:1003'"
        " AND what = 'supervision.start' ORDER BY id DESC LIMIT 1"
    )
    assert not_supervisor == "not_a_supervisor_phone"

    ears = {
        "caller": await Handset(CALLER_HZ).open(),
        "agent": await Handset(AGENT_HZ).open(),
        "supervisor": await Handset(SUPERVISOR_HZ).open(),
    }
    agent = phone(running, "1001", media_port=ears["agent"].port)
    desk.append(agent)
    await agent.register()
    await set_agent(running, "1001", "login")
    citizen = Caller(
        sip_port=sip, work_dir=work, number="13900001102", media_port=ears["caller"].port
    )
    boss = Caller(
        sip_port=sip,
        work_dir=work,
        number="1004",
        auth=("1004", passwords["1004"]),
        media_port=ears["supervisor"].port,
    )
    try:
        await talking(citizen, ears["caller"], observer, db)
        await boss.start([Hold(30000)], service="*531001")
        heard = await listened(ears, await snooping(observer, 1))
        assert heard["agent"]["supervisor"] > HEARD, heard
        assert heard["caller"]["supervisor"] > HEARD, heard
        assert heard["supervisor"]["caller"] > HEARD, heard

        await ears["supervisor"].press("1")
        heard = await listened(ears, await snooping(observer, 2))
        assert heard["agent"]["supervisor"] < SILENT, heard
        assert heard["caller"]["supervisor"] < SILENT, heard
        assert heard["supervisor"]["agent"] > HEARD, heard

        await boss.go_on()
        assert (await boss.finish()).ok
        assert await left_behind(observer) == []
        for _ in range(25):
            if len(await audit_rows(db, supervisor)) == 4:
                break
            await asyncio.sleep(0.2)
        assert await audit_rows(db, supervisor) == [
            ("supervision.start", "refused", "listen", "agent_not_in_conversation"),
            ("supervision.start", "ok", "barge", ""),
            ("supervision.switch", "ok", "listen", ""),
            ("supervision.stop", "ok", "listen", "supervisor_hung_up"),
        ]
        since = asyncio.get_running_loop().time()
        heard = await listened(ears, since)
        assert heard["caller"]["agent"] > HEARD, heard  # the conversation goes on
        await citizen.go_on()
        assert (await citizen.finish()).ok
    finally:
        for ear in ears.values():
            await ear.close()
