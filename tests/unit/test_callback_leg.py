"""Virtual hold (acd/callback_leg.py) on the conversation machine, decision by decision,
against a real router and the in-memory shell of test_conversation_machine.py; and a property
test whose events favour callbacks (the general one seldom gets a citizen on the line)."""

from __future__ import annotations

from collections import deque
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from acd.channel_events import ChannelAnswered, ChannelHangup, PlaybackDone
from acd.conversation import Conversation
from acd.conversation_actions import (
    AskCallbackNumber,
    BookingAnswer,
    Bridge,
    CallbackClosed,
    CallbackWhisper,
    CitizenOnLine,
    DialCitizen,
    EndCall,
    ForgetCitizen,
    HandOver,
    HangUpAgent,
    QuietCaller,
    StartMusic,
    StopCallbackWhisper,
    ToVoicemail,
)
from acd.router import AgentStatus
from tests.unit.test_consult import Seen
from tests.unit.test_conversation_machine import NUMBERS, UNDIALLABLE, ConversationMachine

NUMBER = NUMBERS[0]


def waiting(queue: str = "general", ready: tuple[str, ...] = ()) -> Seen:
    """Caller c1 waits in `queue`; only the agents `ready` are (1001-1004 pause first)."""
    c = Seen()
    for agent in c.router.agents:
        if agent not in ready:
            c.tell(c.router.pause(agent, "break", c.now))
    c.n = 1
    conv = Conversation(router=c.router, call_id="c1", queue=queue, entered=c.now)
    c.calls["c1"], c.mailbox["c1"], c.facts["c1"] = conv, deque(), []
    c.run("c1", conv.enter(c.now))
    c.settle()
    return c


def booked(number: str = NUMBER, hang_up: bool = True) -> Seen:
    """c1 booked a callback to `number` (and hung up); nobody ready yet."""
    c = waiting()
    for item in [("arrange",), ("book", number)] + ([("caller_left",)] if hang_up else []):
        c.post("c1", item)
    c.settle()
    assert c.calls["c1"].phase == "callback"
    return c


def dialling(number: str = NUMBER) -> tuple[Seen, str]:
    """c1's callback taken by 1001; the citizen's phone rings. The agent's channel."""
    c = booked(number)
    c.tell(c.router.ready("1001", c.now))
    c.settle()
    return c, c.answer("1001")


def last(c: Seen, kind: type) -> Any:
    return [a for a in c.actions if isinstance(a, kind)][-1]


def test_a_booking_keeps_the_place_and_says_so() -> None:
    c = booked(hang_up=False)
    conv = c.calls["c1"]
    assert conv.callback is not None and conv.callback.number == NUMBER
    (fact,) = c.facts_of("callback_requested")
    assert fact["deadline"] is None and fact["language"] == "zh" and fact["entered"] == 1000.0
    call = c.router.waiting["c1"]
    assert call.callback and not call.held and call.entered == 1000.0
    assert isinstance(c.actions[-1], BookingAnswer) and c.actions[-1].verdict == "booked"
    assert any(isinstance(a, QuietCaller) for a in c.actions)


def test_a_number_with_a_callback_pending_ends_the_second_call() -> None:
    c = booked()
    c.n = 2
    conv = Conversation(router=c.router, call_id="c2", queue="general", entered=c.now)
    c.calls["c2"], c.mailbox["c2"], c.facts["c2"] = conv, deque(), []
    c.run("c2", conv.enter(c.now))
    c.run("c2", conv.arrange_callback())
    c.run("c2", conv.callback_booking("exists", NUMBER, c.now, "zh", "1"))
    assert conv.phase == "done" and "c2" not in c.router.waiting
    assert c.settled["c2"] == ["callback_duplicate"]
    assert [f.data["reason"] for f in c.facts["c2"] if f.kind == "callback_refused"] == ["pending"]


def test_over_the_daily_limit_the_caller_waits_on_or_at_max_wait_leaves_a_message() -> None:
    c = waiting()
    conv = c.calls["c1"]
    c.run("c1", conv.arrange_callback())
    c.run("c1", conv.callback_booking("limit", NUMBER, c.now, "zh", "1"))
    assert isinstance(c.actions[-1], BookingAnswer) and conv.phase == "arranging"
    c.run("c1", conv.resume_waiting(c.now))
    assert conv.phase == "waiting" and not c.router.waiting["c1"].held
    assert any(isinstance(a, StartMusic) for a in c.actions)
    short = waiting("short")
    conv = short.calls["c1"]
    short.now += 40  # past max wait: the router's overflow, then the machine's callback
    short.tell(short.router.tick(short.now))
    short.settle()
    assert conv.phase == "arranging" and conv.max_waited
    assert last(short, AskCallbackNumber).why == ("queue-long-wait",)
    short.run("c1", conv.callback_booking("limit", NUMBER, short.now, "zh", "1"))
    assert conv.phase == "done" and "c1" not in short.router.waiting
    assert isinstance(short.actions[-1], ToVoicemail)


