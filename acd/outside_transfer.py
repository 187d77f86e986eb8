"""Blind transfer to another department's number through the trunk, as pure rules of the
conversation machine (acd/conversation.py calls these at its few hooks).

The agent presses `*` and a key of `outside` (queues.yaml), or the web desk asks: the
department's number is dialled while the caller stays with the agent. When the department
answers, the agent's part ends (`transferred`, wrap-up as after any call) and the caller is
bridged with the department; busy, no answer or unreachable: the agent alone hears so and
keeps the caller (no caller is lost). Either side of the transferred call hanging up ends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from acd.channel_events import ChannelAnswered, ChannelEvent, ChannelHangup
from acd.conversation_actions import (
    AddToBridge,
    CloseBridge,
    ConversationAction,
    DialOutside,
    HangUpAgent,
    HangUpCaller,
    Log,
    Record,
    Settle,
    StopRecording,
    Tell,
    TellAgent,
)
from acd.conversation_rules import offer_outcome

if TYPE_CHECKING:
    from acd.conversation import Conversation

PREFIX = "outside:"  # a transfer target naming an outside destination, not a queue
PHASE = "outside"  # the caller talks with the department; the ACD's part is over


@dataclass(frozen=True)
class OutsideDial:
    """The department being dialled (or talking with the caller)."""

    name: str
    number: str
    channel: str


def agent_keys(
    transfers: dict[str, str], outside: dict[str, tuple[str, str | None]]
) -> dict[str, str]:
    """What `*` + key means: a queue of `transfers`, or `outside:<name>`."""
    keys = dict(transfers)
    for name, (_, key) in outside.items():
        if key is not None:
            keys[key] = PREFIX + name
    return keys


def start(conv: Conversation, name: str, number: str | None) -> list[ConversationAction]:
    """Dial the department (the caller stays with the agent meanwhile)."""
    assert conv.agent is not None
    if number is None:
        return [Log("transfer_out_refused", {"agent": conv.agent, "to": name[:32]})]
    if conv.outside is not None:
        return []  # one at a time: the first is still ringing
    channel = f"{conv.call_id}-out{conv.next_id()}"
    conv.outside = OutsideDial(name, number, channel)
    data = {"agent": conv.agent, "to": name, "number": number}
    return [
        Record("transfer_out_dialling", data),
        Log("transfer_out_dialling", data),
        DialOutside(channel, number),
    ]


def on_event(conv: Conversation, event: ChannelEvent, now: float) -> list[ConversationAction]:
    """An event of the department's channel."""
    dial = conv.outside
    assert dial is not None
    if isinstance(event, ChannelAnswered) and conv.phase == "talking":
        return _answered(conv, dial, now)
    if not isinstance(event, ChannelHangup):
        return []
    if conv.phase == PHASE:  # the department hung up: the call is over
        conv.outside = None
        conv.phase = "done"
        return [Record("transfer_out_ended", {"by": "outside"}), CloseBridge(), HangUpCaller()]
    conv.outside = None
    why = offer_outcome(event.cause or 0, event.lost)
    failed = {"to": dial.name, "why": why, "cause": event.cause or 0}
    out: list[ConversationAction] = [Record("transfer_out_failed", failed)]
    out.append(Log("transfer_out_failed", failed))
    if conv.phase == "talking" and conv.agent_channel:
        out.append(TellAgent(conv.agent_channel, ("outside-failed",)))
    return out


def _answered(conv: Conversation, dial: OutsideDial, now: float) -> list[ConversationAction]:
    """The department answered: the agent leaves, the caller is theirs."""
    assert conv.agent is not None
    agent, channel = conv.agent, conv.agent_channel
    talked = now - conv.answered_at
    out: list[ConversationAction] = [
        *conv.callback_kept(agent),
        Record("segment_ended", {"agent": agent, "outcome": "transferred"}),
        Record("transferred_out", {"agent": agent, "to": dial.name, "number": dial.number}),
        Log("transferred_out", {"agent": agent, "to": dial.name}),
        Tell(conv.router.call_finished(agent, conv.queue, talked, now)),
        StopRecording(agent),
        Settle("answered"),  # the center answered it; the department has it now
        AddToBridge(dial.channel),
    ]
    if channel:
        out.append(HangUpAgent(channel))
    conv.agent = conv.agent_channel = None
    conv.phase = PHASE
    return out


def withdraw(conv: Conversation) -> list[ConversationAction]:
    """The conversation ends or moves on while the department rings, or the caller leaves
    while talking with it: hang the department's channel up."""
    dial = conv.outside
    if dial is None:
        return []
    conv.outside = None
    if conv.phase == PHASE:
        return [
            Record("transfer_out_ended", {"by": "caller"}),
            HangUpAgent(dial.channel),
            CloseBridge(),
        ]
    return [
        Record("transfer_out_failed", {"to": dial.name, "why": "withdrawn", "cause": 0}),
        HangUpAgent(dial.channel),
    ]
