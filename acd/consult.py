"""The attended consult, as part of the pure conversation machine (acd/conversation.py).

During a conversation the agent asks an expert queue for help (`*` `*` + key, or the API):
the caller holds (music), the expert queue rings an expert through the router like any call
(the request is a call of its own there, `<call>~x<n>`, see `consult_owner`), the expert
hears the whisper, then agent and expert talk. The agent then completes (leaves the caller
with the expert), makes it three-way, or cancels. No expert within the queue's
`consult_timeout`, or none ready when asked: the agent hears so and is back with the caller, and
may open a work order in one step (`*` `0`).

Keys of the asking agent during a consult: `*1` complete, `*3` three-way, `*0` cancel; the
agent hanging up once the expert talks completes too. In a three-way, `*0` lets the expert
go, `*1` (or hanging up) leaves the caller with the expert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from acd.channel_events import ChannelAnswered, ChannelEvent, ChannelHangup, PlaybackDone
from acd.conversation_actions import (
    BackToCaller,
    ConsultBridge,
    ConversationAction,
    HandToExpert,
    HangUpAgent,
    HoldCaller,
    Log,
    OpenWorkOrder,
    Record,
    RingAgent,
    StartConsultTimer,
    StopRecording,
    Tell,
    TellAgent,
    ThreeWay,
    Whisper,
)
from acd.conversation_rules import AgentKeys, offer_outcome, whisper_prompts
from acd.filing import RouterError
from acd.state import CancelOffer, Decision, Moved, Offer, Overflow

if TYPE_CHECKING:
    from acd.router import Router

Actions = list[ConversationAction]

# An agent with a caller on hold goes ahead of the callers waiting for the expert queue.
CONSULT_PRIORITY = 1000
# Keys after `*` while consulting (the asking agent's desk phone).
CONSULT_KEYS = {"1": "complete", "3": "three_way", "0": "cancel"}
# After a consult found no expert, `*` + this key opens a work order for the call.
WORK_ORDER_KEY = "0"
SEPARATOR = "~x"


def consult_owner(call_id: str) -> str:
    """The call a router call id belongs to: a consult request's caller, or itself."""
    return call_id.split(SEPARATOR, 1)[0]


def consulted_on(call_id: str | None) -> str | None:
    """The caller's call when `call_id` (an agent's current call) is a consult request: that
    agent is an expert being consulted, and the asking agent leads the call until they hand
    it over (`complete`). None for any other call."""
    if call_id is None or SEPARATOR not in call_id:
        return None
    return consult_owner(call_id)


@dataclass
class Consult:
    """One consult request: who asked, which queue, the experts rung, the one who answered."""

    request: str  # the router's id of the request
    queue: str
    agent: str
    agent_channel: str
    asked_at: float
    offers: dict[str, str] = field(default_factory=dict)  # expert -> channel
    expert: str | None = None
    channel: str | None = None
    channel_name: str = ""
    answered_at: float = 0.0
    stage: str = "ringing"  # ringing | whisper | talking | three_way

    def owns(self, channel: str) -> bool:
        """Whether `channel` is one of this consult's expert legs."""
        return channel == self.channel or channel in self.offers.values()


