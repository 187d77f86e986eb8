"""The router: who takes which call, in which order; escalation; limits; announcements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from acd.queues import QueuesConfig
from acd.roster import AgentEntry
from acd.router import (
    AgentChanged,
    AgentStatus,
    Announce,
    CancelOffer,
    Moved,
    Offer,
    Overflow,
    Router,
    RouterError,
)
from ivr.hours import BusinessHours


def make(queues: dict[str, Any], agents: dict[str, dict[str, int]]) -> Router:
    config = QueuesConfig.model_validate({"queues": queues})
    roster = [AgentEntry(number=n, name=n, skills=s) for n, s in agents.items()]  # type: ignore[arg-type]
    return Router(config, roster)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def offers(decisions: list[Any]) -> list[tuple[str, str]]:
    return [(d.call_id, d.agent) for d in decisions if isinstance(d, Offer)]


SI = {
    "social_insurance": {
        "skill": "social_insurance",
        "min_level": 3,
        "steps": [{"after": 30, "min_level": 1}, {"after": 120, "overflow_to": "general"}],
    },
    "general": {"strategy": "longest_idle"},
}
AGENTS = {
    "1001": {"social_insurance": 4},
    "1002": {"social_insurance": 2},
    "1003": {"employment": 4},
}


def test_best_skill_first_then_longest_idle() -> None:
    r = make(SI, AGENTS)
    r.login("1002", 0)
    r.login("1001", 5)
    assert offers(r.enqueue("c1", "social_insurance", 0, 10)) == [("c1", "1001")]


def test_escalation_is_re_evaluated_for_callers_already_waiting() -> None:
    r = make(SI, AGENTS)
    r.login("1002", 0)
    assert offers(r.enqueue("c1", "social_insurance", 0, 0)) == []  # level 2 < 3
    assert offers(r.tick(29)) == []
    assert offers(r.tick(30)) == [("c1", "1002")]  # the step widened to level 1


def test_overflow_step_moves_the_call_and_it_keeps_its_place() -> None:
    r = make(SI, AGENTS)
    r.login("1003", 0)
    r.pause("1003", "meeting", 0)
    r.enqueue("old", "social_insurance", 0, 0)
    r.enqueue("new", "general", 0, 100)
    decisions = r.tick(120)
    assert Moved("old", "social_insurance", "general") in decisions
    assert r.position("old") == 1 and r.position("new") == 2
    assert offers(r.ready("1003", 121)) == [("old", "1003")]


def test_fifo_within_priority_and_priority_first() -> None:
    r = make({"general": {}}, {"1001": {}})
    r.login("1001", 0)
    r.pause("1001", "x", 0)
    r.enqueue("a", "general", 0, 1)
    r.enqueue("b", "general", 0, 2)
    r.enqueue("senior", "general", 10, 3)
    assert [r.position(c) for c in ("senior", "a", "b")] == [1, 2, 3]
    assert offers(r.ready("1001", 4)) == [("senior", "1001")]


def test_no_answer_pauses_the_agent_and_the_call_goes_to_the_next() -> None:
    r = make({"general": {}}, {"1001": {}, "1002": {}})
    r.login("1001", 0)
    r.login("1002", 1)
    assert offers(r.enqueue("c", "general", 0, 2)) == [("c", "1001")]
    decisions = r.offer_failed("c", "1001", "no_answer", 17)
    assert AgentChanged("1001", AgentStatus.paused, "no_answer") in decisions
    assert offers(decisions) == [("c", "1002")]


def test_caller_hanging_up_cancels_the_offer() -> None:
    r = make({"general": {}}, {"1001": {}})
    r.login("1001", 0)
    r.enqueue("c", "general", 0, 1)
    decisions = r.caller_left("c", 2)
    assert CancelOffer("c", "1001") in decisions
    assert r.agents["1001"].status == AgentStatus.ready


def test_ring_all_first_answer_wins() -> None:
    r = make({"general": {"strategy": "ring_all"}}, {"1001": {}, "1002": {}, "1003": {}})
    for n in ("1001", "1002", "1003"):
        r.login(n, 0)
    assert len(offers(r.enqueue("c", "general", 0, 1))) == 3
    decisions = r.answered("c", "1002", 2)
    assert {d.agent for d in decisions if isinstance(d, CancelOffer)} == {"1001", "1003"}
    assert r.agents["1002"].status == AgentStatus.on_call


def test_wrap_up_then_ready_and_next_call() -> None:
    r = make({"general": {"wrapup_seconds": 10}}, {"1001": {}})
    r.login("1001", 0)
    r.enqueue("a", "general", 0, 0)
    r.answered("a", "1001", 1)
    r.enqueue("b", "general", 0, 2)
    assert r.call_finished("1001", "general", 100, 101) == [
        AgentChanged("1001", AgentStatus.wrap_up)
    ]
    assert offers(r.tick(110)) == []
    assert offers(r.tick(111)) == [("b", "1001")]


def test_limits_overflow() -> None:
    r = make({"general": {"max_waiting": 1, "max_wait_seconds": 60}}, {"1001": {}})
    r.login("1001", 0)
    r.pause("1001", "lunch", 0)
    assert r.enqueue("a", "general", 0, 0) == []
    assert r.enqueue("b", "general", 0, 1) == [Overflow("b", "general", "queue_full")]
    assert Overflow("a", "general", "max_wait") in r.tick(60)


def test_nobody_logged_in_does_not_hold_the_caller() -> None:
    r = make({"general": {}}, {"1001": {}})
    assert r.enqueue("a", "general", 0, 0) == [Overflow("a", "general", "no_agents")]
    r.login("1001", 0)
    r.pause("1001", "x", 0)
    r.enqueue("b", "general", 0, 1)
    assert Overflow("b", "general", "no_agents") in r.logout("1001", 2)


def test_position_is_announced_only_when_it_improved() -> None:
    r = make({"general": {"announce_every_seconds": 10}}, {"1001": {}})
    r.login("1001", 0)
    r.pause("1001", "x", 0)
    for i, call in enumerate("abc"):
        r.enqueue(call, "general", 0, i)
    first = [d for d in r.tick(10) if isinstance(d, Announce)]
    assert [(d.call_id, d.position) for d in first] == [("a", 1), ("b", 2), ("c", 3)]
    assert [d for d in r.tick(30) if isinstance(d, Announce)] == []  # same places: silent
    r.caller_left("a", 31)
    again = [(d.call_id, d.position) for d in r.tick(41) if isinstance(d, Announce)]
    assert again == [("b", 1), ("c", 2)]


def test_unknown_agent_or_queue_is_a_clear_error() -> None:
    r = make({"general": {}}, {"1001": {}})
    with pytest.raises(RouterError, match="unknown agent"):
        r.login("9999", 0)
    with pytest.raises(RouterError, match="unknown queue"):
        r.enqueue("c", "nope", 0, 0)


class RouterMachine(RuleBasedStateMachine):
    """Random interleavings of everything that happens in a center."""

    def __init__(self) -> None:
        super().__init__()
        self.router = make(
            {
                **SI,
                "employment": {
                    "skill": "employment",
                    "min_level": 2,
                    "strategy": "ring_all",
                    "steps": [{"after": 60, "overflow_to": "general"}],
                },
            },
            {**AGENTS, "1004": {"employment": 2, "social_insurance": 1}},
        )
        self.now = 0.0
        self.calls = 0
        self.order: list[str] = []
        self.known: set[str] = set()
        self.lost: set[str] = set()

    agent = st.sampled_from(["1001", "1002", "1003", "1004"])

    def _apply(self, decisions: list[Any]) -> None:
        for d in decisions:
            if isinstance(d, Overflow):
                self.known.discard(d.call_id)

    @rule(
        queue=st.sampled_from(["social_insurance", "general", "employment"]),
        priority=st.sampled_from([0, 0, 5, 10]),
    )
    def call(self, queue: str, priority: int) -> None:
        self.calls += 1
        call_id = f"c{self.calls}"
        self.known.add(call_id)
        self._apply(self.router.enqueue(call_id, queue, priority, self.now))

    @rule(agent=agent)
    def login(self, agent: str) -> None:
        self._apply(self.router.login(agent, self.now))

    @rule(agent=agent)
    def logout(self, agent: str) -> None:
        if self.router.agents[agent].status != AgentStatus.on_call:
            self._apply(self.router.logout(agent, self.now))

    @rule(agent=agent)
    def pause_or_ready(self, agent: str) -> None:
        status = self.router.agents[agent].status
        if status in (AgentStatus.paused, AgentStatus.wrap_up):
            self._apply(self.router.ready(agent, self.now))
        elif status in (AgentStatus.ready, AgentStatus.offered):
            self._apply(self.router.pause(agent, "break", self.now))

    @rule(agent=agent, data=st.data())
    def ringing_phone(self, agent: str, data: st.DataObject) -> None:
        a = self.router.agents[agent]
        if a.status != AgentStatus.offered or a.offered_call is None:
            return
        outcome = data.draw(st.sampled_from(["answer", "no_answer", "busy", "unreachable", "lost"]))
        if outcome == "answer":
            self.known.discard(a.offered_call)
            self._apply(self.router.answered(a.offered_call, agent, self.now))
        else:
            self._apply(self.router.offer_failed(a.offered_call, agent, outcome, self.now))
            if outcome == "unreachable":
                self._apply(self.router.endpoint(agent, True, self.now))

    @rule(agent=agent, seconds=st.floats(min_value=1, max_value=600))
    def hang_up_talk(self, agent: str, seconds: float) -> None:
        if self.router.agents[agent].status == AgentStatus.on_call:
            self._apply(self.router.call_finished(agent, "general", seconds, self.now))

    @precondition(lambda self: bool(self.router.waiting))
    @rule(data=st.data())
    def caller_leaves(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.router.waiting)))
        self.known.discard(call_id)
        self._apply(self.router.caller_left(call_id, self.now))

    @precondition(lambda self: bool(self.router.waiting))
    @rule(data=st.data())
    def caller_books_a_callback(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.router.waiting)))
        call = self.router.waiting[call_id]
        if call.offers or call.callback or call.held:
            with pytest.raises(RouterError) if call.offers else _nothing():
                self.router.hold(call_id)
            return
        self.router.hold(call_id)
        if data.draw(st.booleans()):
            deadline = self.now + data.draw(st.floats(min_value=1, max_value=900))
            self._apply(self.router.to_callback(call_id, self.now, deadline))
        else:
            self._apply(self.router.release(call_id, self.now))

    @precondition(lambda self: bool(self.router.dialing))
    @rule(data=st.data())
    def called_back_phone(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.router.dialing)))
        agents = [a for a in self.router.agents.values() if a.current_call == call_id]
        assert len(agents) <= 1  # one agent, one dial, per attempt
        number = agents[0].number if agents else "1001"
        reached = data.draw(st.booleans())
        decisions = self.router.callback_result(call_id, number, reached, self.now)
        if not reached:
            self.known.add(call_id)  # back in its place, unless given up (Overflow)
        self._apply(decisions)

    @rule(seconds=st.floats(min_value=0.1, max_value=90))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self._apply(self.router.tick(self.now))
        for call in self.router.waiting.values():  # a late callback becomes a voice message
            assert not call.callback or call.deadline > self.now or call.offers, call

    @invariant()
    def no_agent_has_two_calls(self) -> None:
        offered = [a.offered_call for a in self.router.agents.values() if a.offered_call]
        for a in self.router.agents.values():
            assert (a.status == AgentStatus.offered) == (a.offered_call is not None)
        for call in self.router.waiting.values():
            for number in call.offers:
                assert self.router.agents[number].offered_call == call.call_id
        ringing = [n for c in self.router.waiting.values() for n in c.offers]
        assert len(ringing) == len(set(ringing)) == len(offered)

    @invariant()
    def no_qualified_agent_idles_while_a_call_waits(self) -> None:
        r = self.router
        for call in r.waiting.values():
            if call.offers or call.held or self.now < call.not_before:
                continue
            idle = [
                a.number
                for a in r.agents.values()
                if r.available(a, self.now) and r.qualifies(a, call, self.now)
            ]
            assert not idle, (call, idle)

    @invariant()
    def escalation_never_loses_a_call(self) -> None:
        assert set(self.router.waiting) == self.known

    @invariant()
    def a_caller_giving_a_number_is_never_offered(self) -> None:
        for call in self.router.waiting.values():
            if call.held:
                assert not call.offers


TestRouterMachine = RouterMachine.TestCase
TestRouterMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def test_a_conversation_found_after_a_restart_keeps_the_agent_on_it() -> None:
    r = make({"general": {}}, {"1001": {}, "1002": {}})
    r.login("1001", 0)
    r.login("1002", 0)
    assert r.resume_talk("1001", "c", 1) == [AgentChanged("1001", AgentStatus.on_call)]
    assert offers(r.enqueue("d", "general", 0, 2)) == [("d", "1002")]  # 1001 is busy
    r.call_finished("1001", "general", 60, 3)
    assert r.agents["1001"].status == AgentStatus.wrap_up


def test_a_callback_keeps_exactly_its_place_and_is_dialled_once_per_attempt() -> None:
    r = make({"general": {}}, {"1001": {}})
    r.login("1001", 0)
    r.pause("1001", "meeting", 0)
    r.enqueue("a", "general", 0, 1)
    r.enqueue("b", "general", 0, 2)
    r.hold("a")
    r.to_callback("a", 4)
    assert r.position("a") == 1 and r.position("b") == 2
    first = r.ready("1001", 5)
    assert offers(first) == [("a", "1001")]  # the callback first: it came first
    r.answered("a", "1001", 6)
    assert "a" in r.dialing and "a" not in r.waiting
    again = r.callback_result("a", "1001", reached=False, now=11)
    assert AgentChanged("1001", AgentStatus.ready) in again  # not paused: the caller missed it
    assert offers(again) == [("b", "1001")]  # a waits out the retry delay; b goes meanwhile
    assert r.waiting["a"].entered == 1 and r.waiting["a"].attempts == 1
    r.answered("b", "1001", 12)
    r.call_finished("1001", "general", 60, 70)
    retry = r.tick(80)  # wrap-up over; the retry delay (120 s) not yet
    assert offers(retry) == []
    assert offers(r.tick(131)) == [("a", "1001")]  # exactly once for the second attempt
    r.answered("a", "1001", 132)
    gave_up = r.callback_result("a", "1001", reached=False, now=140)
    assert offers(gave_up) == []
    assert offers(r.tick(261)) == [("a", "1001")]
    r.answered("a", "1001", 262)
    last = r.callback_result("a", "1001", reached=False, now=270)  # the third and last
    assert [d for d in last if isinstance(d, Overflow)] == [
        Overflow("a", "general", "callback_unanswered")
    ]
    assert "a" not in r.waiting and "a" not in r.dialing


def test_a_caller_giving_a_callback_number_is_not_offered_meanwhile() -> None:
    r = make({"general": {}}, {"1001": {}})
    r.login("1001", 0)
    r.pause("1001", "meeting", 0)
    r.enqueue("a", "general", 0, 1)
    r.hold("a")
    assert offers(r.ready("1001", 2)) == []
    assert offers(r.release("a", 3)) == [("a", "1001")]  # changed their mind: still first
    with pytest.raises(RouterError):
        r.hold("a")  # an agent is ringing for them


def test_a_callback_is_never_dropped_for_waiting_too_long() -> None:
    r = make({"general": {"max_wait_seconds": 60}}, {"1001": {}})
    r.login("1001", 0)
    r.pause("1001", "meeting", 0)
    r.enqueue("a", "general", 0, 1)
    r.hold("a")
    r.to_callback("a", 2)
    assert [d for d in r.tick(500) if isinstance(d, Overflow)] == []
    r.logout("1001", 501)  # nobody left: a booked callback still waits for tomorrow
    assert "a" in r.waiting


def test_a_transfer_ends_the_agents_part_and_keeps_the_callers_place() -> None:
    queues = {"general": {"wrapup_seconds": 10}, "expert": {"skill": "expert_social_insurance"}}
    r = make(queues, {"1001": {}, "1004": {"expert_social_insurance": 5}})
    r.login("1001", 0)
    r.enqueue("a", "general", 0, 1)
    r.answered("a", "1001", 2)
    r.login("1004", 3)
    r.pause("1004", "lunch", 3)
    r.enqueue("z", "expert", 0, 4)  # came to the expert queue later than a's first entry
    moved = r.transfer("a", "1001", "general", "expert", 0, 1.0, 60, 62)
    assert AgentChanged("1001", AgentStatus.wrap_up) in moved
    assert r.position("a") == 1 and r.position("z") == 2
    assert offers(r.ready("1004", 63)) == [("a", "1004")]
    with pytest.raises(RouterError):
        r.transfer("a", "1001", "general", "expert", 0, 1.0, 60, 64)  # 1001 is not on it


def test_an_agent_at_another_desk_phone_is_rung_there_and_the_phone_is_theirs_alone() -> None:
    r = make({"general": {}}, {"1001": {}, "1003": {}})
    r.login("1001", 0, phone="1003")
    assert r.agents["1001"].seat == "1003" and r.at_phone("1003") is r.agents["1001"]
    with pytest.raises(RouterError):
        r.login("1003", 1)  # their own phone is taken by 1001
    r.endpoint("1003", False, 2)  # the phone 1001 sits at vanished
    assert offers(r.enqueue("c", "general", 0, 3)) == []
    assert offers(r.endpoint("1003", True, 4)) == [("c", "1001")]
    r.offer_failed("c", "1001", "no_answer", 5)
    r.logout("1001", 6)
    assert r.agents["1001"].seat == "1001" and r.at_phone("1003") is None


def test_new_rules_apply_live_and_a_removed_queue_still_serves_its_callers() -> None:
    r = make({"general": {}, "old": {"min_level": 1}}, {"1001": {}})
    r.login("1001", 0)
    r.pause("1001", "meeting", 0)
    r.enqueue("a", "old", 0, 1)
    config = QueuesConfig.model_validate({"queues": {"general": {"ring_seconds": 7}}})
    roster = [AgentEntry(number="1001", name="1001", skills={"employment": 3})]  # type: ignore[dict-item]
    r.reconfigure(config, roster)
    assert r.agents["1001"].skills == {"employment": 3}
    assert r.agents["1001"].status == AgentStatus.paused  # state kept
    r.tick(2)  # the ticker must not fail on a call in a queue that is gone
    assert [(d.call_id, d.ring_seconds) for d in r.ready("1001", 3) if isinstance(d, Offer)] == [
        ("a", 15)
    ]
    assert offers(r.enqueue("b", "general", 0, 4)) == []
    with pytest.raises(RouterError):
        r.enqueue("c", "nowhere", 0, 5)


# Staffed 08:30–17:00 on weekdays (Asia/Shanghai); 2026-12-04 is a Friday.
HOURS = BusinessHours.model_validate(
    {
        "weekly": {
            d: [{"start": "08:30", "end": "17:00"}] for d in ("mon", "tue", "wed", "thu", "fri")
        }
    }
)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> float:
    """A moment of December 2026 in Shanghai, as the router's clock."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).timestamp()


