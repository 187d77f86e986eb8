"""Blind transfer to another department through the trunk, on Asterisk: dialling its number
and bridging it with the caller once it answers (the rules: acd/outside_transfer.py).
Functions of the caller's PersonLeg (`leg`), called by its executor."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from acd.channel_events import ChannelHangup
from hotline.telephony.ari import AriError

if TYPE_CHECKING:
    from hotline.person_leg import PersonLeg

# The department's channel is routed to the call as an agent's is, under this name.
OUTSIDE_AGENT = "outside"
UNREACHABLE = 38  # Q.850 "network out of order": Asterisk refused to dial


async def dial_outside(leg: PersonLeg, channel_id: str, number: str) -> None:
    """Ring the department's number; if Asterisk refuses, the transfer fails at once."""
    desk = leg.desk
    dest = next((d for d in desk.router.config.outside.values() if d.number == number), None)
    desk.agent_channels[channel_id] = (leg.call_id, OUTSIDE_AGENT)
    try:
        await desk.ari.request(
            "POST",
            "/channels",
            {
                "endpoint": f"PJSIP/{number}@trunk",
                "app": desk.ari.app,
                "appArgs": f"agent,{leg.call_id}",
                "channelId": channel_id,
                "timeout": dest.ring_seconds if dest is not None else 30,
                "callerId": "12333 <12333>",
            },
        )
    except AriError as exc:
        leg.flow.log.warning("transfer_out_failed_to_start", error=str(exc)[:160])
        desk.agent_channels.pop(channel_id, None)
        refused = ChannelHangup(channel_id, UNREACHABLE)
        await leg.run(leg.conversation.on_agent(OUTSIDE_AGENT, channel_id, refused, time.time()))


async def add_to_bridge(leg: PersonLeg, channel_id: str) -> None:
    """The department answered: into the caller's bridge."""
    assert leg.bridge_id is not None
    await leg.desk.ari.request(
        "POST", f"/bridges/{leg.bridge_id}/addChannel", {"channel": channel_id}
    )
