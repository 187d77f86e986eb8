"""The attended consult (acd/consult.py) on the conversation machine, scenario by scenario,
against a real router and the in-memory shell of test_conversation_machine.py; and a
property test whose events favour consults (the general one rarely gets an expert on)."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from acd.channel_events import ChannelAnswered, ChannelHangup, KeyPressed, PlaybackDone
from acd.conversation import Conversation
from acd.conversation_actions import (
    BackToCaller,
    ConsultBridge,
    ConversationAction,
    HandToExpert,
    HoldCaller,
    OpenWorkOrder,
    TellAgent,
    ThreeWay,
)
from acd.router import AgentStatus, RouterError
from tests.unit.test_conversation_machine import Center, ConversationMachine


class Seen(Center):
    """The shell, keeping every action in order."""

    def __init__(self) -> None:
        super().__init__()
        self.actions: list[ConversationAction] = []

    def run(self, call: str, actions: list[ConversationAction]) -> None:
        self.actions += actions
        super().run(call, actions)

    def settle(self) -> None:
        """Every mailbox handled."""
        while any(self.mailbox.values()):
            for call, box in list(self.mailbox.items()):
                if box:
                    self.deliver(call)

    def answer(self, agent: str) -> str:
        """`agent`'s ringing phone picks up; its channel."""
        channel = next(ch for ch, (_, a) in self.ringing.items() if a == agent)
        call, _ = self.up[channel] = self.ringing.pop(channel)
        self.post(call, ("agent", agent, ChannelAnswered(channel, f"PJSIP/{agent}-0001")))
        self.settle()
        if channel in self.whispering:
            self.whispering.discard(channel)
            self.post(call, ("agent", agent, PlaybackDone(channel, f"{channel}.whisper")))
            self.settle()
        return channel

    def keys(self, channel: str, digits: str) -> None:
        call, agent = self.up[channel]
        for digit in digits:
            self.post(call, ("agent", agent, KeyPressed(channel, digit)))
        self.settle()

    def facts_of(self, kind: str) -> list[dict[str, Any]]:
        return [f.data for f in self.facts["c1"] if f.kind == kind]


def talking(logged_in: tuple[str, ...] = ("1001", "1002", "1003", "1004")) -> tuple[Seen, str]:
    """A caller of the general queue talking with 1001 (1001 alone ready at first)."""
    c = Seen()
    for agent in c.router.agents:
        if agent != "1001":
            c.tell(c.router.pause(agent, "break", c.now))
    c.n = 1
    conv = Conversation(router=c.router, call_id="c1", queue="general", entered=c.now)
    c.calls["c1"], c.mailbox["c1"], c.facts["c1"] = conv, deque(), []
    c.run("c1", conv.enter(c.now))
    c.settle()
    channel = c.answer("1001")
    for agent in logged_in:
        if agent != "1001":
            c.tell(c.router.ready(agent, c.now))
    for agent in c.router.agents:
        if agent not in logged_in:
            c.tell(c.router.logout(agent, c.now))
    c.settle()
    assert conv.phase == "talking"
    return c, channel


def consulting(logged_in: tuple[str, ...] = ("1001", "1004")) -> tuple[Seen, str, str]:
    """1001 consults the expert queue (ring all) with ** 1; expert 1004 answers."""
    c, agent = talking(logged_in)
    c.keys(agent, "**1")
    conv = c.calls["c1"]
    assert conv.phase == "consulting"
    assert any(isinstance(a, HoldCaller) for a in c.actions)
    expert = c.answer("1004")
    assert conv.consult is not None and conv.consult.stage == "talking"
    assert isinstance(c.actions[-1], ConsultBridge)
    assert c.router.agents["1004"].status == AgentStatus.on_call
    return c, agent, expert


def test_complete_leaves_the_caller_with_the_expert() -> None:
    c, agent, expert = consulting()
    c.keys(agent, "*1")
    conv = c.calls["c1"]
    assert (conv.phase, conv.agent, conv.agent_channel, conv.consult) == (
        "talking",
        "1004",
        expert,
        None,
    )
    assert any(isinstance(a, HandToExpert) for a in c.actions)
    assert agent not in c.up  # the asking agent's leg was hung up
    assert c.router.agents["1001"].status == AgentStatus.wrap_up
    assert c.router.agents["1004"].current_call == "c1"
    (ended,) = c.facts_of("consult_ended")
    assert (ended["agent"], ended["expert"], ended["outcome"]) == ("1001", "1004", "complete")
    assert {"agent": "1001", "outcome": "handed_over"} in c.facts_of("segment_ended")
    offered = [f for f in c.facts_of("segment_offered") if f["agent"] == "1004"]
    assert offered[0]["consulted_by"] == "1001"