def staffed(queues: dict[str, Any]) -> Router:
    config = QueuesConfig.model_validate({"queues": queues})
    return Router(config, [AgentEntry(number="1001", name="1001", skills={})], HOURS)


def test_a_callback_is_dialled_only_in_hours_and_waits_for_the_next_opening() -> None:
    r = staffed({"general": {}})
    r.login("1001", at(4, 16))
    r.pause("1001", "meeting", at(4, 16))
    r.enqueue("a", "general", 0, at(4, 16, 50))
    r.hold("a")
    r.to_callback("a", at(4, 16, 51), r.callback_deadline("general", at(4, 16, 51)))
    assert offers(r.ready("1001", at(4, 17, 5))) == []  # closed: never at night
    assert offers(r.tick(at(5, 10))) == []  # Saturday
    assert offers(r.tick(at(7, 8, 29))) == []
    assert offers(r.tick(at(7, 8, 30))) == [("a", "1001")]  # Monday's opening


def test_a_callers_waiting_on_the_line_are_served_at_any_hour() -> None:
    """Hours gate only the calls the center places; a caller on the line is answered."""
    r = staffed({"general": {}})
    r.login("1001", at(5, 22))
    assert offers(r.enqueue("a", "general", 0, at(5, 22))) == [("a", "1001")]


