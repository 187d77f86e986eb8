"""The owner's call-back starts in its own call's consumer, after the click was answered
(hotline/order_calls.py): the agent's state is checked again there. Run in-process around
the real router and the shipped config; Asterisk's side is a stand-in that keeps what it is
asked (no call is placed), and the call's mailbox is held so that the test decides what
happens between the click and the start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from acd.order_calls import SavedCallBack, saved_order_call
from acd.queues import load_queues
from acd.roster import load_roster
from acd.router import Router
from acd.state import AgentStatus
from acd.work_orders import DeadlinePolicy, WorkOrder, open_order
from hotline import REPO_ROOT
from hotline.desk import Desk
from hotline.order_call_legs import ORDER_CALL_VAR, PAUSE_REASON
from hotline.order_calls import OrderCallRefused, OrderCalls
from hotline.store.journal import Journal
from ivr.hours import load_hours

CONFIG = REPO_ROOT / "dialplan"
AGENT = "1002"


class Asterisk:
    """ARI as the call-back uses it: what it is asked, kept; nothing rings."""

    app = "hotline-test"

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.bodies: list[Any] = []

    async def request(
        self, method: str, path: str, params: dict[str, Any], body: Any = None
    ) -> dict[str, Any]:
        self.requests.append((method, path, params))
        self.bodies.append(body)
        return {}


class Center:
    """The controller as the work-order calls see it: the real router, desk and journal."""

    def __init__(self, tmp_path: Path) -> None:
        self.router = Router(load_queues(CONFIG), list(load_roster(CONFIG).agents))
        self.ari = Asterisk()
        self.held: list[tuple[str, Any]] = []  # the calls' mailboxes, not handled yet
        self.posted = asyncio.Event()
        self.desk = Desk(
            router=self.router,
            ari=self.ari,  # type: ignore[arg-type]
            ami=SimpleNamespace(),  # type: ignore[arg-type]
            journal=Journal(engine=None, spool_dir=tmp_path / "journal"),
            post=lambda call, item: None,
            recordings_dir=Path("/nowhere"),
            host_root=tmp_path,
        )
        controller = SimpleNamespace(
            desk=self.desk,
            engine=None,
            run_id="t",
            config=SimpleNamespace(sounds_dir=tmp_path),
            mailboxes=SimpleNamespace(post=self._hold),
        )
        self.calls = OrderCalls(controller)  # type: ignore[arg-type]

    def _hold(self, call: str, item: Any) -> None:
        self.held.append((call, item))
        self.posted.set()

    def state(self) -> tuple[AgentStatus, str]:
        agent = self.router.agents[AGENT]
        return agent.status, agent.reason

    async def clicked(self, order: WorkOrder) -> asyncio.Task[str]:
        """The owner's click: the API's request runs until the start is posted."""
        self.posted.clear()
        task = asyncio.create_task(self.calls.call_back(order, AGENT))
        posted = asyncio.create_task(self.posted.wait())
        await asyncio.wait({task, posted}, return_when=asyncio.FIRST_COMPLETED)
        posted.cancel()
        return task

    async def start(self) -> None:
        """The call's consumer takes the start."""
        call_id, (_, _, item) = self.held.pop(0)
        await self.calls.handle(call_id, item)


def order(number: str = "202600000001") -> WorkOrder:
    return open_order(
        number=number,
        caller_number="13900000561",
        callback_number="13900000561",
        id_number="",
        question="失业金何时到账",
        line="employment",
        kind="standard",
        owner=AGENT,
        by=AGENT,
        at=dt.datetime(2026, 12, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        policy=DeadlinePolicy(),
        hours=load_hours(CONFIG),
    )


def took_a_caller(c: Center) -> None:
    c.desk.apply(c.router.enqueue("c1", "employment", 0, time.time()))
    assert c.state() == (AgentStatus.offered, "")


def logged_out(c: Center) -> None:
    c.desk.apply(c.router.logout(AGENT, time.time()))


def paused_for_a_meeting(c: Center) -> None:
    c.desk.apply(c.router.pause(AGENT, "meeting", time.time()))


@pytest.mark.parametrize(
    ("meanwhile", "error_id"),
    [
        (took_a_caller, "agent_busy"),
        (logged_out, "agent_logged_out"),
        (paused_for_a_meeting, "agent_paused"),
    ],
)
async def test_an_agent_no_longer_free_when_the_call_back_starts_is_not_rung(
    tmp_path: Path, meanwhile: Callable[[Center], None], error_id: str
) -> None:
    """1002 is ready and clicks; before the call-back's start, they take a queue caller,
    log out or pause for a meeting. The start refuses: the API's answer is the refusal,
    nothing is dialled, the agent's state is theirs (not paused for the call-back), and
    the call-back is gone (the order may be called again)."""
    c = Center(tmp_path)
    c.desk.apply(c.router.login(AGENT, time.time()))
    assert c.state() == (AgentStatus.ready, "")
    task = await c.clicked(order())
    meanwhile(c)
    state = c.state()
    await c.start()
    with pytest.raises(OrderCallRefused) as refused:
        await task
    assert refused.value.error_id == error_id
    assert c.ari.requests == []
    assert c.state() == state and state[1] != PAUSE_REASON
    assert c.calls.calls == {} and c.calls.channels == {}


async def test_an_agent_still_free_is_rung_and_one_call_back_at_a_time(tmp_path: Path) -> None:
    """
    1. 1002, ready, clicks; nothing changed by the start: their desk phone is dialled and
       they are paused for the call-back; the API's answer is the call's id.
    2. While that call-back rings, 1002 clicks another order's: refused (agent_busy),
       nothing more dialled.
    3. Paused for a meeting when they click, and still at the start: rung (a pause they
       chose before asking is theirs to call from).
    """
    c = Center(tmp_path)
    c.desk.apply(c.router.login(AGENT, time.time()))
    task = await c.clicked(order())
    await c.start()
    call_id = await task
    assert [(m, p, b["endpoint"]) for m, p, b in c.ari.requests] == [
        ("POST", "/channels", f"PJSIP/{AGENT}")
    ]
    assert c.ari.requests[0][2]["channelId"] == f"{call_id}-a"
    assert c.state() == (AgentStatus.paused, PAUSE_REASON)
    # Kept on the desk phone's channel from the dial on: a successor can end it cleanly.
    kept = saved_order_call(c.ari.bodies[0]["variables"][ORDER_CALL_VAR])
    assert kept == SavedCallBack(order().number, AGENT, "13900000561", (AgentStatus.ready, ""))

    with pytest.raises(OrderCallRefused) as refused:
        await c.calls.call_back(order("202600000002"), AGENT)
    assert refused.value.error_id == "agent_busy"
    assert len(c.ari.requests) == 1 and len(c.held) == 0

    other = Center(tmp_path / "other")
    other.desk.apply(other.router.login(AGENT, time.time()))
    paused_for_a_meeting(other)
    task = await other.clicked(order())
    await other.start()
    assert (await task).startswith("wo202600000001-")
    assert len(other.ari.requests) == 1
