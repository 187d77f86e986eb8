"""Self-service on the line: the caller's identity, record look-ups and voice messages."""

from __future__ import annotations

import asyncio
import datetime as dt

from hotline.caller_line import CallerLine
from hotline.telephony.ari import AriError
from ivr.actions import (
    Action,
    DiscardRecording,
    IdentityChecked,
    Lookup,
    LookupDone,
    SaveVoicemail,
    StartRecording,
    VerifyIdentity,
    VoicemailSaved,
)

# A caller waits no longer than this for the social-insurance system; then "unavailable".
LOOKUP_TIMEOUT = 5.0


async def carry_out(flow: CallerLine, action: Action) -> None:
    """Carry out one self-service action of the menu for this call."""
    ari = flow.services.ari
    post = flow.services.post
    match action:
        case VerifyIdentity(id_number=id_number, password=password):
            try:
                outcome = await asyncio.wait_for(
                    flow.services.citizens.verify(id_number, password, flow.call_id),
                    LOOKUP_TIMEOUT,
                )
            except TimeoutError:
                outcome = "unavailable"
            flow.fact("identity", outcome=outcome)
            post(flow.call_id, IdentityChecked(outcome))
        case Lookup(service=service, key=key):
            post(flow.call_id, await _lookup(flow, service, key))
        case StartRecording(name=name, max_seconds=seconds):
            await ari.request(
                "POST",
                f"/channels/{flow.channel_id}/record",
                {
                    "name": flow.global_id(name),
                    "format": "wav",
                    "maxDurationSeconds": seconds,
                    "maxSilenceSeconds": 10,
                    "terminateOn": "#",
                    "beep": True,
                    "ifExists": "overwrite",
                },
            )
        case DiscardRecording(name=name):
            try:
                await ari.request("DELETE", f"/recordings/stored/{flow.global_id(name)}")
            except AriError as exc:
                if not exc.gone:
                    raise
        case SaveVoicemail(recording=name, seconds=seconds, callback_number=number):
            # Through the journal: kept even while the database is away.
            due = flow.services.voicemail_due(dt.datetime.now(dt.UTC).date())
            flow.fact(
                "voicemail",
                recording=flow.global_id(name),
                seconds=seconds,
                caller=flow.caller_number,
                callback=number or flow.caller_number,
                due_on=due.isoformat(),
            )
            flow.log.info("voicemail_saved", seconds=seconds, due_on=due.isoformat())
            post(flow.call_id, VoicemailSaved(True))


async def _lookup(flow: CallerLine, service: str, key: str) -> LookupDone:
    # Case numbers are our own work orders; everything else is the city's system.
    progress = flow.services.case_progress
    try:
        if service == "case":
            if progress is None:
                raise RuntimeError("work orders need the database")
            data = await asyncio.wait_for(progress(key, flow.caller_number), LOOKUP_TIMEOUT)
        else:
            data = await asyncio.wait_for(
                flow.services.citizens.lookup(service, key), LOOKUP_TIMEOUT
            )
    except Exception as exc:
        flow.log.warning("lookup_failed", service=service, error=str(exc)[:200])
        flow.fact("lookup", service=service, found=False, ok=False)
        return LookupDone(service, None, ok=False)
    flow.fact("lookup", service=service, found=data is not None, ok=True)
    return LookupDone(service, data)
