"""Virtual hold on Asterisk: the executor of the callback's actions (acd/callback_leg.py
decides). Ringing the caller's number through the trunk, the agent's whisper, the caller's
new line, and the hand-offs to the voice menu while the callback is arranged.
Functions of the caller's PersonLeg (`leg`), called by its executor.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from acd.conversation_actions import (
    AskCallbackNumber,
    BookingAnswer,
    CallbackClosed,
    CallbackWhisper,
    CitizenOnLine,
    ConversationAction,
    DialCitizen,
    EndCall,
    ForgetCitizen,
    QuietCaller,
    StartMusic,
    StopCallbackWhisper,
    ToVoicemail,
)
from hotline.desk import hangup_quietly, quietly
from hotline.telephony.ari import AriError
from ivr.actions import CallbackBooked

if TYPE_CHECKING:
    from hotline.person_leg import PersonLeg

CALLBACK_ACTIONS = (
    AskCallbackNumber,
    BookingAnswer,
    CallbackClosed,
    CallbackWhisper,
    CitizenOnLine,
    DialCitizen,
    EndCall,
    ForgetCitizen,
    QuietCaller,
    StartMusic,
    StopCallbackWhisper,
    ToVoicemail,
)


async def callback_action(leg: PersonLeg, action: ConversationAction) -> None:
    """Carry out one of the callback's actions (acd/callback_leg.py)."""
    ari = leg.desk.ari
    flow = leg.flow
    match action:
        case CallbackWhisper(channel=channel, prompts=prompts):
            playback = f"{channel}.cbwhisper"
            await quietly(ari.play(channel, flow.media(prompts, "zh"), playback, "zh"))
        case StopCallbackWhisper(channel=channel):
            await quietly(ari.stop_playback(f"{channel}.cbwhisper"))
        case DialCitizen(channel=channel, number=number, ring_seconds=ring):
            await dial_citizen(leg, channel, number, ring)
        case CitizenOnLine(channel=channel, name=name):
            flow.channel_id = channel
            flow.channel_name = name
            flow.hanging_up = False
            flow.hangup_requested_by_us = False
        case ForgetCitizen(channel=channel, hang_up=hang_up):
            leg.desk.citizen_channels.pop(channel, None)
            if hang_up:
                await hangup_quietly(ari, channel)
        case CallbackClosed(number=number):
            leg.desk.callbacks.closed(number, leg.call_id)
        case EndCall(why=why):
            if flow.channel_id:
                flow.hangup_requested_by_us = True
                await hangup_quietly(ari, flow.channel_id)
            flow.finish("system", why)
        case QuietCaller():
            if leg.announcement is not None:
                await quietly(ari.stop_playback(leg.announcement))
                leg.announcement = None
            await quietly(ari.request("DELETE", f"/channels/{leg.channel}/moh"))
        case AskCallbackNumber(why=why):
            await flow.execute(flow.session.ask_queue_callback(why))
        case BookingAnswer(verdict=verdict):
            leg.desk.post(leg.call_id, CallbackBooked(verdict))
        case StartMusic():
            await quietly(ari.start_moh(leg.channel))
        case ToVoicemail():
            await flow.execute(flow.session.overflow_to_voicemail())


async def dial_citizen(leg: PersonLeg, channel: str, number: str, ring: float) -> None:
    """Ring the caller's number; if Asterisk refuses, the attempt failed at once."""
    ari = leg.desk.ari
    leg.desk.citizen_channels[channel] = leg.call_id
    try:
        await ari.request(
            "POST",
            "/channels",
            {
                "endpoint": f"PJSIP/{number}@trunk",
                "app": ari.app,
                "appArgs": f"callback,{leg.call_id}",
                "channelId": channel,
                "timeout": int(ring),
                "callerId": "12333 <12333>",
            },
        )
    except AriError as exc:
        leg.flow.log.warning("callback_dial_failed", error=str(exc)[:160])
        await leg.run(leg.conversation.citizen_not_reached(time.time(), "dial_failed"))
