"""The agent's side of a conversation on Asterisk: ringing their desk phone, the bridge and
the recording when the caller is put through, and the bridges of a consult with an expert
(acd/consult.py), kept on the caller's channel for a restarted controller
(hotline/reattaching.py). Functions of the caller's PersonLeg (`leg`), called by its
executor.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from acd.conversation_actions import (
    BackToCaller,
    ConsultBridge,
    ConversationAction,
    HandToExpert,
    HoldCaller,
    OpenWorkOrder,
    StartConsultTimer,
    ThreeWay,
)
from hotline.caller_line import CallWorkOrder
from hotline.desk import AGENT_VAR, CONSULT_VAR, RECORDED_BRIDGE, agent_value, quietly
from hotline.telephony.ari import AriError
from ivr.speech import digits

if TYPE_CHECKING:
    from hotline.person_leg import PersonLeg


async def ring_agent(leg: PersonLeg, agent: str, channel_id: str, ring: float) -> None:
    """Ring an agent's desk phone; if Asterisk refuses, the offer fails at once."""
    leg.desk.agent_channels[channel_id] = (leg.call_id, agent)
    shown = leg.hold.number if leg.hold is not None else leg.flow.caller_number
    try:
        await leg.desk.ari.request(
            "POST",
            "/channels",
            {
                "endpoint": f"PJSIP/{leg.desk.router.agents[agent].seat}",
                "app": leg.desk.ari.app,
                "appArgs": f"agent,{leg.call_id}",
                "channelId": channel_id,
                "timeout": int(ring),
                "callerId": f"{leg.queue} <{shown or '12333'}>",
            },
        )
    except AriError as exc:
        leg.flow.log.warning("offer_failed_to_start", agent=agent, error=str(exc)[:120])
        leg.desk.agent_channels.pop(channel_id, None)
        consult = leg.conversation.consult
        if consult is not None and consult.offers.get(agent) == channel_id:
            await leg.run(leg.conversation.consult_offer_not_started(agent, time.time()))
        else:
            await leg.run(leg.conversation.offer_not_started(agent, time.time()))
        return
    consult = leg.conversation.consult
    if consult is not None and consult.offers.get(agent) == channel_id:
        await keep_consult(leg)  # whose segments a restarted controller must close


# How long putting through may wait for the greeting (a few seconds) to end.
GREETING_WAIT = 30.0


async def put_through(leg: PersonLeg, agent: str, channel_id: str, now: float) -> None:
    """Put the caller through to the agent: both hear the agent's number, then talk in the
    call's bridge, recorded."""
    ari = leg.desk.ari
    if leg.announcement is not None:
        await quietly(ari.stop_playback(leg.announcement))
    await quietly(ari.request("DELETE", f"/channels/{leg.channel}/moh"))
    if leg.bridge_id is None:
        leg.bridge_id = await _call_bridge(leg)
    # Kept on the caller's channel, so a restarted controller re-attaches this conversation;
    # before the greeting, as a variable set waits for a playing prompt's end. The recording,
    # started after it, is found by its name (reattaching.resume_talking). Named now: a work
    # order the agent files meanwhile names it.
    await keep_agent(leg, agent, channel_id, None, now)
    leg.recording = leg.desk.recording_path(leg.call_id, agent)
    if leg.desk.greet_with_agent_number:
        # Played to each before they join, not into the bridge: a bridge's prompt is an
        # announcer channel switching the bridge to software mixing and back, about 20 ms
        # of Asterisk's CPU a call. addChannel waits in each channel's queue for its end.
        media = ",".join(leg.flow.media(("agent-intro", *digits(agent), "agent-serving")))
        for channel, playback in (
            (leg.channel, leg.flow.global_id("agent-number")),
            (channel_id, f"{channel_id}.agent-number"),
        ):
            play = f"/channels/{channel}/play/{playback}"
            await quietly(ari.request("POST", play, {"media": media}))
    try:
        await ari.request(
            "POST",
            f"/bridges/{leg.bridge_id}/addChannel",
            {"channel": f"{leg.channel},{channel_id}"},
            behind_prompt=GREETING_WAIT,
        )
    except AriError as exc:
        if exc.gone or exc.status == 422:  # (422: a channel hanging up, out of Stasis)
            leg.recording = None  # never started
            return  # caller or agent hung up meanwhile: the hang-up reaches the call next
        if exc.status != 0:
            leg.recording = None
            raise
        # No answer in time: Asterisk still adds them once their greetings end, and
        # MixMonitor (`b`) records what is bridged: the conversation is recorded either way.
        leg.flow.log.warning("bridge_join_unanswered", agent=agent)
    # (A hang-up during the greeting leaves the other alone in the bridge, as Asterisk adds
    # each channel on its own: the hang-up, next in the call's events, ends the part.)
    leg.recording = await leg.desk.start_recording(
        leg.flow.channel_name, leg.call_id, agent, leg.flow.log, leg.recording
    )


