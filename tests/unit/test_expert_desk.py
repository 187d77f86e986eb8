"""An expert consulted (acd/consult.py) at their desk. The router has them on the consult
request (`<call>~x<n>`), which no conversation owns: the web desk shows them the caller
held for the consult (and their wrap-up topic is for that call), and their commands about
the call are refused with 409 `expert_in_consult`, never posted to the request where nobody
would see them. The consult itself runs on the pure machine and a real router
(tests/unit/test_consult.py); the routes run in-process around them (no Asterisk, no
database), as in tests/component/test_web_bad_input.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from acd.consult import consulted_on
from acd.desk_call import CallContext, DeskCalls
from acd.queues import OutsideNumber
from acd.wallboard import DayTally
from hotline import console
from hotline.console_calls import CallerRoutes
from hotline.desk import Desk
from hotline.desk_work_order import led_by_another
from hotline.store.journal import Fact, Journal
from hotline.web import Metrics, make_app
from tests.unit.test_consult import Seen, consulting

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CALLER = "13812345678"


def center(c: Seen, tmp_path: Path) -> tuple[Any, list[object]]:
    """The controller as the routes see it, around the consult's router and conversation;
    what would be posted to calls is collected."""
    posted: list[object] = []
    journal = Journal(engine=None, spool_dir=tmp_path / "journal")
    desk = Desk(
        router=c.router,
        ari=SimpleNamespace(),  # type: ignore[arg-type]
        ami=SimpleNamespace(),  # type: ignore[arg-type]
        journal=journal,
        post=lambda call, item: posted.append((call, item)),
        recordings_dir=Path("/nowhere"),
        host_root=tmp_path,
    )
    conversation = c.calls["c1"]
    person = SimpleNamespace(
        queue=conversation.queue,
        entered=conversation.entered,
        answered_at=conversation.answered_at,
        conversation=conversation,
    )
    flow = SimpleNamespace(caller_number=CALLER, person=person, session=None)
    controller = SimpleNamespace(
        config=SimpleNamespace(api_token=TOKEN, host_root=tmp_path),
        desk=desk,
        engine=None,
        journal=journal,
        calls={"c1": flow},
    )
    return controller, posted


def test_an_expert_consulted_is_on_the_request_of_the_callers_call() -> None:
    c, _agent, _expert = consulting()
    assert c.router.agents["1001"].current_call == "c1"
    assert consulted_on(c.router.agents["1001"].current_call) is None
    request = c.router.agents["1004"].current_call
    assert request is not None and request != "c1"
    assert consulted_on(request) == "c1"
    assert consulted_on(None) is None


def test_the_desk_call_of_an_expert_consulted_is_the_callers() -> None:
    c, _agent, _expert = consulting()
    request = c.router.agents["1004"].current_call
    calls = DeskCalls()
    known = CallContext("c1", CALLER, "general")
    calls.put_through("1004", known)
    assert calls.of("1004", request) == known
    assert calls.of("1004", "c9") is None  # another call, not yet put through


async def test_an_experts_commands_during_a_consult_are_refused_not_lost(tmp_path: Path) -> None:
    """
    1. 1001 consults the expert queue about caller c1; expert 1004 answers and talks.
    2. Every command of 1004 about their call (transfer, transfer out, consult, complete,
       three-way, cancel, work order) is refused with 409 `expert_in_consult`; nothing is
       posted to any call.
    3. The asking agent's own command still goes to the caller's call (202).
    """
    c, _agent, _expert = consulting()
    c.router.config.outside["housing_fund"] = OutsideNumber(number="12329", key="8")
    controller, posted = center(c, tmp_path)
    app = make_app(controller, SimpleNamespace(), Metrics())  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        for command in (
            "transfer?queue=pension",
            "transfer-out?to=housing_fund",
            "consult?queue=expert",
            "complete",
            "three-way",
            "cancel",
            "work-order",
        ):
            resp = await client.post(f"/agents/1004/{command}", headers=AUTH)
            body = await resp.json()
            assert (resp.status, body.get("error_id")) == (409, "expert_in_consult"), command
            assert "leads the call" in body["message"]
        assert posted == []
        resp = await client.post("/agents/1001/complete", headers=AUTH)
        assert resp.status == 202, await resp.text()
        assert posted == [("c1", ("consult", "complete", "1001", ""))]


def test_the_desk_shows_an_expert_consulted_the_caller_and_their_topic_is_for_that_call(
    tmp_path: Path,
) -> None:
    """
    1. While consulted, 1004's live desk shows the caller (masked), marked `consulted` (the
       page greys the consult's buttons), since the expert answered; 1001's does not say so.
    2. The desk call route shows them c1 while they talk. The journal's `segment_answered`
       of 1004 on c1 makes it their desk call, so that after 1001 cancelled the consult
       (after-call work) it is still c1, the call their wrap-up topic is for.
    """
    c, agent, _expert = consulting()
    controller, _posted = center(c, tmp_path)
    board = console.Wallboard(controller.desk)
    seen = console.desk_view(controller, board, "1004")
    consult = c.calls["c1"].consult
    assert consult is not None
    assert seen["call"] == {
        "queue": "general",
        "caller": "138****5678",
        "since": round(consult.answered_at, 1),
        "consulted": True,
    }
    assert "consulted" not in console.desk_view(controller, board, "1001")["call"]

    on_desk = CallerRoutes(controller, DayTally()).desk_call("1004")
    assert on_desk is not None and (on_desk.call_id, on_desk.caller) == ("c1", CALLER)

    routes = CallerRoutes(controller, DayTally())  # the desk page not opened meanwhile
    for fact in c.facts["c1"]:
        routes.observe(Fact("c1", fact.kind, dict(fact.data)))
    c.keys(agent, "*0")  # 1001 cancels: 1004 is off the call, in wrap-up
    assert c.router.agents["1004"].current_call is None
    after = routes.desk_call("1004")
    assert after is not None and after.call_id == "c1"


def test_an_expert_consulted_files_no_work_order_on_the_callers_call(tmp_path: Path) -> None:
    """The agent who leads the call files its order (POST /console/desk/work-order): not
    the expert while consulted, nor after the consult was cancelled and the call goes on."""
    c, agent, _expert = consulting()
    controller, _posted = center(c, tmp_path)
    controller.calls["c1"].person.agent = "1001"
    known = CallContext("c1", CALLER, "general")
    assert led_by_another(controller, known, "1004")
    assert not led_by_another(controller, known, "1001")
    c.keys(agent, "*0")  # cancelled: 1001 is back with the caller
    assert c.router.agents["1004"].current_call is None
    assert led_by_another(controller, known, "1004")
    assert not led_by_another(controller, known, "1001")
    del controller.calls["c1"]  # the call is over: whoever has it on their desk files
    assert not led_by_another(controller, known, "1004")
