"""The calls the center places about a work order, through the real Asterisk: the owner's
click-to-call-back (their desk phone first, then the citizen's mobile behind the trunk) and
the follow-up call that asks the satisfaction question."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import urllib.error
import urllib.request
from typing import Any

import asyncpg
import pytest

from tests.support.desk import agent_states, phone, set_agent
from tests.support.observer import AriObserver
from tests.support.phones import DeskPhone
from tests.support.system import DEPARTMENT_PORT, SystemUnderTest


def api(system: SystemUnderTest, path: str, body: dict[str, Any] | None = None) -> Any:
    """One POST with a JSON body, as the instance (a supervisor)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{system.settings.ports.http}{path}",
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {system.instance.secrets.api_token}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


async def order_row(
    db: asyncpg.Connection, number: str, until: Any, timeout: float = 40
) -> asyncpg.Record:
    for _ in range(int(timeout * 5)):
        row = await db.fetchrow("SELECT * FROM work_orders WHERE number = $1", number)
        steps = await db.fetch(
            "SELECT s.status, s.note FROM work_order_steps s JOIN work_orders w"
            " ON w.id = s.order_id WHERE w.number = $1 ORDER BY s.id",
            number,
        )
        if row is not None and until(row, steps):
            return row
        await asyncio.sleep(0.2)
    raise AssertionError(f"order {number}: {row} {steps}")


async def test_an_answered_order_is_called_back_by_its_owner_then_followed_up(
    running: SystemUnderTest, db: asyncpg.Connection, desk: list[DeskPhone]
) -> None:
    """
    1. Agent 1002 is ready; an order of theirs is sent to the employment office, which
       answers it (the status API).
    2. An unknown order cannot be called (404); the supervisor's request (202)
       rings 1002's desk phone first, then the citizen's mobile behind the trunk: both
       answer, talk, 1002 hangs up. 1002 was paused meanwhile (no caller offered), ready after.
    3. A segment (queue work_order) and a recording are kept for the call; the order's
       history notes the call-back.
    4. The follow-up call rings the mobile again; the citizen presses 1 (satisfied): the
       order is followed_up with satisfaction 5.
    """
    number = "13900000561"
    agent = phone(running, "1002", talk_ms=6000)
    mobile = DeskPhone(
        user=number,
        password="-",
        sip_port=running.settings.ports.sip,
        work_dir=running.work_dir / f"mobile-{number}",
        keys=(1500, "1"),
        calls=2,
    )
    desk += [agent, mobile]
    await agent.register()
    await set_agent(running, "1002", "login")
    await mobile.answer_at(DEPARTMENT_PORT)
    order = await asyncio.to_thread(
        api,
        running,
        "/work-orders",
        {
            "question": "失业金何时到账",
            "line": "employment",
            "caller_number": number,
            "owner": "1002",
            "office": "employment",
        },
    )
    n = order["number"]
    await asyncio.to_thread(api, running, f"/work-orders/{n}/status", {"status": "sent_to_office"})
    answer = {"status": "answered", "answer": "已于12月1日发放"}
    await asyncio.to_thread(api, running, f"/work-orders/{n}/status", answer)
    with pytest.raises(urllib.error.HTTPError) as refused:
        await asyncio.to_thread(api, running, "/work-orders/000000000000/call")
    assert refused.value.code == 404
    refused.value.close()
    placed = await asyncio.to_thread(api, running, f"/work-orders/{n}/call")
    assert placed["agent"] == "1002" and placed["call"].startswith(f"wo{n}-")
    call_id = placed["call"]

    def called_back(row: asyncpg.Record, steps: list[asyncpg.Record]) -> bool:
        return row["called_back_at"] is not None

    await order_row(db, n, called_back)
    segment = await db.fetchrow("SELECT * FROM call_segments WHERE channel_id = $1", call_id)
    assert (segment["queue"], segment["agent"], segment["outcome"]) == (
        "work_order",
        "1002",
        "talked",
    )
    assert segment["answered_at"] is not None

    def followed_up(row: asyncpg.Record, steps: list[asyncpg.Record]) -> bool:
        return row["status"] == "followed_up"

    row = await order_row(db, n, followed_up)
    assert (row["satisfaction"], row["follow_up_result"], row["follow_up_attempts"]) == (
        5,
        "rated",
        1,
    )
    steps = await db.fetch(
        "SELECT s.status, s.note FROM work_order_steps s JOIN work_orders w"
        " ON w.id = s.order_id WHERE w.number = $1 ORDER BY s.id",
        n,
    )
    notes = [(s["status"], s["note"].split(",")[0]) for s in steps]
    assert notes[-2:] == [
        ("answered", f"call-back {call_id} by 1002: talked"),
        ("followed_up", "follow-up: rated (attempt 1)"),
    ]
    for _ in range(50):
        recorded = await db.fetch("SELECT agent FROM recordings WHERE channel_id = $1", call_id)
        if recorded:
            break
        await asyncio.sleep(0.2)
    assert [r["agent"] for r in recorded] == ["1002"]
    reasons = await db.fetch(
        "SELECT status, reason FROM agent_state_changes WHERE agent = '1002' ORDER BY id"
    )
    tail = [(r["status"], r["reason"]) for r in reasons][-2:]
    assert tail == [("paused", "work_order_call"), ("ready", "")], tail
    assert await agent_states(db, "1002")