async def _call_bridge(leg: PersonLeg) -> str:
    """The call's bridge `b-<call>`: made now, or left by a controller that died while
    putting the caller through (Asterisk answers 409 for an id in use)."""
    bridge_id = f"b-{leg.call_id}"
    try:
        await leg.desk.ari.request(
            "POST", "/bridges", {"type": RECORDED_BRIDGE, "bridgeId": bridge_id}
        )
    except AriError as exc:
        if exc.status != 409:
            raise
        leg.flow.log.info("bridge_reused", bridge=bridge_id)
    return bridge_id


@dataclass(frozen=True)
class SavedConsult:
    """A consult as kept on the caller's channel (the expert's part empty while ringing)."""

    request: str
    queue: str
    asked_at: float
    expert: str = ""
    channel: str = ""
    channel_name: str = ""
    answered_at: float = 0.0
    recording: str = ""
    offered: tuple[str, ...] = ()  # the experts rung so far

    def encode(self) -> str:
        """The channel variable's value."""
        return "|".join(
            (
                self.request,
                self.queue,
                f"{self.asked_at:.3f}",
                self.expert,
                self.channel,
                self.channel_name,
                f"{self.answered_at:.3f}",
                self.recording,
                ",".join(self.offered),
            )
        )

    @classmethod
    def decode(cls, text: str) -> SavedConsult | None:
        """The consult kept, or None if nothing (or something unreadable) was kept."""
        parts = text.split("|")
        if len(parts) != 9 or not parts[0]:
            return None
        request, queue, asked, expert, channel, name, answered, recording, offered = parts
        try:
            return cls(
                request,
                queue,
                float(asked),
                expert,
                channel,
                name,
                float(answered),
                recording,
                tuple(e for e in offered.split(",") if e),
            )
        except ValueError:
            return None


async def keep_consult(leg: PersonLeg) -> None:
    """Keep the consult in progress on the caller's channel, at each of its steps: a
    restarted controller carries it on (hotline/reattaching.py)."""
    c = leg.conversation.consult
    if c is None:
        return
    leg.consult_kept = True
    _, recording = leg.leg_recordings.get(c.expert or "", ("", None))
    saved = SavedConsult(
        c.request,
        c.queue,
        c.asked_at,
        c.expert or "",
        c.channel or "",
        c.channel_name,
        c.answered_at,
        recording or "",
        tuple(sorted(c.offers)),
    )
    await quietly(leg.desk.ari.set_variable(leg.channel, CONSULT_VAR, saved.encode()))


async def forget_consult(leg: PersonLeg) -> None:
    """The consult ended: nothing of it stays on the caller's channel, so a restarted
    controller does not replay it during a later one."""
    leg.consult_kept = False
    await quietly(leg.desk.ari.set_variable(leg.channel, CONSULT_VAR, ""))


# --- the attended consult (acd/consult.py): the caller's bridge `b-<call>` holds the caller
# (hold music played to the bridge), the consult bridge `x-<call>` the agent and the expert.
async def hold_caller(leg: PersonLeg, agent_channel: str) -> None:
    """The agent leaves the caller's bridge and hears music until an expert answers; the
    caller, alone in the bridge, hears music too."""
    ari = leg.desk.ari
    if leg.bridge_id is not None:
        await quietly(
            ari.request(
                "POST", f"/bridges/{leg.bridge_id}/removeChannel", {"channel": agent_channel}
            )
        )
        await quietly(ari.request("POST", f"/bridges/{leg.bridge_id}/moh"))
    await quietly(ari.start_moh(agent_channel))
    await keep_consult(leg)


async def consult_bridge(
    leg: PersonLeg, agent_channel: str, expert: str, expert_channel: str, name: str
) -> None:
    """Agent and expert talk in a bridge of their own; the expert's leg is recorded on the
    expert's channel (it hears whatever bridge the expert is in until they leave)."""
    ari = leg.desk.ari
    # Kept on the caller's channel before they meet: a controller dying once they are
    # together leaves a consult its successor re-attaches (kept again with the recording).
    await keep_consult(leg)
    await quietly(ari.request("DELETE", f"/channels/{agent_channel}/moh"))
    if leg.consult_bridge is None:
        bridge = await ari.request(
            "POST", "/bridges", {"type": RECORDED_BRIDGE, "bridgeId": f"x-{leg.call_id}"}
        )
        leg.consult_bridge = bridge["id"]
    await quietly(
        ari.request(
            "POST",
            f"/bridges/{leg.consult_bridge}/addChannel",
            {"channel": f"{agent_channel},{expert_channel}"},
        )
    )
    recording = await leg.desk.start_recording(name, leg.call_id, expert, leg.flow.log)
    leg.leg_recordings[expert] = (name, recording)
    await keep_consult(leg)


