"""Desk-phone feature codes, dialled from an agent's or supervisor's desk phone:
*61[工号*PIN] login (at this phone: hot-desking), *62 logout, *63[reason code] pause,
*64 ready, and the supervision codes (hotline/supervision.py FEATURE_CODES). The phone hears
feature-ok or feature-fail, then is hung up.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import TYPE_CHECKING, Literal

import structlog

from acd.router import RouterError
from hotline.supervision import FEATURE_CODES
from hotline.telephony.ari import AriError, Event

if TYPE_CHECKING:
    from hotline.controller import Controller

log = structlog.get_logger("controller")

AGENT_CODES = {"*61": "login", "*62": "logout", "*63": "pause", "*64": "ready"}


async def run(controller: Controller, event: Event) -> None:
    """A feature code dialled (StasisStart of the desk phone's channel): do it, say so."""
    channel = event["channel"]
    phone = channel.get("caller", {}).get("number", "")
    agent = phone
    dialled = (event.get("args") or ["", ""])[1]
    code, extra = dialled[:3], dialled[3:]
    desk = controller.desk
    if code in FEATURE_CODES:
        sitting = desk.router.at_phone(phone) if desk is not None else None
        person = sitting.number if sitting is not None else phone
        mode = FEATURE_CODES[code]
        await controller.supervision.start_from_phone(event, mode, extra.rstrip("#"), person)
        return
    command = AGENT_CODES.get(code)
    prompt = "feature-fail"
    if desk is not None and command is not None:
        sitting = desk.router.at_phone(phone)
        if sitting is not None:
            agent = sitting.number  # whoever is logged in at this phone
        reasons = desk.router.config.pause_reasons
        reason = reasons.get(extra or next(iter(reasons)), "") if command == "pause" else ""
        try:
            if command == "login" and extra:
                agent = hot_desk_agent(controller, extra, phone)
            elif command == "pause" and not reason:
                raise RouterError(f"no pause reason {extra!r}")
            elif command != "pause" and extra:
                raise RouterError(f"{code} takes nothing after it")
            desk.agent_command(agent, command, reason, phone=phone)
            prompt = "feature-ok"
        except RouterError as exc:
            log.warning("feature_code_refused", agent=agent, code=code, error=str(exc))
    log.info("feature_code", agent=agent, code=code, result=prompt)
    await tell(controller, channel["id"], prompt)


async def tell(controller: Controller, channel_id: str, prompt: str) -> None:
    """A desk phone's feature code done or refused: say so, then hang up."""
    ari = controller.ari
    try:
        await ari.answer(channel_id)
        media = [f"sound:{controller.config.sounds_dir / 'zh' / prompt}"]
        await ari.play(channel_id, media, f"{channel_id}.{controller.run_id}.f", "zh")
        await asyncio.sleep(2.5)
        await ari.hangup(channel_id)
    except AriError as exc:
        if not exc.gone:
            raise


def hot_desk_agent(controller: Controller, keys: str, phone: str) -> str:
    """`工号*PIN` keyed after *61 at any desk phone: the agent, if the PIN is theirs
    and neither their PIN nor this phone is locked after too many wrong ones."""
    number, _, pin = keys.partition("*")
    expected = controller.agent_pins.get(number)
    correct = expected is not None and hmac.compare_digest(pin.encode(), expected.encode())
    outcome = controller.pin_lock.attempt(
        agent=number if expected is not None else None,
        phone=phone,
        correct=correct,
        now=time.time(),
    )
    if outcome == "ok":
        return number
    # The PIN itself is never logged.
    log.warning(
        "hot_desk_pin_refused",
        agent=number,
        phone=phone,
        outcome=outcome,
        agent_locked_for=_lock_left(controller, "agent", number),
        phone_locked_for=_lock_left(controller, "phone", phone),
    )
    raise RouterError(f"agent {number!r} or PIN not recognised")


def _lock_left(controller: Controller, kind: Literal["agent", "phone"], name: str) -> int:
    now = time.time()
    return max(0, round(controller.pin_lock.locked_until(kind, name, now) - now))