class Consulting:
    """The consult half of the Conversation machine (mixed into it)."""

    router: Router
    call_id: str
    queue: str
    phase: str
    agent: str | None
    agent_channel: str | None
    answered_at: float
    keys: AgentKeys
    consult: Consult | None
    no_expert_line: str | None  # the queue of the last consult that found no expert
    outside: object | None  # a department being dialled (acd/outside_transfer.py)

    def next_id(self) -> int:  # provided by Conversation
        raise NotImplementedError

    def _finished(self, now: float) -> Actions:  # provided by Conversation
        raise NotImplementedError

    # --- asking
    def ask_consult(self, target: str, now: float) -> Actions:
        """The agent asks an expert queue for help; RouterError if not talking with a caller."""
        if self.phase != "talking" or self.agent is None or self.agent_channel is None:
            raise RouterError("no conversation to consult about")
        if self.outside is not None:  # one hand-on at a time: a department is ringing
            raise RouterError("a transfer to another department is ringing")
        spec = self.router.config.queues.get(target)
        if spec is None:
            raise RouterError(f"unknown queue {target!r}")
        request = f"{self.call_id}{SEPARATOR}{self.next_id()}"
        self.consult = Consult(request, target, self.agent, self.agent_channel, now)
        self.phase = "consulting"
        self.no_expert_line = None
        out: Actions = [
            Record("consult_asked", {"agent": self.agent, "queue": target}),
            Log("consult_asked", {"agent": self.agent, "queue": target}),
            HoldCaller(self.agent_channel),
        ]
        decisions = self.router.enqueue(request, target, CONSULT_PRIORITY, now)
        if any(isinstance(d, Overflow) and d.call_id == request for d in decisions):
            return out + self._no_expert(now, "no_experts")
        offered = any(isinstance(d, Offer) and d.call_id == request for d in decisions)
        # While a restarted controller puts its callers back, no offer is made to anyone:
        # the request waits for the resumption (and the consult's timer), as callers do.
        if not offered and not self.router.offers_deferred:
            # Nobody ready for it now: the agent is told at once rather than kept waiting.
            # (Withdrawing it from the router is the `_no_expert` below.)
            return [*out, Tell(decisions), *self._no_expert(now, "none_ready")]
        return [*out, StartConsultTimer(request, spec.consult_timeout), Tell(decisions)]

    def consult_command(self, command: str, now: float) -> Actions:
        """complete, three_way or cancel (keys or the API); RouterError when not possible."""
        c = self.consult
        if c is None:
            raise RouterError("no consult in progress")
        if command == "cancel" and c.stage == "three_way":
            return self.drop_expert(now)
        if command == "cancel":
            return self._cancel(now, "cancelled")
        if command == "complete" and c.stage in ("talking", "three_way"):
            return self._complete(now)
        if command == "three_way" and c.stage == "talking":
            return self._three_way(now)
        raise RouterError(f"cannot {command} now (expert {c.stage})")

    def open_work_order(self) -> Actions:
        """After a consult found no expert: a work order for the call, owned by the agent."""
        if self.phase != "talking" or self.agent is None or self.no_expert_line is None:
            raise RouterError("no failed consult to open a work order for")
        line, self.no_expert_line = self.no_expert_line, None
        return [OpenWorkOrder(self.agent, line)]

    def consult_key(self, digit: str, now: float) -> Actions:
        """A key of the asking agent while consulting or in a three-way."""
        if digit == "*":
            self.keys = AgentKeys("*")
            return []
        pending, self.keys = self.keys.pending, AgentKeys()
        command = CONSULT_KEYS.get(digit) if pending == "*" else None
        if command is None:
            return []
        try:
            return self.consult_command(command, now)
        except RouterError as exc:
            return [Log("consult_key_refused", {"digit": digit, "why": str(exc)})]

    # --- the router, about the request
    def on_consult_decision(self, decision: Decision, now: float) -> Actions:
        """A router decision about a consult request of this call."""
        c = self.consult
        if c is None or getattr(decision, "call_id", None) != c.request:
            return []  # an old request's: its offers were withdrawn with it
        match decision:
            case Offer(agent=expert, ring_seconds=ring):
                if self.router.agents[expert].offered_call != c.request:
                    return []
                channel = f"{self.call_id}-{expert}-{self.next_id()}"
                c.offers[expert] = channel
                offered = {"queue": c.queue, "agent": expert, "consulted_by": c.agent}
                return [Record("segment_offered", offered), RingAgent(expert, channel, ring)]
            case CancelOffer(agent=expert):
                return self._withdraw(c, expert, "cancelled")
            case Overflow(reason=reason) if c.stage == "ringing":
                return self._no_expert(now, reason)
            case Moved(to_queue=queue):
                c.queue = queue
        return []

    def consult_timed_out(self, request: str, now: float) -> Actions:
        """The consult timer ran out: no expert answered in time."""
        c = self.consult
        if c is None or c.request != request or c.stage != "ringing":
            return []
        return self._no_expert(now, "timeout")

    def consult_offer_not_started(self, expert: str, now: float) -> Actions:
        """Asterisk refused to ring an expert's phone."""
        c = self.consult
        if c is None or c.offers.pop(expert, None) is None:
            return []
        ended = Record("segment_ended", {"agent": expert, "outcome": "unreachable"})
        return [ended, Tell(self.router.offer_failed(c.request, expert, "unreachable", now))]

    # --- the expert's phone
    def on_expert(self, expert: str, channel: str, event: ChannelEvent, now: float) -> Actions:
        """An event of one of the consult's expert legs."""
        c = self.consult
        assert c is not None
        if isinstance(event, ChannelAnswered):
            if c.stage != "ringing" or c.offers.get(expert) != channel:
                return [HangUpAgent(channel)]
            return self._expert_answered(c, expert, channel, event.name, now)
        if isinstance(event, PlaybackDone) and c.stage == "whisper" and channel == c.channel:
            return self._consult_talk(c, now)
        if not isinstance(event, ChannelHangup):
            return []
        if channel == c.channel:
            if c.stage == "three_way":
                return self._expert_left_three_way(c, now)
            outcome = "cancelled" if c.stage == "talking" else "no_expert"
            return self._cancel(now, outcome, expert_gone=True)
        if c.offers.get(expert) == channel:
            c.offers.pop(expert)
            why = offer_outcome(event.cause or 0, event.lost)
            return [
                Record("segment_ended", {"agent": expert, "outcome": why}),
                Tell(self.router.offer_failed(c.request, expert, why, now)),
            ]
        return []

    def _expert_answered(
        self, c: Consult, expert: str, channel: str, name: str, now: float
    ) -> Actions:
        c.offers.pop(expert, None)
        out: Actions = []
        for decision in self.router.answered(c.request, expert, now):
            if isinstance(decision, CancelOffer) and decision.call_id == c.request:
                out += self._withdraw(c, decision.agent, "cancelled")
            else:
                out.append(Tell([decision]))
        c.expert, c.channel, c.channel_name, c.answered_at = expert, channel, name, now
        out += [
            Record("segment_answered", {"agent": expert}),
            Log("expert_answered", {"agent": c.agent, "expert": expert, "queue": c.queue}),
        ]
        spec = self.router.config.queues.get(c.queue)
        if spec is not None and spec.whisper:
            c.stage = "whisper"
            return [*out, Whisper(channel, whisper_prompts(c.queue, now - c.asked_at))]
        return out + self._consult_talk(c, now)

    def _consult_talk(self, c: Consult, now: float) -> Actions:
        assert c.expert is not None and c.channel is not None
        c.stage = "talking"
        c.answered_at = now
        return [ConsultBridge(c.agent_channel, c.expert, c.channel, c.channel_name)]

    def _withdraw(self, c: Consult, expert: str, outcome: str) -> Actions:
        channel = c.offers.pop(expert, None)
        if channel is None:
            return []
        return [
            Record("segment_ended", {"agent": expert, "outcome": outcome}),
            HangUpAgent(channel),
        ]

    # --- endings
    def _ended(self, c: Consult, outcome: str, now: float) -> Record:
        """The fact of how the consult ended, kept on the asking agent's segment."""
        seconds = round(now - c.answered_at, 3) if c.expert is not None else 0.0
        data = {"agent": c.agent, "queue": c.queue, "expert": c.expert, "outcome": outcome}
        return Record("consult_ended", {**data, "seconds": seconds})

    def _end_expert_leg(self, c: Consult, now: float, outcome: str, hang_up: bool) -> Actions:
        """Whatever the request still has: its offers withdrawn, the expert's part ended."""
        out: Actions = []
        for decision in self.router.caller_left(c.request, now):
            if not isinstance(decision, CancelOffer):
                out.append(Tell([decision]))
        for expert in sorted(c.offers):
            out += self._withdraw(c, expert, "cancelled")
        if c.expert is not None and c.channel is not None:
            talked = now - c.answered_at
            out += [
                Record("segment_ended", {"agent": c.expert, "outcome": outcome}),
                Tell(self.router.call_finished(c.expert, c.queue, talked, now)),
                StopRecording(c.expert),
            ]
            if hang_up:
                out.append(HangUpAgent(c.channel))
        return out

    def _cancel(self, now: float, outcome: str, expert_gone: bool = False) -> Actions:
        """Back to the caller without the expert (cancelled, or the expert hung up)."""
        c = self.consult
        assert c is not None
        leg = "agent_hangup" if expert_gone else "consult_cancel"
        out: Actions = [self._ended(c, outcome, now)]
        out += self._end_expert_leg(c, now, leg, hang_up=not expert_gone)
        self.consult = None
        self.phase = "talking"
        # A `*` pressed during the consult (say, to cancel) must not carry over: `*` `0`
        # back with the caller opens a work order.
        self.keys = AgentKeys()
        out += [Log("consult_ended", {"outcome": outcome}), BackToCaller(c.agent_channel)]
        if outcome == "no_expert":
            self.no_expert_line = c.queue
            out.append(TellAgent(c.agent_channel, ("consult-no-expert",)))
        return out

    def _no_expert(self, now: float, why: str) -> Actions:
        c = self.consult
        assert c is not None
        return [
            Log("consult_no_expert", {"queue": c.queue, "why": why}),
            *self._cancel(now, "no_expert"),
        ]

    def _three_way(self, now: float) -> Actions:
        c = self.consult
        assert c is not None and c.channel is not None
        out: Actions = [self._ended(c, "three_way", now)]
        c.stage = "three_way"
        self.phase = "three_way"
        return [*out, Log("three_way", {"expert": c.expert}), ThreeWay(c.agent_channel, c.channel)]

    def _expert_left_three_way(self, c: Consult, now: float) -> Actions:
        out = self._end_expert_leg(c, now, "agent_hangup", hang_up=False)
        self.consult = None
        self.phase = "talking"
        return out

    def drop_expert(self, now: float) -> Actions:
        """In a three-way, the agent lets the expert go."""
        c = self.consult
        assert c is not None
        out = self._end_expert_leg(c, now, "consult_ended", hang_up=True)
        self.consult = None
        self.phase = "talking"
        return out

    def _complete(self, now: float, agent_gone: bool = False) -> Actions:
        """The agent leaves: the expert goes on with the caller as the conversation's agent."""
        c = self.consult
        assert c is not None and c.expert is not None and c.channel is not None
        assert self.agent is not None
        out: Actions = []
        if c.stage != "three_way":
            out.append(self._ended(c, "complete", now))
        out.append(Record("segment_ended", {"agent": self.agent, "outcome": "handed_over"}))
        out += self._finished(now)
        if not agent_gone:
            out.append(HangUpAgent(c.agent_channel))
        self.router.hand_over(c.expert, c.request, self.call_id)
        self.agent, self.agent_channel, self.answered_at = c.expert, c.channel, now
        self.queue = c.queue
        self.consult = None
        self.phase = "talking"
        out += [
            Record("queued", {"queue": c.queue}),
            Record("agent", {"agent": c.expert}),
            Log("consult_complete", {"expert": c.expert, "queue": c.queue}),
            HandToExpert(c.expert, c.channel, now),
        ]
        return out

    # --- the asking agent and the caller during a consult
    def agent_left_consult(self, now: float) -> Actions | None:
        """The asking agent hung up during a consult: the expert takes over once talking
        (attended transfer); None: not yet (the caller's conversation ends as usual)."""
        c = self.consult
        assert c is not None
        if c.stage in ("talking", "three_way"):
            return self._complete(now, agent_gone=True)
        return None

    def end_consult(self, now: float, outcome: str) -> Actions:
        """The conversation ends during a consult (the caller or the agent left)."""
        c = self.consult
        if c is None:
            return []
        out: Actions = []
        if c.stage != "three_way":
            out.append(self._ended(c, "cancelled", now))
        out += self._end_expert_leg(c, now, outcome, hang_up=True)
        self.consult = None
        return out