async def close_consult_bridge(leg: PersonLeg) -> None:
    """The consult bridge down, if there is one (its channels stay ours)."""
    if leg.consult_bridge is not None:
        await quietly(leg.desk.ari.request("DELETE", f"/bridges/{leg.consult_bridge}"))
        leg.consult_bridge = None


async def join_caller(leg: PersonLeg, *channels: str) -> None:
    """Channels into the caller's bridge (back from a consult, a three-way, a hand-over);
    the caller's hold music off."""
    ari = leg.desk.ari
    await close_consult_bridge(leg)
    if leg.bridge_id is not None:
        await quietly(ari.request("DELETE", f"/bridges/{leg.bridge_id}/moh"))
    for channel in channels:
        await quietly(ari.request("DELETE", f"/channels/{channel}/moh"))
    if leg.bridge_id is not None:
        await quietly(
            ari.request(
                "POST", f"/bridges/{leg.bridge_id}/addChannel", {"channel": ",".join(channels)}
            )
        )


async def hand_to_expert(leg: PersonLeg, expert: str, channel: str, now: float) -> None:
    """The expert goes on with the caller: kept on the caller's channel, so a restarted
    controller re-attaches this conversation to the expert."""
    await join_caller(leg, channel)
    _, recording = leg.leg_recordings.get(expert, ("", None))
    await keep_agent(leg, expert, channel, recording, now)


async def keep_agent(
    leg: PersonLeg, agent: str, channel: str, recording: str | None, answered_at: float
) -> None:
    """Who talks with the caller, kept on the caller's channel for a restarted controller."""
    value = agent_value(agent, channel, recording, answered_at)
    await quietly(leg.desk.ari.set_variable(leg.channel, AGENT_VAR, value))


async def open_work_order(leg: PersonLeg, agent: str, line: str) -> None:
    """The agent's one step after a consult found no expert: a work order for this call,
    owned by the agent, with the agent's recording of it; the agent hears its number."""
    opener = leg.flow.services.open_work_order
    ari = leg.desk.ari
    channel = leg.agent_channel or ""
    order = CallWorkOrder(
        call_id=leg.call_id,
        caller_number=leg.flow.caller_number,
        id_number=leg.flow.session.verified_id or "",
        line=line,
        owner=agent,
        recording=leg.recording,
    )
    try:
        if opener is None:
            raise RuntimeError("no work orders without the database")
        async with asyncio.timeout(5.0):
            number = await opener(order)
    except Exception as exc:
        leg.flow.log.error("work_order_failed", agent=agent, error=str(exc)[:200])
        await quietly(
            ari.play(channel, leg.flow.media(("feature-fail",), "zh"), f"{channel}.wo", "zh")
        )
        return
    leg.flow.fact("work_order_opened", agent=agent, number=number, line=line)
    leg.flow.log.info("work_order_opened", agent=agent, number=number, line=line)
    media = leg.flow.media(("work-order-opened", *digits(number[-4:])), "zh")
    await quietly(ari.play(channel, media, f"{channel}.wo{leg.next_id()}", "zh"))


async def consult_action(leg: PersonLeg, action: ConversationAction) -> None:
    """Carry out one of the consult's actions (acd/consult.py)."""
    match action:
        case HoldCaller(agent_channel=channel):
            await hold_caller(leg, channel)
        case StartConsultTimer(request=request, seconds=seconds):
            item = ("consult_timeout", request)
            asyncio.get_running_loop().call_later(seconds, leg.desk.post, leg.call_id, item)
        case ConsultBridge(agent_channel=agent, expert=expert, expert_channel=channel):
            await consult_bridge(leg, agent, expert, channel, action.expert_channel_name)
        case ThreeWay(agent_channel=agent, expert_channel=expert):
            await join_caller(leg, agent, expert)
        case HandToExpert(expert=expert, expert_channel=channel, now=now):
            await hand_to_expert(leg, expert, channel, now)
        case BackToCaller(agent_channel=channel):
            await join_caller(leg, channel)
        case OpenWorkOrder(agent=agent, line=line):
            await open_work_order(leg, agent, line)