def test_the_agent_hanging_up_once_the_expert_talks_completes_too() -> None:
    c, agent, _expert = consulting()
    c.up.pop(agent)
    c.post("c1", ("agent", "1001", ChannelHangup(agent, 16)))
    c.settle()
    conv = c.calls["c1"]
    assert (conv.phase, conv.agent) == ("talking", "1004")
    assert c.facts_of("consult_ended")[0]["outcome"] == "complete"


def test_three_way_then_the_agent_leaves() -> None:
    c, agent, _expert = consulting()
    c.keys(agent, "*3")
    conv = c.calls["c1"]
    assert conv.phase == "three_way"
    assert isinstance(c.actions[-1], ThreeWay)
    assert c.facts_of("consult_ended")[0]["outcome"] == "three_way"
    assert c.router.agents["1001"].current_call == "c1"
    c.keys(agent, "*1")
    assert (conv.phase, conv.agent) == ("talking", "1004")
    assert len(c.facts_of("consult_ended")) == 1


def test_three_way_then_the_expert_is_let_go() -> None:
    c, agent, expert = consulting()
    c.keys(agent, "*3")
    c.keys(agent, "*0")
    conv = c.calls["c1"]
    assert (conv.phase, conv.agent, conv.consult) == ("talking", "1001", None)
    assert expert not in c.up
    assert c.router.agents["1004"].status == AgentStatus.wrap_up


def test_cancel_puts_the_agent_back_with_the_caller() -> None:
    c, agent, expert = consulting()
    c.keys(agent, "*0")
    conv = c.calls["c1"]
    assert (conv.phase, conv.agent, conv.consult) == ("talking", "1001", None)
    assert isinstance(c.actions[-1], BackToCaller)
    assert expert not in c.up
    assert c.facts_of("consult_ended")[0]["outcome"] == "cancelled"
    assert {"agent": "1004", "outcome": "consult_cancel"} in c.facts_of("segment_ended")


def test_no_expert_logged_in_the_agent_hears_so_and_opens_a_work_order() -> None:
    c, agent = talking(logged_in=("1001",))
    c.keys(agent, "**1")
    conv = c.calls["c1"]
    assert (conv.phase, conv.consult) == ("talking", None)
    assert isinstance(c.actions[-2], BackToCaller)
    assert c.actions[-1] == TellAgent(agent, ("consult-no-expert",))
    assert c.facts_of("consult_ended")[0]["outcome"] == "no_expert"
    c.keys(agent, "*0")
    assert c.actions[-1] == OpenWorkOrder("1001", "expert")
    with pytest.raises(RouterError):  # one work order per failed consult
        conv.open_work_order()


def test_a_consult_asked_while_offers_wait_for_a_restart_rings_the_expert_after_it() -> None:
    c, agent = talking(logged_in=("1001", "1004"))
    c.router.defer_offers()  # a restarted controller is putting its callers back
    c.keys(agent, "**1")
    conv = c.calls["c1"]
    assert conv.phase == "consulting" and not c.ringing
    assert not c.facts_of("consult_ended")  # not "no expert": 1004 is ready
    c.tell(c.router.resume_offers(c.now))
    c.settle()
    c.answer("1004")
    assert conv.consult is not None and conv.consult.stage == "talking"


def test_no_expert_answers_in_time() -> None:
    c, agent = talking(logged_in=("1001", "1004"))
    c.keys(agent, "**1")
    conv = c.calls["c1"]
    assert conv.phase == "consulting" and c.ringing
    ((call, request),) = c.timers
    c.post(call, ("consult_timeout", request))
    c.settle()
    assert (conv.phase, conv.consult) == ("talking", None)
    assert not c.ringing  # the expert's phone stopped ringing
    assert c.facts_of("consult_ended")[0]["outcome"] == "no_expert"
    kinds = [f.kind for f in c.facts["c1"]]
    assert kinds.count("segment_offered") == kinds.count("segment_ended") + 1  # 1001 talks


