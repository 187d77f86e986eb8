"""The follow-up watch (回访): places the follow-up calls of answered work orders when they
are due (acd/order_calls.follow_up_due: after the owner's call-back reached the citizen, or
long after an answer that was only texted; staffed hours only; attempts spaced). It scans
every minute, and at once when a call-back reached a citizen."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import TYPE_CHECKING

import structlog

from acd.order_calls import follow_up_due
from hotline import order_calls_store as store

if TYPE_CHECKING:
    from hotline.controller import Controller

log = structlog.get_logger("order_calls")

EVERY_SECONDS = 60.0
AT_ONCE = 5  # follow-up calls in progress at most (a trunk's lines are for citizens first)


async def scan(controller: Controller, now: dt.datetime | None = None) -> list[str]:
    """One pass: the follow-up calls placed (their call ids)."""
    assert controller.engine is not None
    calls = controller.order_calls
    policy = controller.work_orders.follow_up.policy()
    now = now or dt.datetime.now(dt.UTC)
    if not policy.enabled or controller.desk is None:
        return []
    staffed = controller.hours.is_open(now)
    placed: list[str] = []
    for order, state in await store.follow_up_candidates(controller.engine):
        if len(calls.calls) >= AT_ONCE:
            break
        if calls.busy(order.number) or not follow_up_due(order, state, policy, now, staffed):
            continue
        if not controller.desk.router.config.callback.numbers.allows(order.callback_number):
            continue  # never dialled (the same guard as callbacks)
        if await store.claim_attempt(controller.engine, order.number, state.attempts, now):
            placed.append(await calls.follow_up(order, state.attempts + 1, policy))
    return placed


async def watch(controller: Controller, stop: asyncio.Event) -> None:
    """Scan until the controller stops; a failed scan is logged and tried again."""
    wanted = controller.order_calls.follow_up_wanted
    while not stop.is_set():
        try:
            await scan(controller)
        except Exception as exc:
            log.warning("follow_up_scan_failed", error=str(exc)[:200])
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wanted.wait())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waiters, timeout=EVERY_SECONDS, return_when="FIRST_COMPLETED")
        for waiter in waiters:
            waiter.cancel()
        wanted.clear()
