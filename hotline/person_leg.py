"""One caller's time with the ACD, in the shell: the executor of the Conversation machine.

The machine (acd/conversation.py) decides every phase's reaction to an event on either side;
this module turns router decisions and typed channel events into its inputs and carries out
the actions it returns (a consult's in bridging.py, a callback's in virtual_hold.py). The
survey still runs here.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Generic, TypeVar

import structlog

from acd.callback_leg import Callback
from acd.channel_events import ChannelEvent
from acd.conversation import WITH_CALLER, Conversation
from acd.conversation_actions import (
    AddToBridge,
    AskSurvey,
    Bridge,
    CloseBridge,
    ConversationAction,
    Count,
    DialOutside,
    HandOver,
    HangUpAgent,
    HangUpCaller,
    Log,
    PlayToCaller,
    Record,
    Requeued,
    RingAgent,
    Settle,
    StopRecording,
    Tell,
    TellAgent,
    Whisper,
)
from acd.conversation_rules import announcement_prompts
from acd.router import (
    Announce,
    CancelOffer,
    Decision,
    Moved,
    Offer,
    Overflow,
)
from acd.survey import SurveyAnswered, SurveySession
from hotline.bridging import (
    close_consult_bridge,
    consult_action,
    forget_consult,
    put_through,
    ring_agent,
)
from hotline.caller_line import CallerLine
from hotline.desk import (
    AGENT_VAR,
    QUEUE_VAR,
    SURVEY_VAR,
    Desk,
    QueueEntry,
    hangup_quietly,
    queue_value,
    quietly,
)
from hotline.outside_leg import add_to_bridge, dial_outside, resume_outside
from hotline.reattaching import resume_talking
from hotline.telephony.ari import AriError, event_channel
from hotline.telephony.events import channel_event
from hotline.virtual_hold import CALLBACK_ACTIONS, callback_action
from ivr.actions import DigitPressed, Hangup, Play, PlaybackFinished, StartTimer, StopPlayback

log = structlog.get_logger("desk")
T = TypeVar("T")


class _Conversations(Generic[T]):
    """A PersonLeg attribute that is the Conversation machine's, read and written through."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, leg: PersonLeg, owner: type | None = None) -> T:
        value: T = getattr(leg.conversation, self.name)
        return value

    def __set__(self, leg: PersonLeg, value: T) -> None:
        setattr(leg.conversation, self.name, value)