async def test_a_call_back_in_conversation_outlives_a_controller_restart(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver, desk: list[DeskPhone]
) -> None:
    """
    1. 1003 calls back the citizen of an open order of theirs: both answer and talk,
       recorded; 1003 is paused for the call-back.
    2. The controller is killed and started again: the call-back is carried on.
    3. 1003 hangs up: the citizen's phone is hung up; the segment ends as talked and the
       call-back's end is written once; the recording is stored, the order's history
       notes the call, and 1003 is ready again (not paused for the call-back any more).
    """
    number = "13900000562"
    agent = phone(running, "1003")
    mobile = DeskPhone(
        user=number,
        password="-",
        sip_port=running.settings.ports.sip,
        work_dir=running.work_dir / f"mobile-{number}",
        calls=1,
    )
    desk += [agent, mobile]
    await agent.register()
    await set_agent(running, "1003", "login")
    await mobile.answer_at(DEPARTMENT_PORT)
    order = {"question": "社保卡补办进度", "line": "employment", "caller_number": number}
    n = (await asyncio.to_thread(api, running, "/work-orders", {**order, "owner": "1003"}))[
        "number"
    ]
    call_id = (await asyncio.to_thread(api, running, f"/work-orders/{n}/call"))["call"]
    # Once recorded, the call-back (with its recording) is kept on the desk phone's channel
    # (a release that keeps nothing goes on: what follows says what it lost).
    with contextlib.suppress(TimeoutError):
        await observer.wait_for(
            lambda e: (
                e.get("type") == "ChannelVarset"
                and e.get("channel", {}).get("id") == f"{call_id}-a"
                and ".wav" in e.get("value", "")
            ),
            timeout=15,
        )
    for _ in range(50):  # the facts so far are in the database, not in the dead one's spool
        if await db.fetchval(
            "SELECT answered_at FROM call_segments WHERE channel_id = $1", call_id
        ):
            break
        await asyncio.sleep(0.2)
    running.controller.stop(signal.SIGKILL)
    running.controller.start()
    for _ in range(50):  # the new controller takes the call-back back in the background
        if "order_call_back_resumed" in running.controller.log_tail(200):
            break
        await asyncio.sleep(0.2)
    await observer.hang_up(f"{call_id}-a")
    assert await mobile.handled_all(10), "the citizen was left alone on the line"

    def noted(row: asyncpg.Record, steps: list[asyncpg.Record]) -> bool:
        return bool(steps) and steps[-1]["note"].startswith(f"call-back {call_id} by 1003: ")

    row = await order_row(db, n, noted, timeout=15)
    assert row["called_back_at"] is not None
    for _ in range(50):
        recorded = await db.fetch("SELECT agent FROM recordings WHERE channel_id = $1", call_id)
        if recorded:
            break
        await asyncio.sleep(0.2)
    assert [r["agent"] for r in recorded] == ["1003"]
    ended = await db.fetch(
        "SELECT data FROM call_events WHERE channel_id = $1 AND kind = 'work_order_call_ended'",
        call_id,
    )
    assert [json.loads(e["data"])["outcome"] for e in ended] == ["talked"]
    segment = await db.fetchrow("SELECT * FROM call_segments WHERE channel_id = $1", call_id)
    assert (segment["agent"], segment["outcome"]) == ("1003", "talked")
    assert segment["ended_at"] is not None
    reasons = await db.fetch(
        "SELECT status, reason FROM agent_state_changes WHERE agent = '1003' ORDER BY id"
    )
    tail = [(r["status"], r["reason"]) for r in reasons][-2:]
    assert tail == [("paused", "work_order_call"), ("ready", "")], tail
