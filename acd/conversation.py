"""One caller's time with the ACD as a pure machine: events in, actions out.

Phases: waiting → (arranging → callback → dialing →) [whisper →] talking → survey → done.
The machine keeps who is offered the call, who is talking with the caller and since when, and
asks the router (pure too) at each step; the shell (hotline/person_leg.py) feeds it typed
channel events (acd/channel_events.py) and carries out what it returns
(acd/conversation_actions.py) in order, as it does the voice menu's actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from acd import outside_transfer
from acd.callback_leg import Callback, CallingBack
from acd.channel_events import (
    ChannelAnswered,
    ChannelEvent,
    ChannelHangup,
    KeyPressed,
    PlaybackDone,
)
from acd.consult import WORK_ORDER_KEY, Consult, Consulting
from acd.conversation_actions import (
    AskSurvey,
    Bridge,
    CloseBridge,
    ConversationAction,
    Count,
    HandOver,
    HangUpAgent,
    Log,
    PlayToCaller,
    Record,
    Requeued,
    RingAgent,
    Settle,
    StopRecording,
    Tell,
    TellAgent,
    Whisper,
)
from acd.conversation_rules import (
    AgentKeys,
    disposition_when_caller_left,
    offer_outcome,
    whisper_prompts,
)
from acd.filing import RouterError
from acd.queues import on_duty
from acd.router import Router
from acd.state import CancelOffer, Decision

Actions = list[ConversationAction]

# Phases in which the caller's hang-up concerns the ACD (offers, a conversation).
WITH_CALLER = (
    "waiting",
    "arranging",
    "talking",
    "whisper",
    "consulting",
    "three_way",
    outside_transfer.PHASE,
)
# Phases in which an agent is with the caller (consulting: the caller holds meanwhile).
WITH_AGENT = ("whisper", "talking", "consulting", "three_way")


@dataclass
class Conversation(Consulting, CallingBack):
    """One caller with the ACD: the offers, the agent, the phase, a consult (acd/consult.py),
    a booked callback (acd/callback_leg.py)."""

    router: Router
    call_id: str
    queue: str
    entered: float
    phase: str = "waiting"
    priority: int = 0
    agent: str | None = None
    agent_channel: str | None = None
    answered_at: float = 0.0
    offers: dict[str, str] = field(default_factory=dict)  # agent -> agent channel id
    keys: AgentKeys = field(default_factory=AgentKeys)
    consult: Consult | None = None
    no_expert_line: str | None = None
    outside: outside_transfer.OutsideDial | None = None  # a department dialled (blind transfer)
    callback: Callback | None = None  # virtual hold: the caller is called back
    max_waited: bool = False  # the callback is being arranged because of max_wait_seconds
    _n: int = 0

    def next_id(self) -> int:
        """A number for this call's helper channels and playbacks."""
        self._n += 1
        return self._n

    @property
    def awaits_callback(self) -> bool:
        """The caller hung up and is called back in their place."""
        return self.phase in ("callback", "dialing")

    def enter(self, now: float, waiting_since: float | None = None) -> Actions:
        """Into the router's queue, placed by the first time of entry."""
        decisions = self.router.enqueue(
            self.call_id,
            self.queue,
            self.priority,
            now,
            entered=self.entered,
            waiting_since=waiting_since,
        )
        return [Tell(decisions)]

    def _tell(self, decisions: list[Decision]) -> Actions:
        """Router decisions to carry out; the withdrawal of this call's own offers is carried
        out at once, not through the mailbox, where it could come after the caller's hang-up
        (the call is forgotten then, and the phones would ring on for nobody)."""
        out: Actions = []
        others: list[Decision] = []
        for decision in decisions:
            if isinstance(decision, CancelOffer) and decision.call_id == self.call_id:
                out += self.cancel_offer(decision.agent)
            else:
                others.append(decision)
        return [*out, Tell(others)] if others else out

    # --- offers (router decisions)
    def offer(self, agent: str, ring_seconds: float) -> Actions:
        """The router offers the call to `agent`: ring their phone on a channel of ours
        (unless the router has withdrawn the offer since: its cancellation is on its way, or
        was carried out already when another agent answered).

        The phone may ring for this offer already: in a ring-all queue an offer withdrawn
        when another agent answered can still be in the mailbox when that agent transfers
        the caller back and the router offers the same agent again. The first of the two to
        arrive rings for the router's offer; a second channel would never be closed."""
        if self.router.agents[agent].offered_call != self.call_id or agent in self.offers:
            return []
        channel = f"{self.call_id}-{agent}-{self.next_id()}"
        self.offers[agent] = channel
        segment = Record("segment_offered", {"queue": self.queue, "agent": agent})
        return [segment, RingAgent(agent, channel, ring_seconds)]

    def offer_not_started(self, agent: str, now: float) -> Actions:
        """Asterisk refused to ring the agent's phone."""
        self.offers.pop(agent, None)
        ended = Record("segment_ended", {"agent": agent, "outcome": "unreachable"})
        return [ended, Tell(self.router.offer_failed(self.call_id, agent, "unreachable", now))]

    def cancel_offer(self, agent: str) -> Actions:
        """The router withdraws the offer (another agent answered, the call moved...)."""
        channel = self.offers.pop(agent, None)
        if channel is None:
            return []
        ended = Record("segment_ended", {"agent": agent, "outcome": "cancelled"})
        return [ended, HangUpAgent(channel)]

    def moved(self, queue: str) -> Actions:
        """The router moved the call to another queue (an overflow step)."""
        self.queue = queue
        return [Record("queued", {"queue": queue})]

    # --- the agent's channel
    def on_agent(
        self,
        agent: str,
        channel: str,
        event: ChannelEvent,
        now: float,
        caller_on_line: bool = True,
    ) -> Actions:
        """An event of an agent's channel (`caller_on_line`: False while a callback's caller
        is not on a line of ours)."""
        if self.consult is not None and self.consult.owns(channel):
            return self.on_expert(agent, channel, event, now)
        if self.outside is not None and channel == self.outside.channel:
            return outside_transfer.on_event(self, event, now)
        if isinstance(event, ChannelAnswered):
            if self.phase not in ("waiting", "callback") or self.offers.get(agent) != channel:
                return [HangUpAgent(channel)]  # too late: someone else has it
            return self._answered_by(agent, channel, now, caller_on_line)
        mine = self.agent == agent
        if isinstance(event, PlaybackDone) and self.phase == "whisper" and mine:
            return self.bridge(now)
        if isinstance(event, KeyPressed) and self.phase == "talking" and mine:
            return self._key(event.digit, now)
        if isinstance(event, KeyPressed) and self.phase in ("consulting", "three_way") and mine:
            return self.consult_key(event.digit, now)
        if not isinstance(event, ChannelHangup):
            return []
        if mine and self.agent_channel == channel:
            if self.phase in ("consulting", "three_way"):
                return self.agent_left_consult(now) or self._agent_left(now)
            if self.phase == "talking":
                return self._agent_left(now)
            if self.phase == "whisper":
                return self._whisper_refused(now)
            if self.phase == "dialing":
                return self.agent_left_dialing(now)
            return []
        if self.offers.get(agent) == channel:
            self.offers.pop(agent)
            why = offer_outcome(event.cause or 0, event.lost)
            return [
                Record("segment_ended", {"agent": agent, "outcome": why}),
                Log("offer_failed", {"agent": agent, "why": why, "cause": event.cause or 0}),
                Tell(self.router.offer_failed(self.call_id, agent, why, now)),
            ]
        return []

    def _key(self, digit: str, now: float) -> Actions:
        """A key of the agent talking with the caller: `*` + key transfers, `*` `*` + key
        consults, `*` + 0 after a consult found no expert opens a work order."""
        transfers = self.router.config.transfers
        consult = self.keys.consult_target(digit, transfers)
        if consult is not None:
            self.keys = AgentKeys()
            if self.outside is not None:  # one hand-on at a time: a department is ringing
                return [Log("consult_refused", {"agent": self.agent, "why": "outside_ringing"})]
            return self.ask_consult(consult, now)
        if self.keys.pending == "*" and digit == WORK_ORDER_KEY and self.no_expert_line:
            self.keys = AgentKeys()
            return self.open_work_order()
        # `*` + key: a queue of `transfers`, or another department (outside: in queues.yaml).
        outside = {name: (d.number, d.key) for name, d in self.router.config.outside.items()}
        keys = outside_transfer.agent_keys(transfers, outside)
        self.keys, target = self.keys.press(digit, keys)
        return self.transfer(target, now) if target is not None else []

    def _answered_by(self, agent: str, channel: str, now: float, caller_on_line: bool) -> Actions:
        """The agent picked up: the call leaves the queue; the agent may hear a whisper."""
        callback = self.phase == "callback"
        self.offers.pop(agent, None)
        out: Actions = self._tell(self.router.answered(self.call_id, agent, now))
        self.agent, self.agent_channel, self.answered_at = agent, channel, now
        info = {"agent": agent, "queue": self.queue, "callback": callback}
        out.append(Log("agent_answered", info))
        if callback and not caller_on_line:
            self.phase = "dialing"
            return out + self.dial_citizen(agent, channel)
        if callback:
            # Their turn came while they still heard that the callback is booked: no need
            # to dial them, they are on the line.
            out.append(Tell(self.router.callback_result(self.call_id, agent, True, now)))
            out += [Record("callback_answered", {"attempt": 0}), HandOver()]
        out += [Record("segment_answered", {"agent": agent}), Count("answered", self.queue)]
        spec = self.router.config.queues.get(self.queue)
        if spec is not None and spec.whisper:
            self.phase = "whisper"
            return [*out, Whisper(channel, whisper_prompts(self.queue, now - self.entered))]
        return out + self.bridge(now)

    def bridge(self, now: float) -> Actions:
        """Put the caller through to the agent who answered."""
        assert self.agent is not None and self.agent_channel is not None
        self.phase = "talking"
        self.answered_at = now
        return [
            Record("agent", {"agent": self.agent}),
            Log("connected", {"agent": self.agent, "queue": self.queue}),
            Bridge(self.agent, self.agent_channel, now),
        ]

    def _whisper_refused(self, now: float) -> Actions:
        """The agent hung up during the whisper: the caller keeps their place."""
        assert self.agent is not None
        out: Actions = [
            Record("segment_ended", {"agent": self.agent, "outcome": "agent_hangup"}),
            Tell(self.router.call_finished(self.agent, self.queue, 0.0, now)),
        ]
        self.agent = self.agent_channel = None
        callback = self.callback
        if callback is not None and not callback.done:
            # A callback whose turn came while the caller was still on the line: it stays
            # booked, in its place (called back if they hang up meanwhile).
            self.phase = "callback"
            decisions = self.router.enqueue(
                self.call_id,
                self.queue,
                self.priority,
                now,
                self.entered,
                callback=True,
                deadline=callback.deadline,
                attempts=callback.attempt,
            )
        else:
            self.phase = "waiting"
            decisions = self.router.enqueue(
                self.call_id, self.queue, self.priority, now, self.entered
            )
        return [*out, Tell(decisions)]

    def _finished(self, now: float) -> Actions:
        assert self.agent is not None
        talked = now - self.answered_at
        return [
            Tell(self.router.call_finished(self.agent, self.queue, talked, now)),
            StopRecording(self.agent),
            *self.callback_kept(self.agent),
        ]

    def _agent_left(self, now: float) -> Actions:
        """The agent hung up first: the caller stays for the satisfaction question."""
        assert self.agent is not None
        out: Actions = [
            *self.end_consult(now, "consult_ended"),
            *outside_transfer.withdraw(self),
            Record("segment_ended", {"agent": self.agent, "outcome": "agent_hangup"}),
            Settle("answered"),  # also if the caller hangs up during the survey
            *self._finished(now),
            CloseBridge(),
            AskSurvey(self.agent),
        ]
        self.phase = "survey"
        return out

    def transfer(self, target: str, now: float) -> Actions:
        """The agent hands the caller to another queue (expert seats); the segment ends here,
        the agent goes to wrap-up, and the caller waits there, placed by first entry."""
        if self.phase != "talking" or self.agent is None:
            raise RouterError("no conversation to transfer")
        agent, channel = self.agent, self.agent_channel
        if target.startswith(outside_transfer.PREFIX):
            name = target.removeprefix(outside_transfer.PREFIX)
            found = self.router.config.outside.get(name)
            return outside_transfer.start(self, name, found.number if found else None)
        if not on_duty(self.router.config.queues.get(target), self.router.hours, now):
            # Nobody would answer there: the agent is told, and stays with the caller.
            refused = {"agent": agent, "queue": target, "reason": "off_duty"}
            told = [TellAgent(channel, ("expert-off-duty",))] if channel else []
            return [Record("transfer_refused", refused), Log("transfer_refused", refused), *told]
        talked = now - self.answered_at
        decisions = self.router.transfer(
            self.call_id, agent, self.queue, target, self.priority, self.entered, talked, now
        )
        out: Actions = [
            *outside_transfer.withdraw(self),
            *self.callback_kept(agent),  # a callback's conversation: the call back took place
            Record("segment_ended", {"agent": agent, "outcome": "transferred"}),
            Record("transferred_to_queue", {"agent": agent, "queue": target}),
            Log("transfer_to_queue", {"agent": agent, "queue": target}),
            StopRecording(agent),
        ]
        self.agent = self.agent_channel = None
        self.phase = "waiting"
        self.queue = target
        out += [
            Record("queued", {"queue": target}),
            Count("offered", target),
            Requeued(target, self.entered, self.priority, now),
        ]
        if channel:
            out.append(HangUpAgent(channel))
        return [*out, CloseBridge(), PlayToCaller(("transfer-expert",)), Tell(decisions)]

    # --- the caller
    def caller_left(self, now: float) -> Actions:
        """The caller hung up: withdraw the offers, or end the conversation."""
        out: Actions = []
        if self.phase in ("waiting", "arranging"):
            for decision in self.router.caller_left(self.call_id, now):
                if isinstance(decision, CancelOffer):
                    channel = self.offers.pop(decision.agent, None)
                    if channel:
                        outcome = {"agent": decision.agent, "outcome": "caller_hangup"}
                        out += [Record("segment_ended", outcome), HangUpAgent(channel)]
                else:
                    out.append(Tell([decision]))
            out.append(Settle("abandoned"))
        elif self.phase == outside_transfer.PHASE:
            out += outside_transfer.withdraw(self)
        elif self.phase in WITH_AGENT:
            assert self.agent is not None
            out += self.end_consult(now, "caller_hangup")
            out += outside_transfer.withdraw(self)
            out.append(Record("segment_ended", {"agent": self.agent, "outcome": "caller_hangup"}))
            out += self._finished(now)
            if self.agent_channel:
                out.append(HangUpAgent(self.agent_channel))
            out += [CloseBridge(), Settle(disposition_when_caller_left(self.phase) or "abandoned")]
            # Ring-all: the other phones' cancellations may still be on their way to this call,
            # which is about to be forgotten: stop them ringing now.
            for agent, channel in sorted(self.offers.items()):
                out += [
                    Record("segment_ended", {"agent": agent, "outcome": "caller_hangup"}),
                    HangUpAgent(channel),
                ]
            self.offers.clear()
        self.phase = "done"
        return out
