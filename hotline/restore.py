"""What a restarted controller puts back: agents' states, booked callbacks; and the purge."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.router import Overflow, Router, RouterError
from hotline import recordings
from hotline.callflow import CallFlow
from hotline.desk import AGENT_VAR, hangup_quietly
from hotline.reattaching import resume_unkept
from hotline.telephony.ari import AriError

if TYPE_CHECKING:
    from hotline.controller import Controller

log = structlog.get_logger("controller")


async def purge_daily(engine: AsyncEngine | None, host_root: Path, stop: asyncio.Event) -> None:
    """Recordings past their retention lose their audio (hourly check)."""
    while engine is not None and not stop.is_set():
        try:
            await recordings.purge(engine, host_root, dt.date.today())
        except Exception as exc:
            log.warning("purge_failed", error=str(exc)[:200])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 3600)


async def _stored(engine: AsyncEngine, sql: str, what: str) -> list[Any] | None:
    """Rows to put back; None (logged) when the database cannot say: start without them."""
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    except Exception as exc:
        log.warning(f"{what}_not_restored", error=str(exc)[:200])
        return None


async def agent_states(engine: AsyncEngine, router: Router) -> bool:
    """Agents keep their state across a controller restart (the last stored change).
    False when the database could not say (retried: hotline/restoring.py)."""
    rows = await _stored(
        engine,
        "SELECT DISTINCT ON (agent) agent, status, reason, phone"
        " FROM agent_state_changes ORDER BY agent, at DESC, id DESC",
        "agent_states",
    )
    if rows is None:
        return False
    now = time.time()
    for row in rows:
        if row.agent not in router.agents or row.status == "logged_out":
            continue
        try:
            router.login(row.agent, now, row.phone or None)
        except RouterError as exc:  # two agents stored at one phone: the first keeps it
            log.warning("agent_state_not_restored", agent=row.agent, error=str(exc))
            continue
        if row.status == "paused":
            router.pause(row.agent, row.reason or "break", now)
    log.info("agent_states_restored", agents=len(rows))
    return True


async def callbacks(controller: Controller) -> bool:
    """Booked callbacks go back to their place after a restart (from the database).
    False when the database could not say (retried: hotline/restoring.py)."""
    if controller.engine is None or controller.desk is None:
        return True
    desk = controller.desk
    rows = await _stored(
        controller.engine,
        "SELECT channel_id, caller_number, number, queue, priority, entered, language, attempts,"
        " status, requested_at, deadline FROM callbacks"
        " WHERE status = 'pending' OR requested_at > now() - interval '2 days'",
        "callbacks",
    )
    if rows is None:
        return False
    today = desk.local_day(time.time())
    for row in rows:
        booked_on = desk.local_day(row.requested_at.timestamp())
        pending = row.status == "pending"
        if booked_on == today or pending:
            desk.callbacks.restore(row.number, row.channel_id, booked_on, pending)
    rows = [row for row in rows if row.status == "pending"]
    for row in rows:
        if row.channel_id in controller.calls:
            continue
        flow = CallFlow(
            channel={
                "id": row.channel_id,
                "caller": {"number": row.caller_number or ""},
                "language": row.language,
            },
            menu=controller.menu,
            services=controller.services,
        )
        flow.restore_callback(
            controller.desk, row.queue, row.entered, row.priority, row.number, row.attempts
        )
        controller.calls[row.channel_id] = flow
        queue = row.queue if row.queue in controller.desk.router.config.queues else None
        if queue is None:
            await flow.person.on_decision(Overflow(row.channel_id, row.queue, "unknown_queue"))  # type: ignore[union-attr]
            controller.forget(row.channel_id)
            continue
        try:
            if await _in_conversation(controller, flow):
                continue  # talking already: dialling again would ring a busy caller
            await _hang_up_legs(controller, flow.call_id)
        except Exception as exc:  # Asterisk cannot say now: it waits in place, as booked
            log.warning("callback_conversation_unknown", call_id=flow.call_id, error=repr(exc))
        deadline = (
            row.deadline.timestamp()
            if row.deadline is not None  # else booked by an older release: the queue's rule
            else desk.router.callback_deadline(queue, row.requested_at.timestamp())
        )
        flow.person.hold.deadline = deadline  # type: ignore[union-attr]
        desk.apply(
            desk.router.enqueue(
                row.channel_id,
                queue,
                row.priority,
                time.time(),
                row.entered,
                callback=True,
                deadline=deadline,
                attempts=row.attempts,  # never more dials in all than `callback.attempts`
            )
        )
    log.info("callbacks_restored", callbacks=len(rows))
    return True


async def _hang_up_legs(controller: Controller, call_id: str) -> None:
    """Legs an earlier run rang for a callback not yet in conversation (the agent hearing
    回拨电话, the citizen's phone ringing): nobody carries them on, so they are hung up; the
    callback waits in its place and is dialled again."""
    for channel in await controller.ari.request("GET", "/channels"):
        if str(channel.get("id", "")).startswith(f"{call_id}-"):
            log.info("callback_leg_hung_up", call_id=call_id, channel=channel["id"])
            await hangup_quietly(controller.ari, channel["id"])


async def _in_conversation(controller: Controller, flow: CallFlow) -> bool:
    """A callback whose conversation Asterisk kept up while we were away: re-attach it."""
    assert flow.person is not None and flow.person.hold is not None and controller.desk is not None
    try:
        bridge = await controller.ari.request("GET", f"/bridges/b-{flow.call_id}")
    except AriError as exc:
        if exc.gone:
            return False
        raise
    ari = controller.ari
    citizen = next(
        (c for c in bridge.get("channels", []) if c.startswith(f"{flow.call_id}-cb")), None
    )
    saved = ""
    if citizen is None:
        # Put through during the agent's number (bridging.put_through): the citizen joins
        # the bridge when it ends; the agent was kept before it.
        legs = await ari.request("GET", "/channels")
        ids = [str(c.get("id", "")) for c in legs]
        citizen = next((c for c in ids if c.startswith(f"{flow.call_id}-cb")), None)
        saved = await ari.get_variable(citizen, AGENT_VAR) if citizen is not None else ""
        if citizen is None or not saved:
            return False
    channel = await ari.get_channel(citizen)
    flow.channel_id, flow.channel_name = citizen, channel.get("name", "")
    flow.person.hold.citizen_channel = citizen
    controller.desk.citizen_channels[citizen] = flow.call_id
    saved = saved or await ari.get_variable(citizen, AGENT_VAR)
    if not saved:  # put through by a controller that died before keeping the agent
        return await resume_unkept(flow.person, None)
    return await flow.person.resume_talking(saved, bridge)
