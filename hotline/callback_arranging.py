"""Arranging a callback in the caller's place (virtual hold, before anyone is dialled): the
caller presses the key or reaches max wait, gives a number, and the booking is decided.

Functions of the caller's PersonLeg (`leg`); once booked, virtual_hold.py takes over.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from acd.router import RouterError
from hotline.desk import quietly
from hotline.virtual_hold import VirtualHold
from ivr.actions import CallbackBooked

if TYPE_CHECKING:
    from hotline.person_leg import PersonLeg


def callback_instead(leg: PersonLeg) -> bool:
    """At max wait: book a callback in the caller's place rather than a voice message."""
    spec = leg.desk.router.config.queues.get(leg.queue)
    enabled = leg.desk.router.config.callback.enabled
    return enabled and spec is not None and spec.on_max_wait == "callback"


async def arrange_callback(leg: PersonLeg, why: tuple[str, ...] = ()) -> None:
    """The caller wants to be called back: hold the place while they give the number."""
    try:
        leg.desk.apply(leg.desk.router.hold(leg.call_id))
    except RouterError:
        return  # an agent is ringing for them right now
    leg.phase = "arranging"
    leg.max_waited = bool(why)
    ari = leg.desk.ari
    if leg.announcement is not None:
        await quietly(ari.stop_playback(leg.announcement))
        leg.announcement = None
    await quietly(ari.request("DELETE", f"/channels/{leg.channel}/moh"))
    leg.flow.log.info("callback_offered_taken", queue=leg.queue)
    await leg.flow.execute(leg.flow.session.ask_queue_callback(why))


async def callback_requested(leg: PersonLeg, number: str) -> None:
    """The caller confirmed the number: booked (they may hang up and keep their place),
    or refused: the number has a callback pending (that one keeps its place, this call
    ends) or has booked enough today (the caller keeps waiting on the line)."""
    now = time.time()
    router = leg.desk.router
    verdict = leg.desk.callbacks.book(number, leg.call_id, leg.desk.local_day(now))
    leg.flow.log.info("callback_booking", number_tail=number[-4:], verdict=verdict)
    if verdict == "booked":
        deadline = router.callback_deadline(leg.queue, now)
        leg.hold = VirtualHold(leg=leg, number=number)
        leg.phase = "callback"
        leg.hold.registered(deadline)
        leg.desk.apply(router.to_callback(leg.call_id, now, deadline))
    elif verdict == "exists":
        leg.flow.fact("callback_refused", reason="pending", number=number)
        leg.desk.apply(router.caller_left(leg.call_id, now))
        leg.phase = "done"
        leg.flow.settle("callback_duplicate")
    else:
        leg.flow.fact("callback_refused", reason="daily_limit", number=number)
        if leg.max_waited:  # waiting on is no longer offered: a voice message instead
            await to_voicemail_at_max_wait(leg)
            return
    leg.desk.post(leg.call_id, CallbackBooked(verdict))


async def to_voicemail_at_max_wait(leg: PersonLeg) -> None:
    # (The overflow itself was recorded when max wait was reached.)
    leg.desk.apply(leg.desk.router.caller_left(leg.call_id, time.time()))
    leg.phase = "done"
    await leg.flow.execute(leg.flow.session.overflow_to_voicemail())


async def resume_waiting(leg: PersonLeg) -> None:
    """The caller arranging a callback stays on the line after all, in their place (at
    max wait, where waiting on is over, they may leave a voice message instead)."""
    if leg.phase != "arranging":
        return
    if leg.max_waited:
        await to_voicemail_at_max_wait(leg)
        return
    leg.phase = "waiting"
    leg.flow.log.info("callback_not_booked_waiting_on")
    await quietly(leg.desk.ari.start_moh(leg.channel))
    leg.desk.apply(leg.desk.router.release(leg.call_id, time.time()))
