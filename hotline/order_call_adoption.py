"""The work-order calls an earlier controller left in Asterisk, found after a (re)start: the
owner's call-back (carried on if the two are talking, else ended: CallBackLeg.resume) and
the follow-up (ended, its attempt given back: FollowUpLeg.resume).

Their channels are `<call id>-a` and `<call id>-c` (hotline/order_calls.py); what the call
is was kept on them from the dial on (ORDER_CALL_VAR). A ringing channel is not in our
application yet: every channel of Asterisk is looked at, not the application's alone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import structlog

from acd.order_calls import CallBack, SavedCallBack, SavedFollowUp, saved_order_call
from hotline.desk import hangup_quietly
from hotline.follow_up_call import FollowUpLeg
from hotline.order_call_legs import ORDER_CALL_VAR, CallBackLeg
from hotline.telephony.ari import AriError

if TYPE_CHECKING:
    from hotline.order_calls import OrderCalls

log = structlog.get_logger("order_calls")

# `wo<order>-<run id (6 hex)><n>-<a|c>`: a call-back's or a follow-up's channel.
ORDER_CHANNEL = re.compile(r"(?P<call>wo.+-(?P<run>[0-9a-f]{6})[0-9]+)-(?P<side>[ac])")


def order_call_channels(channel_ids: list[str], run_id: str) -> dict[str, list[str]]:
    """The work-order calls an earlier run placed among Asterisk's channels: call id ->
    its channels (agent's first). This run's own (a reconnect) are not: one that ended
    just now may still have a channel being hung up."""
    found: dict[str, list[str]] = {}
    for channel_id in sorted(channel_ids):
        match = ORDER_CHANNEL.fullmatch(channel_id)
        if match is not None and match["run"] != run_id:
            found.setdefault(match["call"], []).append(channel_id)
    return found


async def adopt(calls: OrderCalls, channels: list[dict[str, Any]]) -> list[str]:
    """Take back the work-order calls among `channels` (GET /channels) that this run does
    not know: each is registered (its channels' events reach it from now on), then resumes
    in its own consumer. Returns their call ids."""
    desk = calls.controller.desk
    assert desk is not None
    adopted: list[str] = []
    ids = [str(c.get("id", "")) for c in channels]
    for call_id, channel_ids in order_call_channels(ids, calls.controller.run_id).items():
        if call_id in calls.calls:
            continue  # taken back at an earlier reconnect of this run
        saved = None
        try:
            for channel_id in channel_ids:
                saved = saved_order_call(await desk.ari.get_variable(channel_id, ORDER_CALL_VAR))
                if saved is not None:
                    break
        except AriError as exc:  # Asterisk too busy to say: the next reconnect tries again
            log.warning("order_call_adoption_failed", call=call_id, error=str(exc)[:160])
            continue
        if saved is None:  # placed by a release that kept nothing: nobody can carry it on
            log.warning("order_call_not_adopted", call=call_id, channels=channel_ids)
            for channel_id in channel_ids:
                await hangup_quietly(desk.ari, channel_id)
            continue
        calls.calls[call_id] = _leg(calls, call_id, saved)
        for channel_id in channel_ids:
            calls.channels[channel_id] = call_id
        calls.post(call_id, "resume")
        log.info("order_call_adopted", call=call_id, order=saved.order)
        adopted.append(call_id)
    return adopted


def _leg(
    calls: OrderCalls, call_id: str, saved: SavedCallBack | SavedFollowUp
) -> CallBackLeg | FollowUpLeg:
    if isinstance(saved, SavedFollowUp):
        return FollowUpLeg(
            calls=calls, call_id=call_id, order=saved.order, number="", attempt=saved.attempt
        )
    return CallBackLeg(
        calls=calls,
        call_id=call_id,
        order=saved.order,
        number=saved.number,
        agent=saved.agent,
        machine=CallBack.after_restart(saved.answered_at),
        citizen_name=saved.citizen_name,
        recording=saved.recording or None,
        paused_from=saved.paused_from,
    )
