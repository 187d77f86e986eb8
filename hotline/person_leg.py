"""One caller's time with the ACD: waiting, ringing agents, talking, transfers, the survey.

Kept as one state machine (its phases are listed on PersonLeg) so that every phase's
reaction to a hang-up on either side is in one place; transfers and virtual hold, which
only start from a phase, live in transfer.py and virtual_hold.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import structlog

from acd.queues import whisper_prompt
from acd.router import (
    Announce,
    CancelOffer,
    Decision,
    Moved,
    Offer,
    Overflow,
    RouterError,
)
from acd.survey import SurveyAnswered, SurveySession
from hotline.desk import (
    AGENT_VAR,
    BUSY_CAUSES,
    ENTERED_VAR,
    NO_ANSWER_CAUSES,
    QUEUE_VAR,
    SURVEY_VAR,
    Desk,
    QueueEntry,
    hangup_quietly,
    quietly,
)
from hotline.telephony.ari import AriError
from hotline.transfer import transfer_to_queue
from hotline.virtual_hold import VirtualHold
from ivr.actions import (
    CallbackBooked,
    DigitPressed,
    Hangup,
    Play,
    PlaybackFinished,
    StartTimer,
    StopPlayback,
)
from ivr.speech import digits, integer

if TYPE_CHECKING:
    from hotline.callflow import CallFlow


log = structlog.get_logger("desk")


@dataclass
class PersonLeg:
    """One caller's time with the ACD.

    Phases: waiting → (arranging → callback → dialing →) [whisper →] talking → survey → done.
    """

    # Phases in which the caller's hang-up concerns the ACD (offers, a conversation).
    WITH_CALLER: ClassVar[tuple[str, ...]] = ("waiting", "arranging", "talking", "whisper")

    flow: CallFlow
    desk: Desk
    queue: str
    entered: float
    phase: str = "waiting"
    priority: int = 0
    agent: str | None = None
    agent_channel: str | None = None
    bridge_id: str | None = None
    answered_at: float = 0.0
    recording: str | None = None
    survey: SurveySession | None = None
    announcement: str | None = None
    offers: dict[str, str] = field(default_factory=dict)  # agent -> agent channel id
    hold: VirtualHold | None = None
    agent_keys: str = ""
    max_waited: bool = False  # the callback is being arranged because of max_wait_seconds
    _n: int = 0

    @property
    def call_id(self) -> str:
        """The call's id for good (the router's key), whichever channel the caller is on."""
        return self.flow.call_id

    @property
    def channel(self) -> str:
        """The caller's channel now."""
        return self.flow.channel_id

    @property
    def awaits_callback(self) -> bool:
        """The caller hung up and is called back in their place."""
        return self.phase in ("callback", "dialing")

    def next_id(self) -> int:
        """A number for this call's helper channels and playbacks."""
        self._n += 1
        return self._n

    async def start(
        self, priority: int, resumed: bool = False, waiting_since: float | None = None
    ) -> None:
        """Enter the queue: hold music, then the router decides (`waiting_since`: a resumed
        caller's wait began at a transfer, not at entry)."""
        ari = self.desk.ari
        self.flow.fact("queued", queue=self.queue)
        if not resumed:
            priority += await self.desk.repeat_bonus(self.flow.caller_number, self.call_id)
            await ari.set_variable(self.channel, QUEUE_VAR, self.queue)
            entry = QueueEntry(self.entered, priority)
            await ari.set_variable(self.channel, ENTERED_VAR, entry.encode())
            await ari.start_moh(self.channel)
            self.desk.metrics.calls_offered.labels(self.queue).inc()
        self.priority = priority
        decisions = self.desk.router.enqueue(
            self.call_id,
            self.queue,
            priority,
            time.time(),
            entered=self.entered,
            waiting_since=waiting_since,
        )
        self.flow.log.info("queued", queue=self.queue, priority=priority, resumed=resumed)
        self.desk.apply(decisions)
        if resumed:
            # Asterisk runs channel requests in order: an announcement left playing by the
            # dead controller holds this one back, so the caller is back in line first.
            await quietly(ari.start_moh(self.channel))

    async def resume_talking(self, saved: str, bridge: dict[str, Any] | None = None) -> bool:
        """After a controller restart: re-attach a conversation that Asterisk kept up
        (`bridge`: the call's bridge, if the caller has looked it up already)."""
        agent, channel_id, recording, answered = [*saved.split("|"), "", "", "", ""][:4]
        if bridge is None:
            try:
                bridge = await self.desk.ari.request("GET", f"/bridges/b-{self.call_id}")
            except AriError as exc:
                if exc.gone:
                    return False
                raise
        if channel_id not in bridge.get("channels", []) or agent not in self.desk.router.agents:
            return False
        self.phase = "talking"
        self.agent, self.agent_channel, self.bridge_id = agent, channel_id, bridge["id"]
        self.recording = recording or None
        self.answered_at = float(answered or time.time())
        self.desk.agent_channels[channel_id] = (self.call_id, agent)
        self.desk.apply(self.desk.router.resume_talk(agent, self.call_id, time.time()))
        self.flow.log.info("conversation_resumed", agent=agent, queue=self.queue)
        return True

    async def on_decision(self, decision: Decision) -> None:
        """Carry out a router decision about this call."""
        ari = self.desk.ari
        match decision:
            case Offer(agent=agent, ring_seconds=ring):
                await self._offer(agent, ring)
            case CancelOffer(agent=agent):
                channel = self.offers.pop(agent, None)
                if channel is not None:
                    self.flow.fact("segment_ended", agent=agent, outcome="cancelled")
                    await hangup_quietly(ari, channel)
            case Moved(to_queue=queue):
                self.queue = queue
                self.flow.fact("queued", queue=queue)
                if not self.awaits_callback:
                    await quietly(ari.set_variable(self.channel, QUEUE_VAR, queue))
            case Announce(position=position, wait_seconds=seconds, offer_callback=offer):
                if self.phase == "waiting" and self.announcement is None:
                    prompts: list[str] = []
                    if position:
                        minutes = max(1, round(seconds / 60))
                        prompts += ["queue-position", *integer(position), "queue-position-unit"]
                        prompts += ["queue-wait", *integer(minutes), "minutes"]
                    if offer:
                        prompts.append("callback-offer")
                    self.announcement = f"{self.call_id}.acd{self.next_id()}"
                    await self.play(prompts, self.announcement)
            case Overflow(reason="callback_deadline") if self.hold is not None:
                await self.hold.expired()
            case Overflow(reason=reason) if self.hold is not None and self.awaits_callback:
                await self.hold.gave_up(reason)
            case Overflow(reason="max_wait") if self._callback_instead():
                self.flow.fact("overflow", queue=self.queue, reason="max_wait")
                decisions = self.desk.router.enqueue(
                    self.call_id, self.queue, self.priority, time.time(), self.entered, held=True
                )
                self.desk.apply(decisions)
                if self.call_id in self.desk.router.waiting:  # back in place, held
                    await self._arrange_callback(("queue-long-wait",))
            case Overflow(reason=reason):
                self.phase = "done"
                self.flow.fact("overflow", queue=self.queue, reason=reason)
                self.flow.log.info("overflow", queue=self.queue, reason=reason)
                await quietly(ari.request("DELETE", f"/channels/{self.channel}/moh"))
                await self.flow.execute(self.flow.session.overflow_to_voicemail())

    async def play(self, prompts: list[str], playback_id: str) -> None:
        """Play to the caller in place of the hold music (a caller who hung up a moment ago
        is no error: their hang-up is the next event)."""
        ari = self.desk.ari
        await quietly(ari.request("DELETE", f"/channels/{self.channel}/moh"))
        lang = self.flow.session.language
        await quietly(ari.play(self.channel, self.flow.media(prompts), playback_id, lang))

    async def _offer(self, agent: str, ring: float) -> None:
        channel_id = f"{self.call_id}-{agent}-{self.next_id()}"
        self.offers[agent] = channel_id
        self.desk.agent_channels[channel_id] = (self.call_id, agent)
        self.flow.fact("segment_offered", queue=self.queue, agent=agent)
        shown = self.hold.number if self.hold is not None else self.flow.caller_number
        try:
            await self.desk.ari.request(
                "POST",
                "/channels",
                {
                    "endpoint": f"PJSIP/{self.desk.router.agents[agent].seat}",
                    "app": self.desk.ari.app,
                    "appArgs": f"agent,{self.call_id}",
                    "channelId": channel_id,
                    "timeout": int(ring),
                    "callerId": f"{self.queue} <{shown or '12333'}>",
                },
            )
        except AriError as exc:
            self.flow.log.warning("offer_failed_to_start", agent=agent, error=str(exc)[:120])
            self.offers.pop(agent, None)
            self.desk.agent_channels.pop(channel_id, None)
            self.flow.fact("segment_ended", agent=agent, outcome="unreachable")
            self.desk.apply(
                self.desk.router.offer_failed(self.call_id, agent, "unreachable", time.time())
            )

    async def on_agent_event(self, channel_id: str, agent: str, event: dict[str, Any]) -> None:
        """Events of an agent's channel (routed here by the controller)."""
        kind = event.get("type")
        now = time.time()
        if kind == "StasisStart":
            if self.phase not in ("waiting", "callback") or self.offers.get(agent) != channel_id:
                await hangup_quietly(self.desk.ari, channel_id)  # too late: someone else has it
                return
            await self._answered_by(agent, channel_id, now)
        elif kind == "PlaybackFinished" and self.phase == "whisper" and self.agent == agent:
            await self._bridge(now)
        elif kind == "ChannelDtmfReceived" and self.phase == "talking" and self.agent == agent:
            await self._agent_key(event.get("digit", ""))
        elif kind == "ChannelDestroyed" or kind == "StasisEnd":
            if self.agent == agent and self.agent_channel == channel_id:
                if self.phase == "talking":
                    await self._agent_left(now)
                elif self.phase == "whisper":
                    await self._whisper_refused(now)
                elif self.phase == "dialing" and self.hold is not None:
                    await self.hold.agent_left()
            elif self.offers.get(agent) == channel_id:
                self.offers.pop(agent)
                cause = int(event.get("cause") or 0)
                why = (
                    "lost"  # ended while we were disconnected: we cannot tell how
                    if event.get("lost")
                    else "busy"
                    if cause in BUSY_CAUSES
                    else "no_answer"
                    if cause in NO_ANSWER_CAUSES
                    else "unreachable"
                )
                self.flow.fact("segment_ended", agent=agent, outcome=why)
                self.flow.log.info("offer_failed", agent=agent, why=why, cause=cause)
                self.desk.apply(self.desk.router.offer_failed(self.call_id, agent, why, now))

    async def _answered_by(self, agent: str, channel_id: str, now: float) -> None:
        """The agent picked up: the call leaves the queue; the agent may hear a whisper."""
        ari = self.desk.ari
        callback = self.phase == "callback"
        self.desk.apply(self.desk.router.answered(self.call_id, agent, now))
        self.offers.pop(agent, None)
        self.agent, self.agent_channel, self.answered_at = agent, channel_id, now
        self.flow.log.info("agent_answered", agent=agent, queue=self.queue, callback=callback)
        if callback and self.hold is not None and not self.flow.channel_id:
            self.phase = "dialing"
            await self.hold.dial_citizen(agent, channel_id)
            return
        if callback:
            # Their turn came while they still heard that the callback is booked: no need
            # to dial them, they are on the line.
            self.desk.apply(self.desk.router.callback_result(self.call_id, agent, True, now))
            self.flow.fact("callback_answered", attempt=0)
            await self.flow.execute(self.flow.session.hand_over())
        self.flow.fact("segment_answered", agent=agent)
        self.desk.metrics.calls_answered.labels(self.queue).inc()
        spec = self.desk.router.config.queues.get(self.queue)
        if spec is not None and spec.whisper:
            self.phase = "whisper"
            minutes = max(1, round((now - self.entered) / 60))
            prompts = (whisper_prompt(self.queue), "whisper-waited", *integer(minutes), "minutes")
            try:
                await ari.play(
                    channel_id,
                    self.flow.media(prompts, "zh"),
                    f"{channel_id}.whisper",
                    "zh",
                )
                return
            except AriError as exc:
                if not exc.gone:
                    raise
                return  # the agent's channel is gone: its ChannelDestroyed follows
        await self._bridge(now)

    async def _whisper_refused(self, now: float) -> None:
        """The agent hung up during the whisper: the caller keeps their place."""
        assert self.agent is not None
        self.flow.fact("segment_ended", agent=self.agent, outcome="agent_hangup")
        self.desk.apply(self.desk.router.call_finished(self.agent, self.queue, 0.0, now))
        self.agent = self.agent_channel = None
        hold = self.hold
        if hold is not None and not hold.done:
            # A callback whose turn came while the caller was still on the line: it stays
            # booked, in its place (called back if they hang up meanwhile).
            self.phase = "callback"
            decisions = self.desk.router.enqueue(
                self.call_id,
                self.queue,
                self.priority,
                now,
                self.entered,
                callback=True,
                deadline=hold.deadline,
                attempts=hold.attempt,
            )
        else:
            self.phase = "waiting"
            decisions = self.desk.router.enqueue(
                self.call_id, self.queue, self.priority, now, self.entered
            )
        self.desk.apply(decisions)

    async def _bridge(self, now: float) -> None:
        """Put the caller through to the agent: bridge, record, say the agent's number."""
        ari = self.desk.ari
        assert self.agent is not None and self.agent_channel is not None
        agent, channel_id = self.agent, self.agent_channel
        self.phase = "talking"
        self.answered_at = now
        self.flow.fact("agent", agent=agent)
        self.flow.log.info("connected", agent=agent, queue=self.queue)
        if self.announcement is not None:
            await quietly(ari.stop_playback(self.announcement))
        await quietly(ari.request("DELETE", f"/channels/{self.channel}/moh"))
        if self.bridge_id is None:
            bridge = await ari.request(
                "POST", "/bridges", {"type": "mixing", "bridgeId": f"b-{self.call_id}"}
            )
            self.bridge_id = bridge["id"]
        await ari.request(
            "POST",
            f"/bridges/{self.bridge_id}/addChannel",
            {"channel": f"{self.channel},{channel_id}"},
        )
        self.recording = await self.desk.start_recording(
            self.flow.channel_name, self.call_id, agent, self.flow.log
        )
        # Kept on the caller's channel, so a restarted controller re-attaches this conversation.
        await ari.set_variable(
            self.channel, AGENT_VAR, f"{agent}|{channel_id}|{self.recording or ''}|{now:.3f}"
        )
        if self.desk.greet_with_agent_number:
            media = ",".join(self.flow.media(("agent-intro", *digits(agent), "agent-serving")))
            await quietly(ari.request("POST", f"/bridges/{self.bridge_id}/play", {"media": media}))

    async def _agent_key(self, digit: str) -> None:
        """`*` then a key of `transfers` in queues.yaml hands the caller to that queue."""
        if digit == "*":
            self.agent_keys = "*"
            return
        if self.agent_keys != "*":
            return
        self.agent_keys = ""
        target = self.desk.router.config.transfers.get(digit)
        if target is not None:
            await self.transfer(target)

    async def transfer(self, target: str) -> None:
        """The agent hands the caller to another queue (expert seats)."""
        await transfer_to_queue(self, target)

    async def _agent_left(self, now: float) -> None:
        """The agent hung up first: the caller stays for the satisfaction question."""
        assert self.agent is not None
        self.flow.fact("segment_ended", agent=self.agent, outcome="agent_hangup")
        self.flow.settle("answered")  # also if the caller hangs up during the survey
        self._finished(now)
        if self.bridge_id:
            await quietly(self.desk.ari.request("DELETE", f"/bridges/{self.bridge_id}"))
        # A restart now asks the survey again, rating this agent (CallFlow.adopt reads this
        # before the queue and agent variables, so they need no clearing).
        await quietly(self.desk.ari.set_variable(self.channel, SURVEY_VAR, self.agent))
        await self.ask_survey()

    async def ask_survey(self, agent: str | None = None) -> None:
        """The caller rates the agent (`agent`: after a controller restart, the agent the
        caller was rating; the question is asked again from the start)."""
        if agent is not None:
            self.agent = agent
            self.flow.settle("answered")
        self.phase = "survey"
        self.survey = SurveySession(language=self.flow.session.language)
        await self._survey_actions(self.survey.start())

    def _finished(self, now: float) -> None:
        assert self.agent is not None
        self.desk.apply(
            self.desk.router.call_finished(self.agent, self.queue, now - self.answered_at, now)
        )
        self.desk.stop_recording(self.flow.channel_name, self.call_id, self.agent, self.recording)
        if self.hold is not None:
            self.hold.finished()

    async def on_caller_event(self, event: Any) -> bool:
        """Keys, playbacks and timers of the caller while with the ACD; True when consumed."""
        if self.phase == "survey" and self.survey is not None:
            await self._survey_actions(self.survey.handle(event))
            return True
        if isinstance(event, PlaybackFinished) and self.announcement is not None:
            if event.playback_id == self.announcement.rsplit(".", 1)[-1]:
                self.announcement = None
                if self.phase == "waiting":
                    await quietly(self.desk.ari.start_moh(self.channel))
            return True
        if isinstance(event, DigitPressed) and self.phase == "waiting":
            policy = self.desk.router.config.callback
            if policy.enabled and event.digit == policy.key and not self.offers:
                await self._arrange_callback()
            return True
        # Arranging a callback (and hearing it is booked), the caller is with the menu session.
        return self.phase in ("waiting", "talking", "whisper")

    def _callback_instead(self) -> bool:
        """At max wait: book a callback in the caller's place rather than a voice message."""
        spec = self.desk.router.config.queues.get(self.queue)
        enabled = self.desk.router.config.callback.enabled
        return enabled and spec is not None and spec.on_max_wait == "callback"

    async def _arrange_callback(self, why: tuple[str, ...] = ()) -> None:
        """The caller wants to be called back: hold the place while they give the number."""
        try:
            self.desk.apply(self.desk.router.hold(self.call_id))
        except RouterError:
            return  # an agent is ringing for them right now
        self.phase = "arranging"
        self.max_waited = bool(why)
        ari = self.desk.ari
        if self.announcement is not None:
            await quietly(ari.stop_playback(self.announcement))
            self.announcement = None
        await quietly(ari.request("DELETE", f"/channels/{self.channel}/moh"))
        self.flow.log.info("callback_offered_taken", queue=self.queue)
        await self.flow.execute(self.flow.session.ask_queue_callback(why))

    async def callback_requested(self, number: str) -> None:
        """The caller confirmed the number: booked (they may hang up and keep their place),
        or refused: the number has a callback pending (that one keeps its place, this call
        ends) or has booked enough today (the caller keeps waiting on the line)."""
        now = time.time()
        router = self.desk.router
        verdict = self.desk.callbacks.book(number, self.call_id, self.desk.local_day(now))
        self.flow.log.info("callback_booking", number_tail=number[-4:], verdict=verdict)
        if verdict == "booked":
            deadline = router.callback_deadline(self.queue, now)
            self.hold = VirtualHold(leg=self, number=number)
            self.phase = "callback"
            self.hold.registered(deadline)
            self.desk.apply(router.to_callback(self.call_id, now, deadline))
        elif verdict == "exists":
            self.flow.fact("callback_refused", reason="pending", number=number)
            self.desk.apply(router.caller_left(self.call_id, now))
            self.phase = "done"
            self.flow.settle("callback_duplicate")
        else:
            self.flow.fact("callback_refused", reason="daily_limit", number=number)
            if self.max_waited:  # waiting on is no longer offered: a voice message instead
                await self._to_voicemail_at_max_wait()
                return
        self.desk.post(self.call_id, CallbackBooked(verdict))

    async def _to_voicemail_at_max_wait(self) -> None:
        # (The overflow itself was recorded when max wait was reached.)
        self.desk.apply(self.desk.router.caller_left(self.call_id, time.time()))
        self.phase = "done"
        await self.flow.execute(self.flow.session.overflow_to_voicemail())

    async def resume_waiting(self) -> None:
        """The caller arranging a callback stays on the line after all, in their place (at
        max wait, where waiting on is over, they may leave a voice message instead)."""
        if self.phase != "arranging":
            return
        if self.max_waited:
            await self._to_voicemail_at_max_wait()
            return
        self.phase = "waiting"
        self.flow.log.info("callback_not_booked_waiting_on")
        await quietly(self.desk.ari.start_moh(self.channel))
        self.desk.apply(self.desk.router.release(self.call_id, time.time()))

    def caller_hung_up_for_callback(self) -> None:
        """The caller's first line ended; the call goes on without a channel until called back."""
        self.flow.fact("caller_left_for_callback")
        self.flow.channel_id = ""
        self.flow.hanging_up = False
        self.flow.hangup_requested_by_us = False

    async def on_callback_channel(self, event: dict[str, Any]) -> bool:
        """Events of the call-back channel; False: treat it as the caller's channel now."""
        if self.hold is None:
            return True
        return await self.hold.on_citizen_event(event)

    async def _survey_actions(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, SurveyAnswered):
                self.flow.fact("survey", agent=self.agent, score=action.score)
                self.flow.log.info("survey", agent=self.agent, score=action.score)
            elif isinstance(action, Hangup):
                self.phase = "done"
                self.flow.settle("answered")
                await self.flow.execute([action])
            elif isinstance(action, Play | StartTimer | StopPlayback):
                await self.flow.execute([action])

    async def caller_left(self) -> None:
        """The caller hung up: withdraw offers, or end the conversation."""
        now = time.time()
        ari = self.desk.ari
        if self.phase in ("waiting", "arranging"):
            for decision in self.desk.router.caller_left(self.call_id, now):
                if isinstance(decision, CancelOffer):
                    channel = self.offers.pop(decision.agent, None)
                    if channel:
                        self.flow.fact(
                            "segment_ended", agent=decision.agent, outcome="caller_hangup"
                        )
                        await hangup_quietly(ari, channel)
                else:
                    self.desk.apply([decision])
            self.flow.settle("abandoned")
        elif self.phase in ("talking", "whisper"):
            assert self.agent is not None
            self.flow.fact("segment_ended", agent=self.agent, outcome="caller_hangup")
            self._finished(now)
            if self.agent_channel:
                await hangup_quietly(ari, self.agent_channel)
            if self.bridge_id:
                await quietly(ari.request("DELETE", f"/bridges/{self.bridge_id}"))
            # Gone while the agent heard the whisper: never put through, so not answered.
            self.flow.settle("answered" if self.phase == "talking" else "abandoned")
        self.phase = "done"
