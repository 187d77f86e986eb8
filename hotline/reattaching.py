"""Re-attaching, after a controller restart, a conversation Asterisk kept up: the agent
with the caller, or in a consult (acd/consult.py).

What the consult is, is kept on the caller's channel at each of its steps (asked, expert
talking: hotline/bridging.py). Agent and expert still talking in their bridge, or in a
three-way with the caller, are re-attached as they were (the agent may still complete,
make it three-way or cancel). A consult still ringing its experts (or an expert hearing the
whisper) is cancelled: the agent is put back with the caller and the experts' legs are hung
up (nobody carries them on). Functions of the caller's PersonLeg (`leg`).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from acd.consult import Consult
from hotline.bridging import SavedConsult, forget_consult, join_caller, keep_agent, keep_consult
from hotline.desk import CONSULT_VAR, RECORDING_STAMP, agent_value, hangup_quietly, quietly
from hotline.telephony.ari import AriError
from hotline.telephony.events import lost_channel

if TYPE_CHECKING:
    from hotline.person_leg import PersonLeg


async def resume_talking(
    leg: PersonLeg,
    saved: str,
    bridge: dict[str, Any] | None = None,
    leg_created: float | None = None,
) -> bool:
    """After a controller restart: re-attach a conversation that Asterisk kept up
    (`bridge`: the call's bridge, if the caller has looked it up already), with its consult
    if there is one, and its recording. False: the agent's channel is gone (the caller
    waits again)."""
    agent, channel_id, recording, answered = [*saved.split("|"), "", "", "", ""][:4]
    if bridge is None:
        bridge = await _bridge(leg, f"b-{leg.call_id}")
        if bridge is None:
            return False
    if agent not in leg.desk.router.agents:
        return False
    with_caller = set(bridge.get("channels", []))
    consult: SavedConsult | None = None
    if channel_id not in with_caller or len(with_caller) > 2:  # consulting, or a three-way
        consult = SavedConsult.decode(await leg.desk.ari.get_variable(leg.channel, CONSULT_VAR))
    if channel_id not in with_caller and not await _alive(leg, channel_id):
        return False
    leg.phase = "talking"
    leg.agent, leg.agent_channel, leg.bridge_id = agent, channel_id, bridge["id"]
    leg.recording = recording or None
    leg.answered_at = float(answered or time.time())
    leg.desk.agent_channels[channel_id] = (leg.call_id, agent)
    leg.desk.apply(leg.desk.router.resume_talk(agent, leg.call_id, time.time()))
    leg.flow.log.info("conversation_resumed", agent=agent, queue=leg.queue)
    skip_ids(leg, channel_id)
    if not recording:
        await _find_recording(leg, agent, channel_id, leg_created or leg.answered_at)
    if channel_id in with_caller:
        # (After a hand-over the expert is the agent: what was kept of the consult is old.)
        if consult is not None and consult.channel in with_caller - {channel_id}:
            await _reattach(leg, consult, "three_way", None)
        await _hung_up_meanwhile(leg, channel_id, agent)
        return True
    if consult is not None and consult.channel:
        apart = await _bridge(leg, f"x-{leg.call_id}")
        if apart is not None and {channel_id, consult.channel} <= set(apart["channels"]):
            await _reattach(leg, consult, "talking", apart["id"])
            await _hung_up_meanwhile(leg, channel_id, agent)
            return True
    await _back_to_caller(leg, consult, with_caller)
    return True


async def resume_unkept(leg: PersonLeg, waiting_since: float | None) -> bool:
    """After a controller restart: a waiting caller who is in fact talking. The dead
    controller put them through (the call's bridge holds the caller and an agent's leg) and
    died before keeping the agent on the caller's channel (bridging.put_through). The
    conversation is re-attached, its answer recorded again (the dead controller's last
    facts may have died with it; recording them twice changes nothing), recorded (the file
    MixMonitor had started for this agent, if it had) and kept. False: the caller was not
    put through (they wait again). A leg older than the caller's wait (`waiting_since`: a
    transfer) is the agent who transferred them, left in the bridge by a controller that
    died mid-transfer: it is hung up, as the transfer meant."""
    bridge = await _bridge(leg, f"b-{leg.call_id}")
    if bridge is None or leg.channel not in bridge.get("channels", []):
        return False
    prefix = f"{leg.call_id}-"  # an agent's leg: <call>-<agent>-<n> (acd/conversation.py)
    # (A call-back's citizen is <call>-cb…: the caller's side here, not an agent's leg.)
    legs = [c for c in bridge["channels"] if c.startswith(prefix) and c != leg.channel]
    if len(legs) != 1:
        return False
    channel_id = legs[0]
    agent = channel_id.removeprefix(prefix).rpartition("-")[0]
    ari = leg.desk.ari
    try:
        created = _moment(str((await ari.get_channel(channel_id)).get("creationtime", "")))
    except AriError as exc:
        if exc.gone:
            return False
        raise
    if waiting_since is not None and (created is None or created < waiting_since):
        leg.flow.log.info("transferred_leg_ended", agent=agent)
        await hangup_quietly(ari, channel_id)
        return False
    recording = await ari.get_variable(leg.channel, "MIXMONITOR_FILENAME")
    if not _recording_of(recording, leg.call_id, agent, created):
        recording = ""  # an earlier agent's file (the variable outlives StopMixMonitor)
    saved = agent_value(agent, channel_id, recording, time.time())
    if not await resume_talking(leg, saved, bridge, created):
        return False
    leg.flow.log.info("conversation_found_unkept", agent=agent, recorded=bool(recording))
    leg.flow.fact("segment_answered", agent=agent)
    leg.flow.fact("agent", agent=agent)
    if recording:  # (unrecorded, resume_talking started a recording and kept it)
        await keep_agent(leg, agent, channel_id, leg.recording, leg.answered_at)
    return True


async def _find_recording(leg: PersonLeg, agent: str, channel_id: str, since: float) -> None:
    """A conversation kept before its recording started (bridging.put_through), or found
    unkept: MixMonitor's file if it is this agent's, since `since`; else a recording from
    now on. Kept on the caller's channel either way."""
    found = await leg.desk.ari.get_variable(leg.channel, "MIXMONITOR_FILENAME")
    # (An earlier agent's file is not: the variable outlives StopMixMonitor.)
    if _recording_of(found, leg.call_id, agent, since):
        leg.recording = found
    else:
        leg.recording = await leg.desk.start_recording(
            leg.flow.channel_name, leg.call_id, agent, leg.flow.log
        )
    await keep_agent(leg, agent, channel_id, leg.recording, leg.answered_at)


