"""Calls the center places about a work order, as pure rules: the owner's call-back (their
desk phone is rung first, then the citizen through the trunk, as virtual hold does) and the
follow-up (the citizen alone is asked the satisfaction question once the answer reached them).

The shell (hotline/order_calls.py) feeds the call-back machine typed channel events
(acd/channel_events.py) and carries out what it returns; the follow-up's question is the
survey's own session (acd/survey.py); the follow-up watch asks `follow_up_due` which orders
to call now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from acd.channel_events import ChannelAnswered, ChannelEvent, ChannelHangup
from acd.conversation_rules import offer_outcome
from acd.state import AgentStatus
from acd.work_orders import Status, WorkOrder

Side = Literal["agent", "citizen"]
# How a call-back ended, as its segment and the order's history say it.
Outcome = Literal[
    "talked",  # the agent and the citizen were put through
    "agent_unreached",  # the agent's desk phone did not answer (busy, no answer...)
    "not_reached",  # the citizen's phone did not answer, was busy or unreachable
    "agent_hangup",  # the agent gave up before the citizen answered
    "interrupted",  # a controller restart found it still ringing: ended (the agent may retry)
]

# The follow-up question is the survey's (满意1 基本满意2 不满意3); the order keeps the
# answer on its 1-5 scale (acd/work_orders.SATISFACTION: 5 is best).
RATING = {"satisfied": 5, "fairly_satisfied": 3, "dissatisfied": 1}


@dataclass(frozen=True)
class DialCitizen:
    """The agent answered: tell them who is called, then ring the citizen's number."""


@dataclass(frozen=True)
class PutThrough:
    """The citizen answered: bridge the two and record the conversation."""


@dataclass(frozen=True)
class HangUp:
    """Hang up one side's channel (it may be gone already)."""

    side: Side


@dataclass(frozen=True)
class Finished:
    """The call-back is over: its segment ends, the order's history says how."""

    outcome: Outcome
    talked_seconds: float


OrderCallAction = DialCitizen | PutThrough | HangUp | Finished


AgentState = tuple[AgentStatus, str]  # status, pause reason


def call_back_refusal(
    now: AgentState, asked: AgentState, calling_back: bool
) -> tuple[str, str] | None:
    """Why the owner's call-back cannot start, as (error id, why), or None. Checked when
    asked (`asked` is `now` then) and again when it starts, with the agent's state when they
    asked: meanwhile they may have taken a caller, logged out or paused for another reason
    (their desk phone is then not theirs to ring). `calling_back`: another call-back of
    theirs is ringing or talking. A logged-out owner may call back (their own desk phone);
    ready and wrap-up are alike (wrap-up ends by itself)."""
    status = now[0]
    if status in (AgentStatus.offered, AgentStatus.on_call) or calling_back:
        return "agent_busy", "the agent is on a call"
    if status is AgentStatus.logged_out and asked[0] is not AgentStatus.logged_out:
        return "agent_logged_out", "the agent logged out since asking"
    if status is AgentStatus.paused and asked != now:
        return "agent_paused", "the agent paused since asking"
    return None


@dataclass
class CallBack:
    """The owner calls the citizen about an order: agent_ringing → citizen_ringing →
    talking → done. Either side's hang-up ends it (and hangs up the other)."""

    phase: str = "agent_ringing"
    answered_at: float = 0.0
    outcome: Outcome | None = None
    detail: str = ""  # why a side was not reached (busy, no_answer, cause...)

    def on(self, side: Side, event: ChannelEvent, now: float) -> list[OrderCallAction]:
        """An event of the agent's or the citizen's channel."""
        if self.phase == "done":
            return []
        if isinstance(event, ChannelAnswered):
            if side == "agent" and self.phase == "agent_ringing":
                self.phase = "citizen_ringing"
                return [DialCitizen()]
            if side == "citizen" and self.phase == "citizen_ringing":
                self.phase = "talking"
                self.answered_at = now
                return [PutThrough()]
            return []
        if not isinstance(event, ChannelHangup):
            return []
        if self.phase == "agent_ringing":
            self.detail = offer_outcome(event.cause or 0, event.lost)
            return self._end("agent_unreached", now, [])
        if self.phase == "citizen_ringing":
            if side == "agent":
                return self._end("agent_hangup", now, [HangUp("citizen")])
            self.detail = offer_outcome(event.cause or 0, event.lost)
            return self._end("not_reached", now, [HangUp("agent")])
        other: Side = "citizen" if side == "agent" else "agent"
        return self._end("talked", now, [HangUp(other)])

    @classmethod
    def after_restart(cls, answered_at: float) -> CallBack:
        """A call-back an earlier controller left in Asterisk (SavedCallBack): talking if
        the citizen had answered (`answered_at` > 0), else still ringing one side."""
        return cls(phase="talking" if answered_at else "citizen_ringing", answered_at=answered_at)

    def interrupted(self, now: float) -> list[OrderCallAction]:
        """A restart found it not to be carried on (still ringing, or a side gone or out of
        the bridge): both sides are hung up; a conversation ends as talked, a call-back
        still ringing as `interrupted` (nothing was said: the agent may call again)."""
        if self.phase == "done":
            return []
        both: list[OrderCallAction] = [HangUp("agent"), HangUp("citizen")]
        if self.phase == "talking":
            return self._end("talked", now, both)
        self.detail = "controller_restart"
        return self._end("interrupted", now, both)

    def refused(self) -> None:
        """It did not start (call_back_refusal): nothing was dialled, nothing to end."""
        self.phase = "done"

    def dial_failed(self, now: float) -> list[OrderCallAction]:
        """Asterisk refused to dial the citizen (or the agent): the call-back ends."""
        if self.phase == "agent_ringing":
            self.detail = "unreachable"
            return self._end("agent_unreached", now, [])
        self.detail = "unreachable"
        return self._end("not_reached", now, [HangUp("agent")])

    def _end(
        self, outcome: Outcome, now: float, out: list[OrderCallAction]
    ) -> list[OrderCallAction]:
        self.phase = "done"
        self.outcome = outcome
        talked = now - self.answered_at if outcome == "talked" else 0.0
        return [*out, Finished(outcome, talked)]


