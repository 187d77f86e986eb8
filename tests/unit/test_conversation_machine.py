"""The conversation machine (acd/conversation.py) against a real router, over random events.

A small model of the shell: every call has one mailbox (router decisions and its channels'
events, in order, as hotline/telephony/mailbox.py delivers them), agents' phones ring, answer,
refuse and hang up at random, callers hang up at random, time passes. After every step: no
agent talks in two conversations, every caller is either waiting in the router or with the
agent the router has them with, every offer is open or closed by a segment fact; at the end,
when everyone has hung up, no agent is left offered or on a call and no caller is waiting.
Agents also consult experts (acd/consult.py) at random: every consult asked ends (complete,
three-way, cancelled or no expert), and its expert legs are segments like any other.
Callers also book callbacks (acd/callback_leg.py: the key, or max wait in the queue "short"),
hang up and are called back: the citizen's phone answers, rings out or cannot be dialled. A
callback waits in the router while nobody dials it, its dialling agent is on the call, its
dials never exceed `callback.attempts`, it is never counted abandoned while the promise is
open, and it ends once (kept, failed or expired).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict, deque
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from acd.callbacks import CallbackBook
from acd.channel_events import (
    ChannelAnswered,
    ChannelHangup,
    KeyPressed,
    PlaybackDone,
)
from acd.consult import consult_owner
from acd.conversation import WITH_AGENT, WITH_CALLER, Conversation
from acd.conversation_actions import (
    AskCallbackNumber,
    CallbackClosed,
    CitizenOnLine,
    ConversationAction,
    DialCitizen,
    EndCall,
    ForgetCitizen,
    HangUpAgent,
    Record,
    RingAgent,
    Settle,
    StartConsultTimer,
    Tell,
    Whisper,
)
from acd.queues import QueuesConfig
from acd.roster import AgentEntry
from acd.router import (
    AgentStatus,
    Announce,
    CancelOffer,
    Decision,
    Moved,
    Offer,
    Overflow,
    Router,
    RouterError,
)

QUEUES = {
    "queues": {
        "general": {"strategy": "longest_idle", "wrapup_seconds": 5, "max_wait_seconds": 1e6},
        "pension": {"whisper": True, "wrapup_seconds": 5, "max_wait_seconds": 1e6},
        "expert": {"strategy": "ring_all", "wrapup_seconds": 5, "max_wait_seconds": 1e6},
        "short": {"wrapup_seconds": 5, "max_wait_seconds": 30},  # then a callback is offered
    },
    "transfers": {"1": "expert", "2": "pension"},
    "callback": {"attempts": 2, "retry_after_seconds": 5, "ring_seconds": 10},
}
AGENTS = ["1001", "1002", "1003", "1004"]
CAUSES = [16, 17, 19, 21, 0]
# An agent is with the caller, or has taken their callback and their phone rings.
WITH_DIALLER = (*WITH_AGENT, "dialing")
# Numbers to call back; the last cannot be dialled (Asterisk refuses the channel).
NUMBERS = ["13800000001", "13800000002", "13800000000"]
UNDIALLABLE = NUMBERS[-1]


class Center:
    """Conversations, the router, and the phones: what the shell and Asterisk do, in memory."""

    def __init__(self) -> None:
        config = QueuesConfig.model_validate(QUEUES)
        roster = [AgentEntry(number=n, name=n, skills={}) for n in AGENTS]
        self.router = Router(config, roster)
        self.now = 1000.0
        self.calls: dict[str, Conversation] = {}  # calls the controller still has
        self.mailbox: dict[str, deque[Any]] = {}
        self.facts: dict[str, list[Record]] = {}
        self.ringing: dict[str, tuple[str, str]] = {}  # agent channel -> call, agent
        self.up: dict[str, tuple[str, str]] = {}  # answered agent channels
        self.whispering: set[str] = set()  # agent channels hearing the whisper
        self.timers: list[tuple[str, str]] = []  # consult timers running: call, request
        self.book = CallbackBook(max_per_day=2)
        # Whether the caller is on a line of ours; what the call settled as.
        self.line_up: defaultdict[str, bool] = defaultdict(lambda: True)
        self.hanging_up: set[str] = set()  # calls whose line ends (the event on its way)
        self.citizens: dict[str, str] = {}  # call-back channels ringing -> call
        self.asked: set[str] = set()  # callers the menu asks for a number to call back
        self.settled: defaultdict[str, list[str]] = defaultdict(list)
        self.n = 0
        for agent in AGENTS:
            self.tell(self.router.login(agent, self.now))

    # --- the shell's executor
    def tell(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            call = getattr(decision, "call_id", None)
            call = None if call is None else consult_owner(call)
            if call is not None and call in self.mailbox:
                self.mailbox[call].append(decision)

    def run(self, call: str, actions: list[ConversationAction]) -> None:
        for action in actions:
            match action:
                case Tell(decisions=decisions):
                    self.tell(decisions)
                case Record():
                    self.facts[call].append(action)
                case RingAgent(agent=agent, channel=channel):
                    self.ringing[channel] = (call, agent)
                case HangUpAgent(channel=channel):
                    # Asterisk reports the end of the channel later, as of any hang-up.
                    known = self.ringing.pop(channel, None) or self.up.pop(channel, None)
                    if known is not None:
                        self.post(known[0], ("agent", known[1], ChannelHangup(channel, 16)))
                case Whisper(channel=channel):
                    self.whispering.add(channel)
                case StartConsultTimer(request=request):
                    self.timers.append((call, request))
                case Settle(disposition=disposition):
                    self.settled[call].append(disposition)
                    callback = self.calls[call].callback
                    # A callback whose promise is open is never counted abandoned.
                    if disposition == "abandoned":
                        assert callback is None or callback.done, (call, callback)
                case DialCitizen(channel=channel, number=number):
                    if number == UNDIALLABLE:
                        conv = self.calls[call]
                        self.run(call, conv.citizen_not_reached(self.now, "dial_failed"))
                    else:
                        self.citizens[channel] = call
                case ForgetCitizen(channel=channel, hang_up=True):
                    if self.citizens.pop(channel, None) is not None:
                        self.post(call, ("citizen", ChannelHangup(channel, 16)))
                case AskCallbackNumber():
                    self.asked.add(call)
                case CitizenOnLine():
                    self.line_up[call] = True
                case CallbackClosed(number=number):
                    self.book.closed(number, call)
                case EndCall():
                    self.forget(call)  # the call is closed (its line hung up, if any)
                case _:
                    pass

    def post(self, call: str, item: Any) -> None:
        if call in self.mailbox:
            self.mailbox[call].append(item)

    def deliver(self, call: str) -> None:
        """The call's consumer takes its next item, as CallFlow.on_event does."""
        item = self.mailbox[call].popleft()
        conv = self.calls[call]
        if isinstance(item, tuple) and item[0] == "agent":
            _, agent, event = item
            on_line = self.line_up[call] or conv.callback is None
            self.run(call, conv.on_agent(agent, event.channel, event, self.now, on_line))
        elif isinstance(item, tuple) and item[0] == "caller_left":
            self.hanging_up.discard(call)
            if conv.awaits_callback:  # the call goes on without a line until called back
                self.line_up[call] = False
                return
            if conv.phase in WITH_CALLER:
                self.run(call, conv.caller_left(self.now))
            self.forget(call)
        elif isinstance(item, tuple) and item[0] == "citizen":
            event = item[1]
            actions = conv.on_citizen(event.channel, event, self.now)
            assert actions is not None  # the caller's line ends by "caller_left" here
            self.run(call, actions)
        elif isinstance(item, tuple) and item[0] == "arrange":
            if conv.phase == "waiting" and not conv.offers:  # as the shell asks it
                self.run(call, conv.arrange_callback())
        elif isinstance(item, tuple) and item[0] == "book":
            self.asked.discard(call)
            if conv.phase == "arranging":  # the menu asked for the number
                verdict = self.book.book(item[1], call, dt.date(2026, 12, 2))
                self.run(call, conv.callback_booking(verdict, item[1], self.now, "zh", "1"))
        elif isinstance(item, tuple) and item[0] == "wait_on":
            self.asked.discard(call)
            self.run(call, conv.resume_waiting(self.now))
        elif isinstance(item, Overflow):
            due = conv.callback_overflow(item.reason, self.now, "2026-12-03", "1")
            if due is not None:
                self.run(call, due)
            elif item.reason == "max_wait" and conv.callback_instead():
                self.run(call, conv.max_wait_callback(self.now))
            else:
                conv.phase = "done"  # a voice message instead (the menu's part)
        elif isinstance(item, tuple) and item[0] == "transfer":
            with contextlib.suppress(RouterError):  # no conversation to transfer
                self.run(call, conv.transfer(item[1], self.now))
        elif isinstance(item, tuple) and item[0] == "consult":
            with contextlib.suppress(RouterError):
                self.run(call, conv.ask_consult(item[1], self.now))
        elif isinstance(item, tuple) and item[0] == "consult_command":
            with contextlib.suppress(RouterError):
                self.run(call, conv.consult_command(item[1], self.now))
        elif isinstance(item, tuple) and item[0] == "consult_timeout":
            self.run(call, conv.consult_timed_out(item[1], self.now))
        elif getattr(item, "call_id", call) != call:  # about a consult request of the call
            self.run(call, conv.on_consult_decision(item, self.now))
        elif isinstance(item, Offer):
            self.run(call, conv.offer(item.agent, item.ring_seconds))
        elif isinstance(item, CancelOffer):
            self.run(call, conv.cancel_offer(item.agent))
        elif isinstance(item, Moved):
            self.run(call, conv.moved(item.to_queue))
        elif isinstance(item, Announce):
            pass
        else:
            raise AssertionError(f"unexpected {item!r}")

    def forget(self, call: str) -> None:
        """The call is over: the controller forgets it (later items dropped)."""
        self.calls.pop(call)
        self.mailbox.pop(call)
        self.asked.discard(call)
        for channel in [ch for ch, owner in self.citizens.items() if owner == call]:
            del self.citizens[channel]  # Asterisk's ring timeout ends it; nobody hears of it


class ConversationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.c = Center()

    def _pick(self, data: st.DataObject, pool: list[Any]) -> Any:
        return data.draw(st.sampled_from(sorted(pool)))

    @rule(queue=st.sampled_from(sorted(QUEUES["queues"])))
    def caller_arrives(self, queue: str) -> None:
        c = self.c
        c.n += 1
        call = f"c{c.n}"
        conv = Conversation(router=c.router, call_id=call, queue=queue, entered=c.now)
        c.calls[call], c.mailbox[call], c.facts[call] = conv, deque(), []
        c.run(call, conv.enter(c.now))

    @precondition(lambda self: any(self.c.mailbox.values()))
    @rule(data=st.data())
    def a_call_handles_its_next_item(self, data: st.DataObject) -> None:
        busy = [call for call, box in self.c.mailbox.items() if box]
        self.c.deliver(self._pick(data, busy))

    @precondition(lambda self: any(self.c.mailbox.values()))
    @rule()
    def every_call_catches_up(self) -> None:
        """The consumers handle all that is queued (shorter paths to the later phases, where
        a ring-all offer made twice was found)."""
        for _ in range(1000):
            busy = [call for call, box in self.c.mailbox.items() if box]
            if not busy:
                break
            self.c.deliver(busy[0])

    @precondition(lambda self: self.c.ringing)
    @rule(data=st.data())
    def an_agent_picks_up(self, data: st.DataObject) -> None:
        channel = self._pick(data, list(self.c.ringing))
        call, agent = self.c.up[channel] = self.c.ringing.pop(channel)
        self.c.post(call, ("agent", agent, ChannelAnswered(channel)))

    @precondition(lambda self: self.c.ringing)
    @rule(data=st.data(), cause=st.sampled_from(CAUSES))
    def a_phone_stops_ringing(self, data: st.DataObject, cause: int) -> None:
        channel = self._pick(data, list(self.c.ringing))
        call, agent = self.c.ringing.pop(channel)
        self.c.post(call, ("agent", agent, ChannelHangup(channel, cause)))

    @precondition(lambda self: self.c.up)
    @rule(data=st.data())
    def an_agent_hangs_up(self, data: st.DataObject) -> None:
        channel = self._pick(data, list(self.c.up))
        call, agent = self.c.up.pop(channel)
        self.c.post(call, ("agent", agent, ChannelHangup(channel, 16)))

    @precondition(lambda self: self.c.whispering)
    @rule(data=st.data())
    def a_whisper_ends(self, data: st.DataObject) -> None:
        channel = self._pick(data, list(self.c.whispering))
        self.c.whispering.discard(channel)
        if channel in self.c.up:
            call, agent = self.c.up[channel]
            self.c.post(call, ("agent", agent, PlaybackDone(channel, f"{channel}.whisper")))

    @precondition(lambda self: self.c.up)
    @rule(data=st.data(), key=st.sampled_from(["1", "2", "9"]))
    def an_agent_keys_a_transfer(self, data: st.DataObject, key: str) -> None:
        channel = self._pick(data, list(self.c.up))
        call, agent = self.c.up[channel]
        for digit in ("*", key):
            self.c.post(call, ("agent", agent, KeyPressed(channel, digit)))

    @precondition(lambda self: self.c.up)
    @rule(data=st.data(), key=st.sampled_from(["1", "2", "9"]))
    def an_agent_keys_a_consult(self, data: st.DataObject, key: str) -> None:
        channel = self._pick(data, list(self.c.up))
        call, agent = self.c.up[channel]
        for digit in ("*", "*", key):
            self.c.post(call, ("agent", agent, KeyPressed(channel, digit)))

    @precondition(lambda self: self.c.up)
    @rule(data=st.data(), key=st.sampled_from(["1", "3", "0"]))
    def an_agent_keys_a_consult_command(self, data: st.DataObject, key: str) -> None:
        channel = self._pick(data, list(self.c.up))
        call, agent = self.c.up[channel]
        for digit in ("*", key):
            self.c.post(call, ("agent", agent, KeyPressed(channel, digit)))

    @precondition(lambda self: self.c.calls)
    @rule(data=st.data(), queue=st.sampled_from(sorted(QUEUES["queues"])))
    def the_desk_page_consults(self, data: st.DataObject, queue: str) -> None:
        self.c.post(self._pick(data, list(self.c.calls)), ("consult", queue))

    @precondition(lambda self: self.c.calls)
    @rule(data=st.data(), command=st.sampled_from(["complete", "three_way", "cancel"]))
    def the_desk_page_ends_a_consult(self, data: st.DataObject, command: str) -> None:
        self.c.post(self._pick(data, list(self.c.calls)), ("consult_command", command))

    @precondition(lambda self: self.c.timers)
    @rule(data=st.data())
    def a_consult_timer_fires(self, data: st.DataObject) -> None:
        call, request = self.c.timers.pop(data.draw(st.integers(0, len(self.c.timers) - 1)))
        self.c.post(call, ("consult_timeout", request))

    @precondition(lambda self: self.c.calls)
    @rule(data=st.data(), queue=st.sampled_from(sorted(QUEUES["queues"])))
    def the_desk_page_transfers(self, data: st.DataObject, queue: str) -> None:
        self.c.post(self._pick(data, list(self.c.calls)), ("transfer", queue))

    def _on_line(self) -> list[str]:
        c = self.c
        return [call for call in c.calls if c.line_up[call] and call not in c.hanging_up]

    @precondition(lambda self: self._on_line())
    @rule(data=st.data())
    def a_caller_hangs_up(self, data: st.DataObject) -> None:
        call = self._pick(data, self._on_line())
        self.c.hanging_up.add(call)
        self.c.post(call, ("caller_left",))

    @precondition(lambda self: self._on_line())
    @rule(data=st.data(), number=st.sampled_from(NUMBERS), hangs_up=st.booleans())
    def a_caller_books_a_callback(self, data: st.DataObject, number: str, hangs_up: bool) -> None:
        """The key, the number (ignored unless the menu asked for it), perhaps the hang-up."""
        call = self._pick(data, self._on_line())
        self.c.post(call, ("arrange",))
        self.c.post(call, ("book", number))
        if hangs_up:
            self.c.hanging_up.add(call)
            self.c.post(call, ("caller_left",))

    def _asked(self) -> list[str]:
        return [call for call in self._on_line() if call in self.c.asked]

    @precondition(lambda self: self._asked())
    @rule(data=st.data(), number=st.sampled_from(NUMBERS))
    def a_caller_gives_a_number(self, data: st.DataObject, number: str) -> None:
        call = self._pick(data, self._asked())
        self.c.asked.discard(call)
        self.c.post(call, ("book", number))

    @precondition(lambda self: self._asked())
    @rule(data=st.data())
    def a_caller_waits_on_instead(self, data: st.DataObject) -> None:
        call = self._pick(data, self._asked())
        self.c.asked.discard(call)
        self.c.post(call, ("wait_on",))

    @precondition(lambda self: self.c.citizens)
    @rule(data=st.data())
    def a_citizen_answers_the_callback(self, data: st.DataObject) -> None:
        channel = self._pick(data, list(self.c.citizens))
        self.c.post(self.c.citizens.pop(channel), ("citizen", ChannelAnswered(channel)))

    @precondition(lambda self: self.c.citizens)
    @rule(data=st.data(), cause=st.sampled_from([17, 19, 21, None]))
    def a_citizens_phone_is_not_answered(self, data: st.DataObject, cause: int | None) -> None:
        channel = self._pick(data, list(self.c.citizens))
        self.c.post(self.c.citizens.pop(channel), ("citizen", ChannelHangup(channel, cause)))

    @rule(seconds=st.sampled_from([1.0, 5.0, 20.0]))
    def time_passes(self, seconds: float) -> None:
        self.c.now += seconds
        self.c.tell(self.c.router.tick(self.c.now))

    # --- invariants
    @invariant()
    def no_agent_in_two_conversations(self) -> None:
        talking = [conv.agent for conv in self.c.calls.values() if conv.phase in WITH_DIALLER]
        talking += [
            conv.consult.expert
            for conv in self.c.calls.values()
            if conv.consult is not None and conv.consult.expert is not None
        ]
        assert len(talking) == len(set(talking)), talking

    @invariant()
    def no_caller_lost(self) -> None:
        router = self.c.router
        for call, conv in self.c.calls.items():
            if conv.phase in ("waiting", "callback"):
                if call not in router.waiting:  # given up: the call hears of it next
                    assert any(isinstance(i, Overflow) for i in self.c.mailbox[call]), call
                    continue
                assert (conv.phase == "callback") == router.waiting[call].callback
            elif conv.phase in WITH_DIALLER:
                assert conv.agent is not None
                agent = router.agents[conv.agent]
                assert agent.current_call == call and agent.status == AgentStatus.on_call
                assert call not in router.waiting
            consult = conv.consult
            assert (consult is not None) == (conv.phase in ("consulting", "three_way")), conv
            if consult is not None and consult.expert is not None:
                expert = router.agents[consult.expert]
                assert expert.current_call == consult.request, (consult, expert)
                assert expert.status == AgentStatus.on_call
                assert consult.request not in router.waiting

    @invariant()
    def every_offer_is_open_or_closed_by_a_segment(self) -> None:
        for call, conv in self.c.calls.items():
            kinds = [fact.kind for fact in self.c.facts[call]]
            talking = 1 if conv.phase in WITH_DIALLER else 0
            open_ = len(conv.offers) + talking
            if conv.consult is not None:
                open_ += len(conv.consult.offers) + (conv.consult.expert is not None)
            assert kinds.count("segment_offered") == kinds.count("segment_ended") + open_, kinds

    @invariant()
    def no_phone_rings_for_a_call_that_is_gone(self) -> None:
        for channel, (call, _agent) in [*self.c.ringing.items(), *self.c.up.items()]:
            assert call in self.c.calls, channel

    @invariant()
    def a_callback_is_dialled_at_most_attempts_times_one_channel_at_a_time(self) -> None:
        limit = self.c.router.config.callback.attempts
        for call, conv in self.c.calls.items():
            kinds = [fact.kind for fact in self.c.facts[call]]
            if "callback_requested" in kinds:  # this booking's (a caller may book again)
                kinds = kinds[len(kinds) - kinds[::-1].index("callback_requested") :]
            assert kinds.count("callback_attempt") <= limit, kinds
            callback = conv.callback
            if callback is not None:
                assert callback.attempt == kinds.count("callback_attempt")
                dialling = conv.phase == "dialing"
                assert dialling == (call in self.c.router.dialing), (call, conv.phase)
                if dialling:
                    assert callback.citizen_channel is not None

    def teardown(self) -> None:
        """Everyone hangs up and every mailbox is emptied; the callbacks left are dialled
        until they give up (the citizens do not answer): nothing is left behind."""
        c = self.c
        for call in self._on_line():
            c.hanging_up.add(call)
            c.post(call, ("caller_left",))
        for _ in range(10_000):
            if not c.calls:
                break
            busy = [call for call, box in c.mailbox.items() if box]
            if busy:
                c.deliver(busy[0])
            elif c.ringing:  # agents take the callbacks
                channel = next(iter(c.ringing))
                call, agent = c.up[channel] = c.ringing.pop(channel)
                c.post(call, ("agent", agent, ChannelAnswered(channel)))
            elif c.citizens:  # nobody answers at home
                channel = next(iter(c.citizens))
                c.post(c.citizens.pop(channel), ("citizen", ChannelHangup(channel, 19)))
            elif self._on_line():  # called back (answered before the teardown): hangs up
                call = self._on_line()[0]
                c.hanging_up.add(call)
                c.post(call, ("caller_left",))
            else:  # retries come due; paused and unreachable agents are back
                c.now += 10
                for agent in AGENTS:
                    c.tell(c.router.endpoint(agent, True, c.now))
                    c.tell(c.router.ready(agent, c.now))
                c.tell(c.router.tick(c.now))
        for _ in range(100):  # wrap-ups end
            c.now += 10
            c.tell(c.router.tick(c.now))
        assert not c.calls
        assert not c.router.waiting
        for agent in c.router.agents.values():
            assert agent.status not in (AgentStatus.offered, AgentStatus.on_call), agent
            assert agent.current_call is None and agent.offered_call is None
        # Every segment offered was closed (the calls are gone: count what they recorded).
        for call, facts in c.facts.items():
            kinds = [fact.kind for fact in facts]
            assert kinds.count("segment_offered") == kinds.count("segment_ended"), (call, kinds)
            # Outcomes fit call_segments' columns (16 characters).
            assert all(len(f.data.get("outcome", "")) <= 16 for f in facts), (call, facts)
            # Every consult asked ended, and said how.
            assert kinds.count("consult_asked") == kinds.count("consult_ended"), (call, kinds)
            # Every callback booked ended once: kept, failed or expired (a caller put through
            # may book again, e.g. waiting in the queue they were transferred to).
            booked = kinds.count("callback_requested")
            assert kinds.count("callback_finished") == booked, (call, kinds)
        assert not c.book.pending  # every number may book again


ConversationMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None
)
test_conversations = ConversationMachine.TestCase


def test_offers_still_ringing_close_when_the_caller_leaves_right_after_an_answer() -> None:
    """Ring-all: the caller hangs up just after one agent answered, before the other
    offers' cancellations reach the call. Those phones must stop ringing (found by the
    property test above with more examples)."""
    c = Center()
    state = ConversationMachine()
    state.c = c
    state.caller_arrives("expert")
    while c.mailbox["c1"]:
        c.deliver("c1")
    assert len(c.ringing) == len(AGENTS)
    first = sorted(c.ringing)[0]
    call, agent = c.up[first] = c.ringing.pop(first)
    c.post(call, ("agent", agent, ChannelAnswered(first)))
    c.post(call, ("caller_left",))
    c.deliver(call)  # the answer: the other offers' cancellations are queued behind the hang-up
    conv = c.calls[call]
    c.deliver(call)  # the hang-up: the call is forgotten, its later items dropped
    assert conv.offers == {}
    assert not c.ringing  # every other phone was hung up
    kinds = [fact.kind for fact in c.facts[call]]
    assert kinds.count("segment_offered") == kinds.count("segment_ended") == len(AGENTS)


def test_ring_all_offers_end_when_the_answering_agent_transfers_and_the_caller_leaves() -> None:
    """Found by the property test: ring-all, one agent answers and at once transfers with
    `*` + key, the caller hangs up. The other phones' offers end with the answer, not when
    their cancellations come through the mailbox (the call is gone by then)."""
    c = Center()
    state = ConversationMachine()
    state.c = c
    state.caller_arrives("expert")
    c.deliver("c1")  # the first offer rings; the others are still in the mailbox
    first = next(iter(c.ringing))
    call, agent = c.up[first] = c.ringing.pop(first)
    for item in (ChannelAnswered(first), KeyPressed(first, "*"), KeyPressed(first, "2")):
        c.post(call, ("agent", agent, item))
    c.post(call, ("caller_left",))
    while call in c.calls:
        c.deliver(call)
    assert not c.ringing and not c.up  # no phone rings for the call that is gone
    kinds = [fact.kind for fact in c.facts[call]]
    assert "transferred_to_queue" in kinds
    assert kinds.count("segment_offered") == kinds.count("segment_ended")
    for number in AGENTS:
        assert c.router.agents[number].offered_call is None