def test_no_callback_is_arranged_while_an_agent_rings_for_the_caller() -> None:
    c = waiting(ready=("1001",))
    conv = c.calls["c1"]
    assert conv.offers
    assert conv.arrange_callback() == [] and conv.phase == "waiting"


def test_the_agent_who_takes_it_hears_the_number_and_the_citizen_is_dialled() -> None:
    c, agent = dialling()
    conv = c.calls["c1"]
    assert conv.phase == "dialing" and "c1" in c.router.dialing
    whisper = last(c, CallbackWhisper)
    assert whisper.channel == agent and whisper.prompts[0] == "callback-whisper"
    assert len(whisper.prompts) == 1 + len(NUMBER)
    dial = last(c, DialCitizen)
    assert dial.channel.startswith("c1-cb1-") and dial.number == NUMBER and dial.ring_seconds == 10
    assert c.facts_of("callback_attempt") == [{"agent": "1001", "attempt": 1}]
    assert not c.facts_of("segment_answered")  # not before the citizen answers


def test_the_citizen_answers_and_is_put_through() -> None:
    c, agent = dialling()
    conv = c.calls["c1"]
    channel = last(c, DialCitizen).channel
    assert c.calls["c1"].on_citizen("c1-cb0-1", ChannelAnswered("c1-cb0-1"), c.now) == []
    c.post("c1", ("citizen", ChannelAnswered(channel, "PJSIP/trunk-0001")))
    c.settle()
    assert conv.phase == "talking" and "c1" not in c.router.dialing
    assert last(c, CitizenOnLine) == CitizenOnLine(channel, "PJSIP/trunk-0001")
    assert last(c, StopCallbackWhisper).channel == agent
    assert isinstance(c.actions[-1], Bridge)
    assert c.facts_of("callback_answered") == [{"attempt": 1}]
    assert c.router.agents["1001"].status == AgentStatus.on_call
    # From now on that channel is the caller's line: the shell reads its events as such.
    assert conv.on_citizen(channel, ChannelHangup(channel, 16), c.now) is None
    c.post("c1", ("agent", "1001", ChannelHangup(agent, 16)))
    c.settle()
    assert c.facts_of("callback_finished") == [{"status": "done", "reason": "", "agent": "1001"}]
    assert last(c, CallbackClosed).number == NUMBER and not c.book.pending


def test_not_reached_frees_the_agent_and_puts_the_callback_back_then_gives_up() -> None:
    c, agent = dialling()
    conv = c.calls["c1"]
    channel = last(c, DialCitizen).channel
    c.post("c1", ("citizen", ChannelHangup(channel, 19)))
    c.settle()
    assert conv.phase == "callback" and conv.agent is None
    assert last(c, ForgetCitizen) == ForgetCitizen(channel)
    assert last(c, HangUpAgent).channel == agent
    assert c.facts_of("callback_attempt_failed") == [{"attempt": 1, "why": "cause 19"}]
    assert {"agent": "1001", "outcome": "not_reached"} in c.facts_of("segment_ended")
    assert c.router.waiting["c1"].attempts == 1 and c.router.waiting["c1"].entered == 1000.0
    assert c.router.agents["1001"].status == AgentStatus.ready
    c.now += 10
    c.tell(c.router.tick(c.now))
    c.settle()
    agent = c.answer("1001")
    c.post("c1", ("citizen", ChannelHangup(last(c, DialCitizen).channel, None)))
    c.settle()  # the second and last attempt: the router gives it up
    assert "c1" not in c.calls
    assert c.facts_of("callback_finished")[-1]["status"] == "failed"
    assert c.settled["c1"] == ["callback_failed"] and not c.book.pending
    assert isinstance(c.actions[-1], EndCall)


def test_an_agent_hanging_up_before_the_citizen_answers_stops_the_ringing() -> None:
    c, agent = dialling()
    channel = last(c, DialCitizen).channel
    c.up.pop(agent)
    c.post("c1", ("agent", "1001", ChannelHangup(agent, 16)))
    c.settle()
    conv = c.calls["c1"]
    assert conv.phase == "callback" and channel not in c.citizens
    assert ForgetCitizen(channel, hang_up=True) in c.actions
    assert {"agent": "1001", "outcome": "agent_hangup"} in c.facts_of("segment_ended")
    assert c.router.waiting["c1"].attempts == 1


def test_a_number_that_cannot_be_dialled_counts_as_an_attempt() -> None:
    c, _ = dialling(UNDIALLABLE)
    assert c.calls["c1"].phase == "callback"
    assert c.facts_of("callback_attempt_failed") == [{"attempt": 1, "why": "dial_failed"}]