def test_a_callback_past_its_deadline_becomes_a_voice_message_not_a_silent_wait() -> None:
    r = staffed({"general": {"callback_within_days": 1}})
    r.login("1001", at(4, 10))
    r.pause("1001", "meeting", at(4, 10))
    r.enqueue("a", "general", 0, at(4, 11))
    r.hold("a")
    deadline = r.callback_deadline("general", at(4, 11))
    assert deadline == at(7, 17)  # the end of the next working day (after the weekend)
    r.to_callback("a", at(4, 11), deadline)
    r.logout("1001", at(4, 12))  # nobody left who could take it: it waits, for a while
    assert [d for d in r.tick(at(7, 16, 59)) if isinstance(d, Overflow)] == []
    assert [d for d in r.tick(at(7, 17)) if isinstance(d, Overflow)] == [
        Overflow("a", "general", "callback_deadline")
    ]
    assert "a" not in r.waiting


def test_a_restored_callback_keeps_its_deadline_and_its_escalation() -> None:
    r = staffed(SI)
    r.login("1001", at(4, 9))  # no skill: only general (after the overflow step) suits 1001
    decisions = r.enqueue(
        "a", "social_insurance", 0, at(4, 10), entered=at(4, 9), callback=True, deadline=at(4, 17)
    )
    # Stored since 9:00: the 120 s overflow step is long past, so it moves at the next tick.
    assert offers(decisions) == []
    moved = r.tick(at(4, 10))
    assert Moved("a", "social_insurance", "general") in moved
    assert offers(moved) == [("a", "1001")]
    assert r.waiting["a"].deadline == at(4, 17)