def test_a_star_pressed_during_the_consult_does_not_carry_over() -> None:
    """1001 presses * (to cancel) while the expert rings; the consult times out before the
    0: that 0 opens no work order; * 0 then does."""
    c, agent = talking(logged_in=("1001", "1004"))
    c.keys(agent, "**1")
    c.keys(agent, "*")
    ((call, request),) = c.timers
    c.post(call, ("consult_timeout", request))
    c.settle()
    c.keys(agent, "0")
    assert not any(isinstance(a, OpenWorkOrder) for a in c.actions)
    c.keys(agent, "*0")
    assert any(isinstance(a, OpenWorkOrder) for a in c.actions)


def test_the_caller_leaving_during_a_consult_ends_every_leg() -> None:
    c, _agent, _expert = consulting()
    c.post("c1", ("caller_left",))
    c.settle()
    assert not c.up and not c.ringing
    for number in ("1001", "1004"):
        assert c.router.agents[number].current_call is None


def test_a_consult_is_not_a_blind_transfer() -> None:
    """** 1 consults; * 1 still hands the caller over blind."""
    c, agent = talking()
    c.keys(agent, "*1")
    assert c.calls["c1"].phase == "waiting"
    assert c.calls["c1"].queue == "expert"


class ConsultMachine(ConversationMachine):
    """The conversation machine with callers put through at once and consults asked
    whenever an agent talks (the general machine seldom gets that far)."""

    @rule()
    def paused_agents_are_ready_again(self) -> None:
        c = self.c
        for number, agent in sorted(c.router.agents.items()):
            if agent.status in (AgentStatus.paused, AgentStatus.wrap_up):
                c.tell(c.router.ready(number, c.now))

    @precondition(lambda self: len(self.c.calls) < 2)
    @rule()
    def a_caller_is_put_through(self) -> None:
        c = self.c
        self.caller_arrives("general")
        call = f"c{c.n}"
        while c.mailbox.get(call):
            c.deliver(call)
        mine = [ch for ch, (k, _) in c.ringing.items() if k == call]
        if not mine:
            return
        c.up[mine[0]] = c.ringing.pop(mine[0])
        c.post(call, ("agent", c.up[mine[0]][1], ChannelAnswered(mine[0])))
        while c.mailbox.get(call):
            c.deliver(call)

    @precondition(lambda self: any(c.phase == "talking" for c in self.c.calls.values()))
    @rule(data=st.data())
    def an_agent_talking_consults(self, data: st.DataObject) -> None:
        calls = [k for k, conv in self.c.calls.items() if conv.phase == "talking"]
        call = self._pick(data, calls)
        self.c.post(call, ("consult", "expert"))
        self._handled(call)

    def _handled(self, call: str) -> None:
        """The call's mailbox handled to the end (the phones ring, the timers start)."""
        while self.c.mailbox.get(call):
            self.c.deliver(call)

    @precondition(lambda self: self._expert_phones())
    @rule(data=st.data())
    def an_expert_picks_up(self, data: st.DataObject) -> None:
        channel = self._pick(data, self._expert_phones())
        call, agent = self.c.up[channel] = self.c.ringing.pop(channel)
        self.c.post(call, ("agent", agent, ChannelAnswered(channel)))
        self._handled(call)

    def _expert_phones(self) -> list[str]:
        return [
            ch
            for ch, (call, _) in self.c.ringing.items()
            if call in self.c.calls
            and (consult := self.c.calls[call].consult) is not None
            and ch in consult.offers.values()
        ]

    @precondition(lambda self: self._experts_talking())
    @rule(data=st.data(), command=st.sampled_from(["complete", "three_way", "cancel"]))
    def the_consulting_agent_decides(self, data: st.DataObject, command: str) -> None:
        self.c.post(self._pick(data, self._experts_talking()), ("consult_command", command))

    def _experts_talking(self) -> list[str]:
        return [
            k
            for k, conv in self.c.calls.items()
            if conv.consult is not None and conv.consult.stage in ("talking", "three_way")
        ]


ConsultMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None)
test_consults = ConsultMachine.TestCase