def test_past_its_deadline_a_callback_becomes_a_voice_message() -> None:
    c = booked()
    conv = c.calls["c1"]
    actions = conv.callback_overflow("callback_deadline", c.now, "2026-12-03", "010")
    assert actions is not None
    c.run("c1", actions)
    (voicemail,) = c.facts_of("voicemail")
    assert voicemail["callback"] == NUMBER and voicemail["due_on"] == "2026-12-03"
    assert voicemail["origin"] == "callback_expired" and voicemail["caller"] == "010"
    assert c.settled["c1"] == ["callback_expired"] and "c1" not in c.calls
    # An overflow of a call that is no callback is not the callback's.
    plain = waiting()
    assert plain.calls["c1"].callback_overflow("max_wait", plain.now, "", "") is None


def test_a_turn_that_comes_while_the_caller_is_on_the_line_needs_no_dial() -> None:
    c = booked(hang_up=False)
    c.tell(c.router.ready("1001", c.now))
    c.settle()
    c.answer("1001")
    conv = c.calls["c1"]
    assert conv.phase == "talking" and any(isinstance(a, HandOver) for a in c.actions)
    assert not any(isinstance(a, DialCitizen) for a in c.actions)
    assert c.facts_of("callback_answered") == [{"attempt": 0}]


def test_an_agent_hanging_up_in_the_whisper_leaves_the_callback_booked_in_its_place() -> None:
    c = booked(hang_up=False)
    conv = c.calls["c1"]
    conv.queue = "pension"  # a queue with a whisper
    c.router.waiting["c1"].queue = "pension"
    c.tell(c.router.ready("1001", c.now))
    c.settle()
    channel = next(iter(c.ringing))
    c.up[channel] = c.ringing.pop(channel)
    c.post("c1", ("agent", "1001", ChannelAnswered(channel)))
    c.settle()
    assert conv.phase == "whisper"
    c.up.pop(channel)
    c.post("c1", ("agent", "1001", ChannelHangup(channel, 16)))
    c.settle()
    assert conv.phase == "callback" and c.router.waiting["c1"].callback
    assert c.router.waiting["c1"].entered == 1000.0 and not c.facts_of("callback_finished")


class CallbackMachine(ConversationMachine):
    """The conversation machine with callbacks booked and taken at once (the general machine
    seldom gets a citizen's phone ringing)."""

    @rule()
    def paused_agents_are_ready_again(self) -> None:
        c = self.c
        for number, agent in sorted(c.router.agents.items()):
            c.tell(c.router.endpoint(number, True, c.now))
            if agent.status in (AgentStatus.paused, AgentStatus.wrap_up):
                c.tell(c.router.ready(number, c.now))

    @precondition(lambda self: len(self.c.calls) < 3)
    @rule(number=st.sampled_from(NUMBERS), queue=st.sampled_from(["general", "pension"]))
    def a_callback_is_booked_and_taken(self, number: str, queue: str) -> None:
        c = self.c
        ready = [n for n, agent in c.router.agents.items() if agent.status == AgentStatus.ready]
        for agent in ready:  # nobody free: the caller may book (no phone rings for them)
            c.tell(c.router.pause(agent, "break", c.now))
        self.caller_arrives(queue)
        call = f"c{c.n}"
        for item in [("arrange",), ("book", number), ("caller_left",)]:
            c.post(call, item)
        while c.mailbox.get(call):
            c.deliver(call)
        for agent in ready:
            c.tell(c.router.ready(agent, c.now))
        while c.mailbox.get(call):
            c.deliver(call)
        mine = [ch for ch, (k, _) in c.ringing.items() if k == call]
        if not mine:
            return
        c.up[mine[0]] = c.ringing.pop(mine[0])
        c.post(call, ("agent", c.up[mine[0]][1], ChannelAnswered(mine[0])))
        while c.mailbox.get(call):
            c.deliver(call)

    @precondition(lambda self: any(self.c.mailbox.values()))
    @rule()
    def every_call_catches_up(self) -> None:
        """The consumers handle all that is queued (shorter paths to the later phases)."""
        for _ in range(1000):
            busy = [call for call, box in self.c.mailbox.items() if box]
            if not busy:
                break
            self.c.deliver(busy[0])

    @precondition(lambda self: self.c.whispering)
    @rule()
    def whispers_end(self) -> None:
        c = self.c
        for channel in sorted(c.whispering):
            if channel in c.up:
                call, agent = c.up[channel]
                c.post(call, ("agent", agent, PlaybackDone(channel, f"{channel}.whisper")))
        c.whispering.clear()


CallbackMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None
)
test_callbacks = CallbackMachine.TestCase