def test_deadline_zero_days_is_todays_closing_or_the_next_working_days() -> None:
    r = staffed({"general": {"callback_within_days": 0}})
    assert r.callback_deadline("general", at(4, 11)) == at(4, 17)
    assert r.callback_deadline("general", at(4, 18)) == at(7, 17)


def test_a_transferred_caller_gets_a_new_patience_limit_and_ringing_is_never_cut() -> None:
    queues = {"general": {}, "expert": {"skill": "expert_social_insurance", "max_wait_seconds": 60}}
    r = make(queues, {"1001": {}, "1004": {"expert_social_insurance": 5}})
    r.login("1001", 0)
    r.enqueue("a", "general", 0, 0)
    r.answered("a", "1001", 1)
    r.login("1004", 2)
    r.pause("1004", "lunch", 2)
    r.transfer("a", "1001", "general", "expert", 0, 0.0, 600, 601)
    assert [d for d in r.tick(602) if isinstance(d, Overflow)] == []  # 10 min after entry
    assert offers(r.ready("1004", 650)) == [("a", "1004")]
    assert [d for d in r.tick(700) if isinstance(d, Overflow)] == []  # ringing: not cut
    r.offer_failed("a", "1004", "no_answer", 705)
    assert [d for d in r.tick(706) if isinstance(d, Overflow)] == [
        Overflow("a", "expert", "max_wait")
    ]
