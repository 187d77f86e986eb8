"""Blind transfer to another department through the trunk, on Asterisk: dialling its number
and bridging it with the caller once it answers (the rules: acd/outside_transfer.py).
Functions of the caller's PersonLeg (`leg`), called by its executor."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from acd import outside_transfer
from acd.channel_events import ChannelHangup
from hotline.desk import OUTSIDE_VAR, quietly
from hotline.telephony.ari import AriError
from ivr.actions import Hangup

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
    """The department answered: into the caller's bridge. Kept on the caller's channel, so
    a restarted controller re-attaches the call (resume_outside)."""
    assert leg.bridge_id is not None
    await leg.desk.ari.request(
        "POST", f"/bridges/{leg.bridge_id}/addChannel", {"channel": channel_id}
    )
    dial = leg.conversation.outside
    if dial is not None:
        saved = f"{channel_id}|{dial.name}|{dial.number}"
        await quietly(leg.desk.ari.set_variable(leg.channel, OUTSIDE_VAR, saved))


async def resume_outside(leg: PersonLeg, saved: str) -> None:
    """After a controller restart: the caller was talking with the department. If the
    department's channel is still in the caller's bridge, the call is ours again (its end
    is recorded as usual); if the department hung up meanwhile, the call ends now."""
    channel, name, number = [*saved.split("|"), "", ""][:3]
    desk = leg.desk
    leg.flow.settle("answered")  # as when the department answered
    # Routed to this call before the bridge is looked at: a hang-up meanwhile is not lost
    # (it waits in the call's mailbox until this adoption is done).
    desk.agent_channels[channel] = (leg.call_id, OUTSIDE_AGENT)
    try:
        bridge = await desk.ari.request("GET", f"/bridges/b-{leg.call_id}")
    except AriError as exc:
        if not exc.gone:
            raise
        bridge = {}
    if channel in bridge.get("channels", []):
        leg.conversation.outside = outside_transfer.OutsideDial(name, number, channel)
        leg.phase = outside_transfer.PHASE
        leg.bridge_id = bridge["id"]
        leg.flow.log.info("transfer_out_resumed", to=name)
        return
    desk.agent_channels.pop(channel, None)
    leg.phase = "done"
    leg.flow.fact("transfer_out_ended", by="outside")
    leg.flow.log.info("transfer_out_ended_meanwhile", to=name)
    if bridge:
        await quietly(desk.ari.request("DELETE", f"/bridges/{bridge['id']}"))
    await leg.flow.execute([Hangup("answered")])