async def leave_call_bridge(leg: PersonLeg) -> None:
    """After a controller restart, a caller who waits again (their agent's leg is gone)
    but is still in the call's bridge (the dead controller's last `addChannel` ran): the
    bridge goes, so that they hear the hold music and prompts of a waiting caller."""
    bridge = await _bridge(leg, f"b-{leg.call_id}")
    if bridge is not None and leg.channel in bridge.get("channels", []):
        leg.flow.log.info("left_in_bridge", bridge=bridge["id"])
        await quietly(leg.desk.ari.request("DELETE", f"/bridges/{bridge['id']}"))


def _moment(text: str) -> float | None:
    """An ARI time (2026-12-02T12:20:47.432+0000) as a Unix time."""
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        return None


def _recording_of(path: str, call_id: str, agent: str, leg_created: float | None) -> bool:
    """Whether MixMonitor's file is this agent's on this leg (Desk.start_recording names
    it <UTC stamp>-<call>-<agent>.wav; the stamp is to the second)."""
    name = path.rsplit("/", 1)[-1]
    if not name.endswith(f"-{call_id}-{agent}.wav") or leg_created is None:
        return False
    try:
        stamp = dt.datetime.strptime(name[:15], RECORDING_STAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        return False
    return stamp.timestamp() >= int(leg_created)


async def _hung_up_meanwhile(leg: PersonLeg, channel_id: str, agent: str) -> None:
    """A leg's events reach the call only once it is registered (above); one that hung up
    between the look-up and then went unseen: the call hears of it as of any hang-up."""
    if not await _alive(leg, channel_id):
        leg.desk.post(leg.call_id, ("agent", channel_id, agent, lost_channel(channel_id)))


async def _bridge(leg: PersonLeg, bridge_id: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await leg.desk.ari.request("GET", f"/bridges/{bridge_id}")
    except AriError as exc:
        if exc.gone:
            return None
        raise
    return found


async def _alive(leg: PersonLeg, channel_id: str) -> bool:
    try:
        await leg.desk.ari.get_channel(channel_id)
    except AriError as exc:
        if exc.gone:
            return False
        raise
    return True


async def _reattach(
    leg: PersonLeg, saved: SavedConsult, stage: str, consult_bridge: str | None
) -> None:
    """The consult goes on where it was: agent and expert talking, or a three-way."""
    desk = leg.desk
    conv = leg.conversation
    if saved.expert not in desk.router.agents or conv.agent_channel is None:
        return
    agent, agent_channel = conv.agent, conv.agent_channel
    assert agent is not None
    conv.consult = Consult(
        saved.request,
        saved.queue,
        agent,
        agent_channel,
        saved.asked_at,
        expert=saved.expert,
        channel=saved.channel,
        channel_name=saved.channel_name,
        answered_at=saved.answered_at,
        stage=stage,
    )
    conv.phase = "consulting" if stage == "talking" else "three_way"
    leg.consult_kept = True
    leg.consult_bridge = consult_bridge
    leg.leg_recordings[saved.expert] = (saved.channel_name, saved.recording or None)
    desk.agent_channels[saved.channel] = (leg.call_id, saved.expert)
    desk.apply(desk.router.resume_talk(saved.expert, saved.request, time.time()))
    skip_ids(leg, saved.channel)
    leg.flow.log.info("consult_resumed", agent=agent, expert=saved.expert, stage=stage)
    if not saved.recording:
        # The dead controller died between bridging them and keeping the expert's
        # recording: recorded from now on, and that is kept.
        recording = await desk.start_recording(
            saved.channel_name, leg.call_id, saved.expert, leg.flow.log
        )
        leg.leg_recordings[saved.expert] = (saved.channel_name, recording)
        await keep_consult(leg)
    await _hung_up_meanwhile(leg, saved.channel, saved.expert)


async def _back_to_caller(
    leg: PersonLeg, saved: SavedConsult | None, with_caller: set[str]
) -> None:
    """The consult had no expert talking yet: it ends (cancelled), the agent is back, the
    experts' legs still there are hung up and every expert leg's segment is closed."""
    ari = leg.desk.ari
    agent, agent_channel = leg.agent or "", leg.agent_channel or ""
    leg.consult_bridge = f"x-{leg.call_id}"  # if there is one: closed by join_caller
    mine = f"{leg.call_id}-"
    experts = set(saved.offered) if saved is not None else set()
    # An expert who was talking with the agent and whose leg is gone left unseen: their
    # part was answered and counts as theirs (as when an expert hangs up mid-consult).
    talked = saved.expert if saved is not None and saved.expert else None
    if talked is not None:
        experts.add(talked)
    answered: set[str] = set()
    for channel in await ari.request("GET", "/channels"):
        leg_id = str(channel.get("id", ""))
        if not leg_id.startswith(mine) or leg_id == agent_channel or leg_id in with_caller:
            continue
        expert = leg_id.removeprefix(mine).rsplit("-", 1)[0]
        if expert not in leg.desk.router.agents:
            continue
        await hangup_quietly(ari, leg_id)
        experts.add(expert)
        if channel.get("state") == "Up":
            answered.add(expert)
    for expert in sorted(experts - {agent}):
        # A leg that ended while we were away ended unseen: cancelled with the consult.
        if expert in answered:
            outcome = "consult_cancel"
        else:
            outcome = "agent_hangup" if expert == talked else "cancelled"
        leg.flow.fact("segment_ended", agent=expert, outcome=outcome)
    if saved is not None:
        ended = {"agent": agent, "queue": saved.queue, "expert": talked, "outcome": "cancelled"}
        seconds = round(max(0.0, time.time() - saved.answered_at), 3) if talked else 0.0
        leg.flow.fact("consult_ended", **ended, seconds=seconds)
    # The caller out of the bridge (not seen so far; it costs nothing to be sure): both in.
    caller = [] if leg.channel in with_caller else [leg.channel]
    await join_caller(leg, *caller, agent_channel)
    if saved is not None:
        await forget_consult(leg)
    if saved is not None or experts:
        leg.flow.log.info("consult_cancelled_by_restart", agent=agent, experts=sorted(experts))
    else:
        leg.flow.log.info("agent_rejoined_after_restart", agent=agent, caller_joined=bool(caller))


def skip_ids(leg: PersonLeg, channel: str) -> None:
    """Past the numbers of the call's helper channels the dead controller made (`channel`
    ends in one), so that no new channel or request takes an id still in use."""
    last = channel.rsplit("-", 1)[-1]
    highest = int(last) if last.isdigit() else 0
    while leg.next_id() < highest:
        pass
