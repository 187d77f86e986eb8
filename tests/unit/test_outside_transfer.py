"""Blind transfer to another department through the trunk (acd/outside_transfer.py): the
caller stays with the agent until the department answers; a failed number brings nobody
away from the caller."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from acd.channel_events import ChannelAnswered, ChannelHangup, KeyPressed
from acd.conversation import WITH_CALLER, Conversation
from acd.conversation_actions import (
    AddToBridge,
    CloseBridge,
    DialOutside,
    HangUpAgent,
    HangUpCaller,
    Record,
    RingAgent,
    Tell,
    TellAgent,
)
from acd.queues import QueuesConfig
from acd.roster import AgentEntry
from acd.router import Offer, Router, RouterError
from acd.state import AgentStatus
from hotline.config_files import ConfigError
from hotline.instance import load_center

REPO = Path(__file__).parents[2]
NOW = 1_000_000.0


def talking() -> tuple[Router, Conversation, str]:
    """Agent 1001 talking with caller c1; the housing fund is * 8 away."""
    config = QueuesConfig.model_validate(
        {
            "queues": {"general": {"wrapup_seconds": 5}, "expert": {}},
            "transfers": {"1": "expert"},
            "outside": {"housing_fund": {"number": "12329", "key": "8"}},
        }
    )
    router = Router(config, [AgentEntry(number="1001", name="1001", skills={})])
    router.login("1001", NOW)
    call = Conversation(router=router, call_id="c1", queue="general", entered=NOW)
    (told,) = call.enter(NOW)
    assert isinstance(told, Tell)
    offer = next(d for d in told.decisions if isinstance(d, Offer))
    ring = call.offer(offer.agent, offer.ring_seconds)[-1]
    assert isinstance(ring, RingAgent)
    call.on_agent("1001", ring.channel, ChannelAnswered(ring.channel), NOW)
    return router, call, ring.channel


def dial(call: Conversation, agent_channel: str) -> DialOutside:
    call.on_agent("1001", agent_channel, KeyPressed(agent_channel, "*"), NOW + 10)
    actions = call.on_agent("1001", agent_channel, KeyPressed(agent_channel, "8"), NOW + 10)
    (dialled,) = [a for a in actions if isinstance(a, DialOutside)]
    assert dialled.number == "12329"
    assert not any(isinstance(a, HangUpAgent) for a in actions)
    return dialled


def test_the_agent_leaves_once_the_department_answers() -> None:
    router, call, agent_channel = talking()
    dialled = dial(call, agent_channel)
    assert (call.phase, router.agents["1001"].status) == ("talking", AgentStatus.on_call)
    actions = call.on_agent("outside", dialled.channel, ChannelAnswered(dialled.channel), NOW + 30)
    assert AddToBridge(dialled.channel) in actions and HangUpAgent(agent_channel) in actions
    facts = [a for a in actions if isinstance(a, Record)]
    assert Record("segment_ended", {"agent": "1001", "outcome": "transferred"}) in facts
    assert (
        Record("transferred_out", {"agent": "1001", "to": "housing_fund", "number": "12329"})
        in facts
    )
    assert call.phase == "outside" and call.phase in WITH_CALLER
    assert router.agents["1001"].status is AgentStatus.wrap_up
    assert "c1" not in router.waiting
    # The agent's phone hanging up now changes nothing; the department's ends the call.
    assert call.on_agent("1001", agent_channel, ChannelHangup(agent_channel, 16), NOW + 31) == []
    end = call.on_agent("outside", dialled.channel, ChannelHangup(dialled.channel, 16), NOW + 90)
    assert end[-2:] == [CloseBridge(), HangUpCaller()]
    assert call.phase == "done"


@pytest.mark.parametrize(("cause", "why"), [(17, "busy"), (19, "no_answer"), (38, "unreachable")])
def test_a_failed_number_leaves_the_agent_with_the_caller(cause: int, why: str) -> None:
    router, call, agent_channel = talking()
    dialled = dial(call, agent_channel)
    actions = call.on_agent("outside", dialled.channel, ChannelHangup(dialled.channel, cause), NOW)
    assert TellAgent(agent_channel, ("outside-failed",)) in actions
    assert Record("transfer_out_failed", {"to": "housing_fund", "why": why, "cause": cause}) in (
        actions
    )
    assert (call.phase, call.agent, call.outside) == ("talking", "1001", None)
    assert router.agents["1001"].current_call == "c1"
    # They can try again.
    assert dial(call, agent_channel).channel != dialled.channel


def test_the_caller_leaving_hangs_up_the_department_ringing_or_talking() -> None:
    _, call, agent_channel = talking()
    dialled = dial(call, agent_channel)
    left = call.caller_left(NOW + 20)
    assert HangUpAgent(dialled.channel) in left and HangUpAgent(agent_channel) in left
    _, call, agent_channel = talking()
    dialled = dial(call, agent_channel)
    call.on_agent("outside", dialled.channel, ChannelAnswered(dialled.channel), NOW + 30)
    left = call.caller_left(NOW + 60)
    assert HangUpAgent(dialled.channel) in left and CloseBridge() in left
    assert call.phase == "done"


def test_an_outside_key_taken_by_a_queue_transfer_is_refused_with_its_line(tmp_path: Path) -> None:
    config_dir = tmp_path / "dialplan"
    shutil.copytree(REPO / "dialplan", config_dir)
    queues = config_dir / "queues.yaml"
    queues.write_text(queues.read_text().replace('key: "8"}', 'key: "1"}', 1))
    with pytest.raises(ConfigError) as refused:
        load_center(config_dir)
    (problem,) = refused.value.problems
    line = next(
        n for n, text in enumerate(queues.read_text().splitlines(), 1) if "housing_fund" in text
    )
    assert f"queues.yaml:{line}: outside.housing_fund.key" in problem, problem


def test_no_consult_while_a_department_rings() -> None:
    """* 8 dials the department; * * 1 before it answers asks no expert (one hand-on at a
    time: an answering department would otherwise take the expert's call), nor does the API."""
    _router, call, agent_channel = talking()
    dial(call, agent_channel)
    for digit in "**1":
        call.on_agent("1001", agent_channel, KeyPressed(agent_channel, digit), NOW + 11)
    assert (call.phase, call.consult) == ("talking", None)
    with pytest.raises(RouterError, match="department"):
        call.ask_consult("expert", NOW + 12)


def test_key_0_and_a_key_given_twice_are_refused(tmp_path: Path) -> None:
    """`*` `0` is the agent's (cancel a consult, a work order after one); two departments
    cannot share a key (the second would silently win)."""
    config_dir = tmp_path / "dialplan"
    shutil.copytree(REPO / "dialplan", config_dir)
    queues = config_dir / "queues.yaml"
    text = queues.read_text().replace('key: "8"}', 'key: "0"}', 1)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "housing_fund" in t)
    text = text.replace(
        "  housing_fund:",
        '  tax: {number: "12366", key: "9"}\n  tax2: {number: "12367", key: "9"}\n  housing_fund:',
        1,
    )
    queues.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_center(config_dir)
    problems = "\n".join(refused.value.problems)
    assert f"queues.yaml:{line + 2}: outside.housing_fund.key: a transfer key is 1-9" in problems
    assert "outside.tax2.key: key '9' is 'tax''s too" in problems, problems
