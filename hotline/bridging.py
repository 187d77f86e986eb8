"""The agent's side of a conversation on Asterisk: ringing their desk phone, the bridge and
the recording when the caller is put through, and re-attaching a conversation after a
controller restart. Functions of the caller's PersonLeg (`leg`), called by its executor.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from hotline.desk import AGENT_VAR, quietly
from hotline.telephony.ari import AriError
from ivr.speech import digits

if TYPE_CHECKING:
    from hotline.person_leg import PersonLeg


async def resume_talking(leg: PersonLeg, saved: str, bridge: dict[str, Any] | None = None) -> bool:
    """After a controller restart: re-attach a conversation that Asterisk kept up
    (`bridge`: the call's bridge, if the caller has looked it up already)."""
    agent, channel_id, recording, answered = [*saved.split("|"), "", "", "", ""][:4]
    if bridge is None:
        try:
            bridge = await leg.desk.ari.request("GET", f"/bridges/b-{leg.call_id}")
        except AriError as exc:
            if exc.gone:
                return False
            raise
    if channel_id not in bridge.get("channels", []) or agent not in leg.desk.router.agents:
        return False
    leg.phase = "talking"
    leg.agent, leg.agent_channel, leg.bridge_id = agent, channel_id, bridge["id"]
    leg.recording = recording or None
    leg.answered_at = float(answered or time.time())
    leg.desk.agent_channels[channel_id] = (leg.call_id, agent)
    leg.desk.apply(leg.desk.router.resume_talk(agent, leg.call_id, time.time()))
    leg.flow.log.info("conversation_resumed", agent=agent, queue=leg.queue)
    return True


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
        await leg.run(leg.conversation.offer_not_started(agent, time.time()))


async def put_through(leg: PersonLeg, agent: str, channel_id: str, now: float) -> None:
    """Put the caller through to the agent: bridge, record, say the agent's number."""
    ari = leg.desk.ari
    if leg.announcement is not None:
        await quietly(ari.stop_playback(leg.announcement))
    await quietly(ari.request("DELETE", f"/channels/{leg.channel}/moh"))
    if leg.bridge_id is None:
        bridge = await ari.request(
            "POST", "/bridges", {"type": "mixing", "bridgeId": f"b-{leg.call_id}"}
        )
        leg.bridge_id = bridge["id"]
    await ari.request(
        "POST",
        f"/bridges/{leg.bridge_id}/addChannel",
        {"channel": f"{leg.channel},{channel_id}"},
    )
    leg.recording = await leg.desk.start_recording(
        leg.flow.channel_name, leg.call_id, agent, leg.flow.log
    )
    # Kept on the caller's channel, so a restarted controller re-attaches this conversation.
    await ari.set_variable(
        leg.channel, AGENT_VAR, f"{agent}|{channel_id}|{leg.recording or ''}|{now:.3f}"
    )
    if leg.desk.greet_with_agent_number:
        media = ",".join(leg.flow.media(("agent-intro", *digits(agent), "agent-serving")))
        await quietly(ari.request("POST", f"/bridges/{leg.bridge_id}/play", {"media": media}))
