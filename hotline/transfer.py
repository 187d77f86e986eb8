"""Transfers: an agent hands the caller to another queue (expert seats).

The agent's segment ends as `transferred`, their recording is closed and they go to wrap-up
as after any call; the caller waits in the target queue, placed by their first time of entry,
so per-segment talk time and each agent's wrap-up stay right across transfers.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from acd.router import RouterError
from hotline.desk import AGENT_VAR, ENTERED_VAR, QUEUE_VAR, QueueEntry, hangup_quietly, quietly

if TYPE_CHECKING:
    from hotline.person_leg import PersonLeg


async def transfer_to_queue(leg: PersonLeg, target: str) -> None:
    """The agent hands the caller to another queue (expert seats); the segment ends here,
    the agent goes to wrap-up, and the caller waits there, placed by first entry."""
    if leg.phase != "talking" or leg.agent is None:
        raise RouterError("no conversation to transfer")
    ari = leg.desk.ari
    now = time.time()
    agent, agent_channel = leg.agent, leg.agent_channel
    decisions = leg.desk.router.transfer(
        leg.call_id,
        agent,
        leg.queue,
        target,
        leg.priority,
        leg.entered,
        now - leg.answered_at,
        now,
    )
    if leg.hold is not None:  # a callback's conversation: the call back took place
        leg.hold.finished()
    leg.flow.fact("segment_ended", agent=agent, outcome="transferred")
    leg.flow.fact("transferred_to_queue", agent=agent, queue=target)
    leg.flow.log.info("transfer_to_queue", agent=agent, queue=target)
    leg.desk.stop_recording(leg.flow.channel_name, leg.call_id, agent, leg.recording)
    leg.recording = None
    leg.agent = leg.agent_channel = None
    leg.phase = "waiting"
    leg.queue = target
    leg.flow.fact("queued", queue=target)
    leg.desk.metrics.calls_offered.labels(target).inc()
    await quietly(ari.set_variable(leg.channel, AGENT_VAR, ""))
    await quietly(ari.set_variable(leg.channel, QUEUE_VAR, target))
    entry = QueueEntry(leg.entered, leg.priority, waiting_since=now)
    await quietly(ari.set_variable(leg.channel, ENTERED_VAR, entry.encode()))
    if agent_channel:
        await hangup_quietly(ari, agent_channel)
    if leg.bridge_id:
        await quietly(ari.request("DELETE", f"/bridges/{leg.bridge_id}"))
        leg.bridge_id = None
    leg.announcement = f"{leg.call_id}.acd{leg.next_id()}"
    await leg.play(["transfer-expert"], leg.announcement)
    leg.desk.apply(decisions)
