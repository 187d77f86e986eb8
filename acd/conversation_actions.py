"""What the conversation machine (acd/conversation.py) decides: plain data, carried out by
the shell (hotline/person_leg.py) in the order given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acd.state import Decision


@dataclass(frozen=True)
class Tell:
    """Router decisions to carry out (offers, cancellations, agent changes...)."""

    decisions: list[Decision]


@dataclass(frozen=True)
class Record:
    """A fact about the call for the journal (segments, transfers, the agent put through)."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Log:
    """A line in the call's structured log."""

    event: str
    data: dict[str, Any] = field(default_factory=dict)
    level: str = "info"  # or "warning": something the operators should look at


@dataclass(frozen=True)
class Count:
    """A call offered to or answered in a queue (metrics)."""

    what: str  # "offered" | "answered"
    queue: str


@dataclass(frozen=True)
class RingAgent:
    """Ring an agent's desk phone on a new channel with this id."""

    agent: str
    channel: str
    ring_seconds: float


@dataclass(frozen=True)
class HangUpAgent:
    """Hang up an agent's channel (it may be gone already)."""

    channel: str


@dataclass(frozen=True)
class Whisper:
    """Play prompts to the agent before the caller is put through."""

    channel: str
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class Bridge:
    """Put the caller through to the agent: bridge, record, say the agent's number."""

    agent: str
    channel: str
    now: float


@dataclass(frozen=True)
class CloseBridge:
    """Take down the conversation's bridge."""


@dataclass(frozen=True)
class StopRecording:
    """The agent's part ended: close their recording."""

    agent: str


@dataclass(frozen=True)
class Settle:
    """How the call ends for the center (answered, abandoned...)."""

    disposition: str


@dataclass(frozen=True)
class AskSurvey:
    """The agent left first: the caller stays for the satisfaction question on `agent`."""

    agent: str


@dataclass(frozen=True)
class Requeued:
    """The caller waits in `queue` now (a transfer): stored on their channel, so that a
    restarted controller puts them back in place."""

    queue: str
    entered: float
    priority: int
    waiting_since: float


@dataclass(frozen=True)
class PlayToCaller:
    """The caller hears these prompts in place of the hold music."""

    prompts: tuple[str, ...]


@dataclass(frozen=True)
class HandOver:
    """A callback's turn came while the caller was still on the line: they are put through
    on this line (the menu session says so)."""


@dataclass(frozen=True)
class CallbackWhisper:
    """A callback: the agent who took it hears why (and the number) while the caller's
    phone rings; stopped by StopCallbackWhisper when the caller answers."""

    channel: str
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class StopCallbackWhisper:
    """The caller answered the callback: the agent's whisper stops."""

    channel: str


@dataclass(frozen=True)
class DialCitizen:
    """A callback: ring the caller's number through the trunk on a channel with this id;
    its events reach the machine (`Conversation.on_citizen`); if Asterisk refuses,
    `Conversation.citizen_not_reached(now, "dial_failed")`."""

    channel: str
    number: str
    ring_seconds: float


@dataclass(frozen=True)
class CitizenOnLine:
    """The caller answered the callback: this channel is the caller's line from now on."""

    channel: str
    name: str


@dataclass(frozen=True)
class ForgetCitizen:
    """A call-back channel is done with (and hung up, if `hang_up`)."""

    channel: str
    hang_up: bool = False


@dataclass(frozen=True)
class CallbackClosed:
    """The callback is over (kept, failed, expired): the number may book again."""

    number: str


@dataclass(frozen=True)
class EndCall:
    """A callback ended without a conversation: hang up the caller's line if they are on it
    (hearing that it is booked), and close the call."""

    why: str


@dataclass(frozen=True)
class QuietCaller:
    """The caller arranges a callback: the announcement and the hold music stop."""


@dataclass(frozen=True)
class AskCallbackNumber:
    """The voice menu asks the caller for the number to call back (`why`: prompts first)."""

    why: tuple[str, ...]


@dataclass(frozen=True)
class BookingAnswer:
    """Tell the voice menu how the booking went (booked, exists, limit)."""

    verdict: str


@dataclass(frozen=True)
class StartMusic:
    """The caller waits on: hold music again."""


@dataclass(frozen=True)
class ToVoicemail:
    """Waiting on is over (max wait): the voice menu takes a voice message."""


@dataclass(frozen=True)
class HoldCaller:
    """A consult begins: the agent leaves the caller's bridge (and hears hold music until an
    expert answers); the caller hears hold music in the bridge."""

    agent_channel: str


@dataclass(frozen=True)
class StartConsultTimer:
    """Tell the machine (`Conversation.consult_timed_out`) after `seconds` if no expert of
    the consult request `request` has answered."""

    request: str
    seconds: float


@dataclass(frozen=True)
class ConsultBridge:
    """The expert answered (and heard the whisper): agent and expert talk in a bridge of
    their own while the caller holds; the expert's leg is recorded on their channel."""

    agent_channel: str
    expert: str
    expert_channel: str
    expert_channel_name: str


@dataclass(frozen=True)
class ThreeWay:
    """Agent and expert join the caller in the caller's bridge (hold music off)."""

    agent_channel: str
    expert_channel: str


@dataclass(frozen=True)
class HandToExpert:
    """The agent completed the consult: the expert talks with the caller in the caller's
    bridge and is the conversation's agent from now on (kept on the caller's channel)."""

    expert: str
    expert_channel: str
    now: float


@dataclass(frozen=True)
class BackToCaller:
    """The consult ended without the expert (cancelled, no expert): the agent is back in
    the caller's bridge, the hold music off, the consult bridge down."""

    agent_channel: str


@dataclass(frozen=True)
class TellAgent:
    """Play prompts to the agent only (the caller does not hear): no expert on duty or
    answering, a department not reached."""

    channel: str
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class OpenWorkOrder:
    """The agent asked for a work order for this call (after a consult found no expert):
    owned by the agent, for the line of business of `line`, with the call's recording."""

    agent: str
    line: str


@dataclass(frozen=True)
class DialOutside:
    """Dial another department's number through the trunk on a channel with this id
    (acd/outside_transfer.py); its events reach the machine as an agent channel's do."""

    channel: str
    number: str


@dataclass(frozen=True)
class AddToBridge:
    """Put this channel into the conversation's bridge (the department that answered)."""

    channel: str


@dataclass(frozen=True)
class HangUpCaller:
    """End the caller's line (the department they were transferred to hung up)."""


ConversationAction = (
    Tell
    | Record
    | Log
    | Count
    | RingAgent
    | HangUpAgent
    | Whisper
    | Bridge
    | CloseBridge
    | StopRecording
    | Settle
    | AskSurvey
    | Requeued
    | PlayToCaller
    | HandOver
    | CallbackWhisper
    | StopCallbackWhisper
    | DialCitizen
    | CitizenOnLine
    | ForgetCitizen
    | CallbackClosed
    | EndCall
    | QuietCaller
    | AskCallbackNumber
    | BookingAnswer
    | StartMusic
    | ToVoicemail
    | HoldCaller
    | StartConsultTimer
    | ConsultBridge
    | ThreeWay
    | HandToExpert
    | BackToCaller
    | OpenWorkOrder
    | TellAgent
    | DialOutside
    | AddToBridge
    | HangUpCaller
)