class PersonLeg:
    """One caller's time with the ACD: the shell around the pure Conversation machine
    (acd/conversation.py), which decides; this carries out its actions on Asterisk, the
    journal and the metrics, and keeps what only the shell knows (bridge, recording,
    announcement, the survey, the virtual hold).
    """

    # Phases in which the caller's hang-up concerns the ACD (offers, a conversation).
    WITH_CALLER: ClassVar[tuple[str, ...]] = WITH_CALLER

    def __init__(
        self,
        *,
        flow: CallerLine,
        desk: Desk,
        queue: str,
        entered: float,
        phase: str = "waiting",
        priority: int = 0,
    ) -> None:
        self.flow = flow
        self.desk = desk
        self.conversation = Conversation(
            router=desk.router,
            call_id=flow.call_id,
            queue=queue,
            entered=entered,
            phase=phase,
            priority=priority,
        )
        self.bridge_id: str | None = None
        self.consult_bridge: str | None = None  # agent and expert, while consulting
        self.recording: str | None = None
        # Experts' legs of consults, recorded on their own channel: channel name, file.
        self.leg_recordings: dict[str, tuple[str, str | None]] = {}
        self.consult_kept = False  # a consult is kept on the caller's channel (bridging.py)
        self.survey: SurveySession | None = None
        self.announcement: str | None = None
        # Kept with the queue's name (QUEUE_VAR): a move to another queue keeps it too.
        self._kept_entry = QueueEntry(entered, priority)

    # The conversation's state, as the shell and the web API read it.
    queue: _Conversations[str] = _Conversations()
    entered: _Conversations[float] = _Conversations()
    phase: _Conversations[str] = _Conversations()
    priority: _Conversations[int] = _Conversations()
    agent: _Conversations[str | None] = _Conversations()
    agent_channel: _Conversations[str | None] = _Conversations()
    answered_at: _Conversations[float] = _Conversations()

    @property
    def hold(self) -> Callback | None:
        """The booked callback (virtual hold), if any."""
        return self.conversation.callback

    @property
    def offers(self) -> dict[str, str]:
        """Agents whose phone rings for this call -> their channel ids."""
        return self.conversation.offers

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
        return self.conversation.awaits_callback

    def next_id(self) -> int:
        """A number for this call's helper channels and playbacks."""
        return self.conversation.next_id()

    async def start(
        self, priority: int, resumed: bool = False, waiting_since: float | None = None
    ) -> None:
        """Enter the queue: hold music, then the router decides (`waiting_since`: a resumed
        caller's wait began at a transfer, not at entry)."""
        ari = self.desk.ari
        self.flow.fact("queued", queue=self.queue)
        if not resumed:
            priority += await self.desk.repeat_bonus(self.flow.caller_number, self.call_id)
            await self._keep_queue(self.queue, QueueEntry(self.entered, priority))
            await ari.start_moh(self.channel)
            self.desk.metrics.calls_offered.labels(self.queue).inc()
        else:
            self._kept_entry = QueueEntry(self.entered, priority, waiting_since)
        self.priority = priority
        actions = self.conversation.enter(time.time(), waiting_since)
        self.flow.log.info("queued", queue=self.queue, priority=priority, resumed=resumed)
        await self.run(actions)
        if resumed:
            # Asterisk runs channel requests in order: an announcement left playing by the
            # dead controller holds this one back, so the caller is back in line first.
            await quietly(ari.start_moh(self.channel))

    async def _keep_queue(self, queue: str, entry: QueueEntry) -> None:
        """The queue and the caller's place in it, kept on the channel for a successor."""
        self._kept_entry = entry
        await self.desk.ari.set_variable(self.channel, QUEUE_VAR, queue_value(queue, entry))

    async def resume_talking(self, saved: str, bridge: dict[str, Any] | None = None) -> bool:
        """After a controller restart: re-attach a conversation that Asterisk kept up."""
        return await resume_talking(self, saved, bridge)

    async def resume_outside(self, saved: str) -> None:
        """After a controller restart: re-attach the caller talking with another
        department (`saved`: what add_to_bridge kept on the caller's channel)."""
        await resume_outside(self, saved)

    async def on_decision(self, decision: Decision) -> None:
        """Carry out a router decision about this call."""
        ari = self.desk.ari
        now = time.time()
        conv = self.conversation
        if getattr(decision, "call_id", self.call_id) != self.call_id:  # a consult request
            await self.run(conv.on_consult_decision(decision, now))
            return
        if isinstance(decision, Overflow) and self.hold is not None:
            due = self.flow.services.voicemail_due(self.desk.local_day(now)).isoformat()
            caller = self.flow.caller_number
            actions = conv.callback_overflow(decision.reason, now, due, caller)
            if actions is not None:
                await self.run(actions)
                return
        match decision:
            case Offer(agent=agent, ring_seconds=ring):
                await self.run(self.conversation.offer(agent, ring))
            case CancelOffer(agent=agent):
                await self.run(self.conversation.cancel_offer(agent))
            case Moved(to_queue=queue):
                await self.run(self.conversation.moved(queue))
                if not self.awaits_callback:
                    await quietly(self._keep_queue(queue, self._kept_entry))
            case Announce(position=position, wait_seconds=seconds, offer_callback=offer):
                if self.phase == "waiting" and self.announcement is None:
                    await self._announce(announcement_prompts(position, seconds, offer))
            case Overflow(reason="max_wait") if conv.callback_instead():
                await self.run(conv.max_wait_callback(now))
            case Overflow(reason=reason):
                self.phase = "done"
                self.flow.fact("overflow", queue=self.queue, reason=reason)
                self.flow.log.info("overflow", queue=self.queue, reason=reason)
                await quietly(ari.request("DELETE", f"/channels/{self.channel}/moh"))
                await self.flow.execute(self.flow.session.overflow_to_voicemail())

    async def _announce(self, prompts: list[str] | tuple[str, ...]) -> None:
        self.announcement = f"{self.call_id}.acd{self.next_id()}"
        await self.play(list(prompts), self.announcement)

    async def play(self, prompts: list[str], playback_id: str) -> None:
        """Play to the caller in place of the hold music (a caller who hung up a moment ago
        is no error: their hang-up is the next event)."""
        ari = self.desk.ari
        await quietly(ari.request("DELETE", f"/channels/{self.channel}/moh"))
        lang = self.flow.session.language
        await quietly(ari.play(self.channel, self.flow.media(prompts), playback_id, lang))

    async def on_agent_event(self, channel_id: str, agent: str, event: ChannelEvent) -> None:
        """Events of an agent's channel (routed here by the controller)."""
        on_line = bool(self.flow.channel_id) or self.hold is None
        actions = self.conversation.on_agent(
            agent, channel_id, event, time.time(), caller_on_line=on_line
        )
        await self.run(actions)

    async def transfer(self, target: str) -> None:
        """The agent hands the caller to another queue (expert seats); RouterError if there
        is no conversation to hand on."""
        await self.run(self.conversation.transfer(target, time.time()))

    async def desk_command(self, command: str, target: str = "") -> None:
        """consult (`target`: the expert queue), complete, three_way, cancel, work_order,
        from the HTTP API; RouterError if not possible now."""
        now = time.time()
        conv = self.conversation
        if command == "consult":
            await self.run(conv.ask_consult(target, now))
        elif command == "work_order":
            await self.run(conv.open_work_order())
        elif command == "consult_timeout":
            await self.run(conv.consult_timed_out(target, now))
        else:
            await self.run(conv.consult_command(command, now))

    async def run(self, actions: list[ConversationAction]) -> None:
        """Carry out the Conversation machine's actions, in order."""
        for action in actions:
            await self._do(action)
        if self.consult_kept and self.conversation.consult is None:
            await forget_consult(self)

    async def _do(self, action: ConversationAction) -> None:
        ari = self.desk.ari
        flow = self.flow
        match action:
            case Tell(decisions=decisions):
                self.desk.apply(decisions)
            case Record(kind=kind, data=data):
                flow.fact(kind, **data)
            case Log(event=event, data=data, level="warning"):
                flow.log.warning(event, **data)
            case Log(event=event, data=data):
                flow.log.info(event, **data)
            case Count(what="offered", queue=queue):
                self.desk.metrics.calls_offered.labels(queue).inc()
            case Count(queue=queue):
                self.desk.metrics.calls_answered.labels(queue).inc()
            case RingAgent(agent=agent, channel=channel, ring_seconds=ring):
                await ring_agent(self, agent, channel, ring)
            case HangUpAgent(channel=channel):
                await hangup_quietly(ari, channel)
            case Whisper(channel=channel, prompts=prompts):
                try:
                    await ari.play(channel, flow.media(prompts, "zh"), f"{channel}.whisper", "zh")
                except AriError as exc:
                    if not exc.gone:
                        raise
                    # The agent's channel is gone: its ChannelDestroyed follows.
            case Bridge(agent=agent, channel=channel, now=now):
                await put_through(self, agent, channel, now)
            case CloseBridge():
                await close_consult_bridge(self)
                if self.bridge_id:
                    await quietly(ari.request("DELETE", f"/bridges/{self.bridge_id}"))
                    self.bridge_id = None
            case StopRecording(agent=agent) if agent in self.leg_recordings:
                name, path = self.leg_recordings.pop(agent)
                self.desk.stop_recording(name, self.call_id, agent, path)
            case StopRecording(agent=agent):
                self.desk.stop_recording(flow.channel_name, self.call_id, agent, self.recording)
                self.recording = None
            case Settle(disposition=disposition):
                flow.settle(disposition)
            case AskSurvey(agent=agent):
                # A restart now asks the survey again, rating this agent (CallFlow.adopt reads
                # this before the queue and agent variables, so they need no clearing).
                await quietly(ari.set_variable(self.channel, SURVEY_VAR, agent))
                await self.ask_survey()
            case Requeued(queue=queue, entered=entered, priority=priority, waiting_since=since):
                await quietly(ari.set_variable(self.channel, AGENT_VAR, ""))
                entry = QueueEntry(entered, priority, waiting_since=since)
                await quietly(self._keep_queue(queue, entry))
            case PlayToCaller(prompts=prompts):
                await self._announce(prompts)
            case HandOver():
                await flow.execute(flow.session.hand_over())
            case DialOutside(channel=channel, number=number):
                await dial_outside(self, channel, number)
            case AddToBridge(channel=channel):
                await add_to_bridge(self, channel)
            case HangUpCaller():
                await flow.execute([Hangup("answered")])
            case TellAgent(channel=channel, prompts=prompts):
                playback = f"{channel}.tell{self.next_id()}"
                await quietly(ari.play(channel, flow.media(prompts, "zh"), playback, "zh"))
            case _ if isinstance(action, CALLBACK_ACTIONS):
                await callback_action(self, action)
            case _:
                await consult_action(self, action)

    async def ask_survey(self, agent: str | None = None) -> None:
        """The caller rates the agent (`agent`: after a controller restart, the agent the
        caller was rating; the question is asked again from the start)."""
        if agent is not None:
            self.agent = agent
            self.flow.settle("answered")
        self.phase = "survey"
        self.survey = SurveySession(language=self.flow.session.language)
        await self._survey_actions(self.survey.start())

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
                await self.run(self.conversation.arrange_callback())
            return True
        # Arranging a callback (and hearing it is booked), the caller is with the menu session.
        return self.phase in ("waiting", "talking", "whisper", "consulting", "three_way", "outside")

    async def callback_requested(self, number: str) -> None:
        """The caller confirmed the callback number: the center's book says whether it may
        be booked, the machine (acd/callback_leg.py) what follows."""
        now = time.time()
        verdict = self.desk.callbacks.book(number, self.call_id, self.desk.local_day(now))
        flow = self.flow
        language, caller = flow.session.language, flow.caller_number
        await self.run(self.conversation.callback_booking(verdict, number, now, language, caller))

    async def resume_waiting(self) -> None:
        """The caller arranging a callback stays on the line after all."""
        await self.run(self.conversation.resume_waiting(time.time()))

    def caller_hung_up_for_callback(self) -> None:
        """The caller's first line ended; the call goes on without a channel until called back."""
        self.flow.fact("caller_left_for_callback")
        self.flow.channel_id = ""
        self.flow.hanging_up = False
        self.flow.hangup_requested_by_us = False

    async def on_callback_channel(self, event: dict[str, Any]) -> bool:
        """Events of the call-back channel; False: treat it as the caller's channel now."""
        actions = self.conversation.on_citizen(
            event_channel(event), channel_event(event), time.time()
        )
        if actions is None:
            return False
        await self.run(actions)
        return True

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
        await self.run(self.conversation.caller_left(time.time()))
