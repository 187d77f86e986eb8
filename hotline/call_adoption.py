"""A call already in Stasis when the controller (re)connected, resumed where it was: what
was kept on the caller's channel (hotline/desk.py's variables) says whether the caller was
in the menu, waiting, talking (with a consult: hotline/reattaching.py), rating the agent or
handed to another department."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from hotline.desk import (
    AGENT_VAR,
    ENTERED_VAR,
    OUTSIDE_VAR,
    QUEUE_VAR,
    SURVEY_VAR,
    QueueEntry,
    read_queue,
)
from hotline.person_leg import PersonLeg
from hotline.reattaching import leave_call_bridge, resume_unkept

if TYPE_CHECKING:
    from hotline.callflow import CallFlow

NODE_VAR = "HOTLINE_NODE"  # kept on the channel so a restarted controller resumes there
LANG_VAR = "HOTLINE_LANG"


async def resume_call(flow: CallFlow, channel: dict[str, Any]) -> None:
    """Resume the call of `flow` from what its channel keeps."""
    flow.fact("adopted", run_id=flow.services.run_id)
    ari = flow.services.ari
    node = await ari.get_variable(flow.channel_id, NODE_VAR)
    language = await ari.get_variable(flow.channel_id, LANG_VAR)
    if language in ("zh", "en"):
        flow.session.language = language
        flow.kept_language = (flow.channel_id, language)
    flow.session.is_open = flow.services.is_open()
    flow.log.info("call_adopted", node=node or "(start)", state=channel.get("state"))
    if channel.get("state") != "Up":
        await ari.answer(flow.channel_id)
        flow.fact("answered")
    queue, kept_entry = read_queue(await ari.get_variable(flow.channel_id, QUEUE_VAR))

    async def queue_entry() -> QueueEntry:
        if kept_entry is not None:
            return kept_entry
        return QueueEntry.decode(await ari.get_variable(flow.channel_id, ENTERED_VAR) or "")

    desk = flow.services.desk
    # The survey comes last in a call: once it is set, the queue and agent variables
    # (left as they were, to spare requests) no longer count.
    rating = await ari.get_variable(flow.channel_id, SURVEY_VAR)
    if rating and desk is not None:
        # The agent had hung up: the caller was being asked the survey.
        flow.session.phase = "done"
        flow.person = PersonLeg(flow=flow, desk=desk, queue=queue, entered=0.0)
        await flow.person.ask_survey(rating)
        return
    outside = await ari.get_variable(flow.channel_id, OUTSIDE_VAR)
    if outside and desk is not None:
        # Handed to another department (the end of the ACD's part): only its end is left.
        flow.session.phase = "done"
        flow.person = PersonLeg(flow=flow, desk=desk, queue=queue, entered=0.0)
        await flow.person.resume_outside(outside)
        return
    talking = await ari.get_variable(flow.channel_id, AGENT_VAR)
    if queue and talking and desk is not None and queue in desk.router.config.queues:
        flow.session.phase = "done"
        # The time the caller entered the queue: a later transfer's segment counts from it.
        entry = await queue_entry()
        flow.person = PersonLeg(
            flow=flow, desk=desk, queue=queue, entered=entry.entered, priority=entry.priority
        )
        if await flow.person.resume_talking(talking):
            return
    if queue and desk is not None and queue in desk.router.config.queues:
        # A caller who was waiting keeps their place: the original time of entry, and
        # the priority they had (senior, repeat caller).
        entry = await queue_entry()
        entered = entry.entered
        flow.session.phase = "done"
        flow.person = PersonLeg(
            flow=flow,
            desk=desk,
            queue=queue,
            entered=entered or dt.datetime.now(dt.UTC).timestamp(),
            priority=entry.priority,  # kept by a transfer after the re-attachment
        )
        # Not kept as talking (a kept agent whose leg is gone is not looked for again).
        if not talking and await resume_unkept(flow.person, entry.waiting_since):
            return
        await leave_call_bridge(flow.person)
        await flow.person.start(entry.priority, resumed=True, waiting_since=entry.waiting_since)
        return
    await flow.execute(flow.session.start(node or None))
