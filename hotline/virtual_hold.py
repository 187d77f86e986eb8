"""Virtual hold: the caller hung up and keeps their place; an agent is called first, then them.

The router keeps the call in its place (same entry time and sequence) while nobody is on the
line. When an agent takes it, the agent hears why, and the caller's number is dialled once per
attempt through the trunk, on a channel id derived from the attempt: Asterisk refuses a second
channel with the same id, so an attempt can never dial twice.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from acd.channel_events import ChannelAnswered, ChannelEvent, ChannelHangup
from hotline.desk import hangup_quietly, quietly
from hotline.telephony.ari import AriError
from ivr.speech import digits

if TYPE_CHECKING:
    from hotline.person_leg import PersonLeg

# The segment outcome when the caller's phone rang out, was busy or unreachable.
UNREACHED = "not_reached"


@dataclass
class VirtualHold:
    """One caller's callback: the number, the attempts, the channel being dialled."""

    leg: PersonLeg
    number: str
    attempt: int = 0
    citizen_channel: str | None = None
    deadline: float = math.inf
    done: bool = False  # the conversation took place (the callback is kept)

    def registered(self, deadline: float) -> None:
        """Stored at once (and restored after a controller restart)."""
        leg = self.leg
        self.deadline = deadline
        leg.flow.fact(
            "callback_requested",
            number=self.number,
            queue=leg.queue,
            entered=leg.entered,
            priority=leg.priority,
            language=leg.flow.session.language,
            caller=leg.flow.caller_number,
            deadline=deadline if math.isfinite(deadline) else None,
        )
        leg.flow.log.info("callback_requested", number_tail=self.number[-4:], queue=leg.queue)

    async def dial_citizen(self, agent: str, agent_channel: str) -> None:
        """The agent took the callback: tell them, then ring the caller."""
        leg = self.leg
        ari = leg.desk.ari
        policy = leg.desk.router.config.callback
        self.attempt += 1
        channel_id = f"{leg.call_id}-cb{self.attempt}-{leg.next_id()}"
        leg.flow.fact("callback_attempt", agent=agent, attempt=self.attempt)
        leg.flow.log.info("callback_dialling", agent=agent, attempt=self.attempt)
        await quietly(
            ari.play(
                agent_channel,
                leg.flow.media(("callback-whisper", *digits(self.number)), "zh"),
                f"{agent_channel}.cbwhisper",
                "zh",
            )
        )
        self.citizen_channel = channel_id
        leg.desk.citizen_channels[channel_id] = leg.call_id
        try:
            await ari.request(
                "POST",
                "/channels",
                {
                    "endpoint": f"PJSIP/{self.number}@trunk",
                    "app": ari.app,
                    "appArgs": f"callback,{leg.call_id}",
                    "channelId": channel_id,
                    "timeout": int(policy.ring_seconds),
                    "callerId": "12333 <12333>",
                },
            )
        except AriError as exc:
            leg.flow.log.warning("callback_dial_failed", error=str(exc)[:160])
            await self._not_reached("dial_failed")

    async def on_citizen_event(self, channel: str, event: ChannelEvent | None) -> bool:
        """The call-back channel (`event`: None for a kind read only as the caller's line)
        answered or ended; False once it is the caller's line."""
        if channel != self.citizen_channel:
            return True  # an earlier attempt's channel
        if self.leg.phase == "dialing":
            if isinstance(event, ChannelAnswered):
                await self._answered(event)
            elif isinstance(event, ChannelHangup):
                cause = "" if event.cause is None else event.cause
                await self._not_reached(f"cause {cause}")
            return True
        return False

    async def _answered(self, channel: ChannelAnswered) -> None:
        leg = self.leg
        now = time.time()
        assert leg.agent is not None and leg.agent_channel is not None
        leg.desk.apply(leg.desk.router.callback_result(leg.call_id, leg.agent, True, now))
        flow = leg.flow
        flow.channel_id = channel.channel
        flow.channel_name = channel.name
        flow.hanging_up = False
        flow.hangup_requested_by_us = False
        flow.fact("callback_answered", attempt=self.attempt)
        flow.fact("segment_answered", agent=leg.agent)
        leg.desk.metrics.calls_answered.labels(leg.queue).inc()
        await quietly(leg.desk.ari.stop_playback(f"{leg.agent_channel}.cbwhisper"))
        await leg.bridge_now(now)

    async def _not_reached(self, why: str, outcome: str = UNREACHED) -> None:
        """The caller's phone did not answer: the agent is free, the call back in its place."""
        leg = self.leg
        agent, agent_channel = leg.agent, leg.agent_channel
        leg.desk.citizen_channels.pop(self.citizen_channel or "", None)
        self.citizen_channel = None
        leg.agent = leg.agent_channel = None
        leg.phase = "callback"
        leg.flow.fact("callback_attempt_failed", attempt=self.attempt, why=why)
        leg.flow.log.info("callback_not_reached", attempt=self.attempt, why=why)
        if agent is None:
            return
        leg.flow.fact("segment_ended", agent=agent, outcome=outcome)
        if agent_channel:
            await hangup_quietly(leg.desk.ari, agent_channel)
        leg.desk.apply(leg.desk.router.callback_result(leg.call_id, agent, False, time.time()))

    async def agent_left(self) -> None:
        """The agent hung up before the caller answered: stop ringing them; try again later."""
        channel = self.citizen_channel
        leg = self.leg
        if channel:
            leg.desk.citizen_channels.pop(channel, None)
            await hangup_quietly(leg.desk.ari, channel)
        leg.agent_channel = None  # already gone
        await self._not_reached("agent_hangup", outcome="agent_hangup")

    async def gave_up(self, reason: str) -> None:
        """Every attempt failed (or the queue cannot serve it): the call ends as such."""
        leg = self.leg
        leg.phase = "done"
        leg.flow.fact("callback_finished", status="failed", reason=reason, agent=None)
        await self._end("callback_failed", reason)

    async def _end(self, disposition: str, why: str) -> None:
        """The callback is over without a conversation: close the call (and the line, if the
        caller is still on it, hearing that the callback is booked)."""
        leg = self.leg
        leg.desk.callbacks.closed(self.number, leg.call_id)
        leg.flow.settle(disposition)
        if leg.flow.channel_id:
            leg.flow.hangup_requested_by_us = True
            await hangup_quietly(leg.desk.ari, leg.flow.channel_id)
        leg.flow.finish("system", why)

    async def expired(self) -> None:
        """Not made by its deadline: a voice message (a callback request without audio) with
        the promised answer date takes its place, so the citizen is not forgotten."""
        leg = self.leg
        flow = leg.flow
        leg.phase = "done"
        due = flow.services.voicemail_due(leg.desk.local_day(time.time()))
        flow.fact(
            "voicemail",
            recording=None,
            seconds=0,
            caller=flow.caller_number,
            callback=self.number,
            due_on=due.isoformat(),
            origin="callback_expired",
        )
        flow.fact("callback_finished", status="expired", reason="deadline", agent=None)
        flow.log.warning("callback_expired", number_tail=self.number[-4:], due_on=due.isoformat())
        await self._end("callback_expired", "callback_deadline")

    def finished(self, agent: str | None) -> None:
        """The callback conversation took place (at its end, or when the agent hands the
        caller on to another queue: the promise is kept either way)."""
        if self.done:
            return
        self.done = True
        self.leg.flow.fact("callback_finished", status="done", reason="", agent=agent)
        self.leg.desk.callbacks.closed(self.number, self.leg.call_id)