def resumable(talking: bool, agent_up: bool, citizen_up: bool, bridged: bool) -> bool:
    """Whether a restarted controller carries a call-back on (CallBack.after_restart):
    the two were talking and still are, both answered and together in the call's bridge.
    Anything else is ended (CallBack.interrupted)."""
    return talking and agent_up and citizen_up and bridged


@dataclass(frozen=True)
class SavedCallBack:
    """A call-back as kept on its channels (both, from the dial on; again once put through
    and recorded), for a restarted controller: the order, the agent and what they were
    doing before the call-back paused them, the number; once put through, when the citizen
    answered, their channel's name (the recording is on it) and the recording's path."""

    order: str
    agent: str
    number: str
    paused_from: AgentState | None = None
    answered_at: float = 0.0
    citizen_name: str = ""
    recording: str = ""

    def encode(self) -> str:
        """The channel variable's value."""
        status, reason = self.paused_from or (None, "")
        fields = (
            "callback",
            self.order,
            self.agent,
            self.number,
            status.value if status is not None else "",
            reason,
            f"{self.answered_at:.3f}",
            self.citizen_name,
            self.recording,
        )
        return "|".join(fields)


@dataclass(frozen=True)
class SavedFollowUp:
    """A follow-up call as kept on the citizen's channel: the order and the attempt."""

    order: str
    attempt: int

    def encode(self) -> str:
        """The channel variable's value."""
        return f"followup|{self.order}|{self.attempt}"


def saved_order_call(text: str) -> SavedCallBack | SavedFollowUp | None:
    """What was kept on a work-order call's channel; None if nothing (or something
    unreadable) was kept."""
    parts = text.split("|")
    try:
        if parts[0] == "followup" and len(parts) == 3 and parts[1]:
            return SavedFollowUp(parts[1], int(parts[2]))
        if parts[0] != "callback" or len(parts) != 9 or not (parts[1] and parts[2]):
            return None
        _, order, agent, number, status, reason, answered, name, recording = parts
        paused = (AgentStatus(status), reason) if status else None
        return SavedCallBack(order, agent, number, paused, float(answered), name, recording)
    except ValueError:
        return None


@dataclass(frozen=True)
class FollowUpPolicy:
    """When and how often the center calls a citizen back to ask about an answered order.

    `after_minutes`: after the owner's call-back reached the citizen; an order whose answer
    was only texted is followed up `without_callback_hours` after it was answered."""

    enabled: bool = True
    after_minutes: float = 60
    without_callback_hours: float = 24
    attempts: int = 3
    retry_after_minutes: float = 120
    ring_seconds: int = 30


@dataclass(frozen=True)
class FollowUpState:
    """What the store keeps of an order's follow-up: the attempts made, when the last
    one ended (or None), and when the owner's call-back reached the citizen (or None)."""

    attempts: int = 0
    last_attempt: dt.datetime | None = None
    called_back_at: dt.datetime | None = None


def answered_at(order: WorkOrder) -> dt.datetime | None:
    """When the office's (latest) answer came."""
    found = [c.at for c in order.history if c.status is Status.ANSWERED]
    return found[-1] if found else None


def follow_up_due(
    order: WorkOrder,
    state: FollowUpState,
    policy: FollowUpPolicy,
    now: dt.datetime,
    staffed: bool,
) -> bool:
    """Whether to place a follow-up call for `order` now: answered, with a number to call,
    attempts left, during staffed hours, and its time come (after the call-back, or long
    after an answer that was only texted; retries spaced by `retry_after_minutes`)."""
    if not (policy.enabled and staffed) or order.status is not Status.ANSWERED:
        return False
    if not order.callback_number or state.attempts >= policy.attempts:
        return False
    if state.last_attempt is not None:
        return now - state.last_attempt >= dt.timedelta(minutes=policy.retry_after_minutes)
    if state.called_back_at is not None:
        return now - state.called_back_at >= dt.timedelta(minutes=policy.after_minutes)
    answered = answered_at(order)
    if answered is None:
        return False
    return now - answered >= dt.timedelta(hours=policy.without_callback_hours)


FollowUpResult = Literal["rated", "no_rating", "not_reached"]


@dataclass
class FollowUpAttempt:
    """One follow-up call's result: `rated` (a key 1-3: `satisfaction` on the order's
    scale), `no_rating` (answered, no valid key twice), or `not_reached`."""

    result: FollowUpResult = "not_reached"
    satisfaction: int | None = None
    scores: list[str] = field(default_factory=list)

    def rated(self, score: str) -> None:
        """The survey's answer (acd/survey.SCORES value)."""
        self.result = "rated"
        self.satisfaction = RATING[score]
        self.scores.append(score)

    def answered(self) -> None:
        """The citizen picked up (no rating yet)."""
        if self.result == "not_reached":
            self.result = "no_rating"


def after_attempt(result: FollowUpResult, attempts: int, policy: FollowUpPolicy) -> str:
    """What the order becomes after an attempt (`attempts`: made so far, this one counted):
    `followed_up` (rated, or answered without a rating: asked, stored as such),
    `no_answer` (the last attempt was not reached either: followed up as unreachable), or
    `retry` (another attempt later)."""
    if result != "not_reached":
        return "followed_up"
    return "no_answer" if attempts >= policy.attempts else "retry"
