"""The 督办 watch: every few minutes the controller turns new voice messages into work
orders, scans unfinished work orders, sets the `hotline_work_orders_escalated` gauge per
reason and logs what supervisors must chase, so that an alert rule or a wallboard sees an
overdue or ownerless order without asking."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog

from acd.work_orders import Escalation, WorkOrder, escalations
from hotline import sms
from hotline import work_orders_store as store

if TYPE_CHECKING:
    from hotline.controller import Controller

log = structlog.get_logger("work_orders")

EVERY_SECONDS = 300.0
REASONS = ("overdue", "near_due", "no_owner")


async def scan(controller: Controller, now: dt.datetime | None = None) -> list[Escalation]:
    """One pass: the escalations now, the gauge set, one log line when there are any."""
    assert controller.engine is not None
    desk = controller.desk
    # Walking every unfinished order's working days is CPU work (0.5 s at 5,000 orders):
    # in a thread, not on the loop that serves calls.
    found = await asyncio.to_thread(
        escalations,
        await store.unfinished(controller.engine),
        now or dt.datetime.now(dt.UTC),
        controller.hours,
        controller.work_orders.policy(),
        frozenset(desk.router.agents) if desk is not None else None,
    )
    counts: Counter[str] = Counter(e.reason for e in found)
    for reason in REASONS:
        controller.metrics.work_orders_escalated.labels(reason).set(counts[reason])
    if found:
        log.warning(
            "work_orders_escalated",
            **{reason: counts[reason] for reason in REASONS},
            orders=[f"{e.number}:{e.reason}" for e in found[:20]],
        )
    return found


async def adopt_voice_messages(controller: Controller) -> list[WorkOrder]:
    """New voice messages become work orders; each citizen is texted the order's number."""
    assert controller.engine is not None
    made = await store.from_voice_messages(
        controller.engine, policy=controller.work_orders.policy(), hours=controller.hours
    )
    timezone = ZoneInfo(controller.hours.timezone)
    now = dt.datetime.now(dt.UTC)
    for order in made:
        if order.due_at < now or not order.callback_number:  # no promise to text, or nowhere
            continue
        await sms.notify(
            controller.sms, order.callback_number, sms.taken_text(order, timezone), order.number
        )
    if made:
        log.info("voice_messages_as_work_orders", orders=[o.number for o in made])
    return made


async def watch(controller: Controller, stop: asyncio.Event) -> None:
    """Scan until the controller stops; a failed scan (database away) is logged and retried
    at the next turn (the supervised task would restart it anyway)."""
    while not stop.is_set():
        try:
            await adopt_voice_messages(controller)
            await scan(controller)
        except Exception as exc:
            log.warning("escalation_scan_failed", error=str(exc)[:200])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), EVERY_SECONDS)
