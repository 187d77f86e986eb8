"""The center's calls about work orders, on Asterisk: the owner's call-back (their desk phone
is rung first, then the citizen through the trunk; bridged and recorded, as virtual hold
does) and the follow-up call (the citizen is asked the satisfaction question). The rules are
pure (acd/order_calls.py); the order's history and follow-up are written by
hotline/order_calls_store.py.

A call's id is `wo<order>-<n>`; its channels are `<id>-a` (the agent's desk phone) and
`<id>-c` (the citizen). Ids with a dash are never adopted as callers after a restart
(Controller.reconcile); the controller posts these channels' events to the call's mailbox
as ("order", item), so a call's channels are only touched by its own consumer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from acd.channel_events import ChannelAnswered, ChannelHangup, KeyPressed, PlaybackDone
from acd.order_calls import (
    CallBack,
    DialCitizen,
    Finished,
    FollowUpAttempt,
    FollowUpPolicy,
    HangUp,
    OrderCallAction,
    PutThrough,
    Side,
    after_attempt,
)
from acd.state import AgentStatus
from acd.survey import SurveyAnswered, SurveySession
from acd.work_orders import WorkOrder, WorkOrderError
from hotline import order_calls_store
from hotline.desk import Desk, hangup_quietly, quietly
from hotline.store.journal import Fact
from hotline.telephony.ari import AriError
from hotline.telephony.events import channel_event, lost_channel
from hotline.work_orders_store import Actor
from ivr.actions import (
    DigitPressed,
    Hangup,
    Play,
    PlaybackFinished,
    StartTimer,
    StopPlayback,
    TimerExpired,
)
from ivr.speech import digits

if TYPE_CHECKING:
    from hotline.controller import Controller

log = structlog.get_logger("order_calls")

PAUSE_REASON = "work_order_call"  # the agent's state while their call-back is placed
SEGMENT_QUEUE = "work_order"  # call_segments.queue of a call-back (no `calls` row: not inbound)
CENTER_ID = "12333 <12333>"


class OrderCallRefused(WorkOrderError):
    """A call-back that cannot be placed now (error_id for the API)."""


@dataclass
class _Leg:
    """What both kinds of call share: ids, the journal, the channels."""

    calls: OrderCalls
    call_id: str
    order: str
    number: str

    @property
    def desk(self) -> Desk:
        desk = self.calls.controller.desk
        assert desk is not None
        return desk

    def channel(self, side: Side) -> str:
        return f"{self.call_id}-{side[0]}"

    def fact(self, kind: str, **data: Any) -> None:
        self.desk.journal.record(Fact(channel_id=self.call_id, kind=kind, data=data))

    def media(self, prompts: tuple[str, ...]) -> list[str]:
        sounds = self.calls.controller.config.sounds_dir
        return [f"sound:{sounds / 'zh' / p}" for p in prompts]

    async def dial(self, side: Side, endpoint: str, caller_id: str, ring: int) -> bool:
        """Place one of the call's channels; False if Asterisk refused."""
        channel = self.channel(side)
        self.calls.channels[channel] = self.call_id
        ari = self.desk.ari
        try:
            await ari.request(
                "POST",
                "/channels",
                {
                    "endpoint": endpoint,
                    "app": ari.app,
                    "appArgs": f"ordercall,{self.call_id}",
                    "channelId": channel,
                    "timeout": ring,
                    "callerId": caller_id,
                },
            )
        except AriError as exc:
            log.warning(
                "order_call_dial_failed", call=self.call_id, side=side, error=str(exc)[:160]
            )
            self.calls.channels.pop(channel, None)
            return False
        return True


@dataclass
class CallBackLeg(_Leg):
    """The owner's call-back: desk phone first, then the citizen; bridged and recorded."""

    agent: str = ""
    machine: CallBack = field(default_factory=CallBack)
    citizen_name: str = ""
    bridge_id: str | None = None
    recording: str | None = None
    paused_from: tuple[AgentStatus, str] | None = None

    async def start(self) -> None:
        """Ring the agent's desk phone (they hear who is called once they answer)."""
        router = self.desk.router
        self.fact("work_order_call", order=self.order, agent=self.agent)
        self.fact("segment_offered", queue=SEGMENT_QUEUE, agent=self.agent)
        seat = self.agent
        state = router.agents.get(self.agent)
        if state is not None and state.status is not AgentStatus.logged_out:
            seat = state.seat
            # No caller is offered to the agent meanwhile: they are busy with this one.
            self.paused_from = (state.status, state.reason)
            self.desk.apply(router.pause(self.agent, PAUSE_REASON, time.time()))
        log.info("order_call_back", call=self.call_id, order=self.order, agent=self.agent)
        ring = int(router.config.callback.ring_seconds)
        shown = f"work-order <{self.number}>"
        if not await self.dial("agent", f"PJSIP/{seat}", shown, ring):
            await self.run(self.machine.dial_failed(time.time()))

    async def on(self, channel: str, event: Any) -> None:
        """An event of the agent's or the citizen's channel."""
        side: Side = "agent" if channel == self.channel("agent") else "citizen"
        if isinstance(event, ChannelAnswered) and side == "citizen":
            self.citizen_name = event.name
        await self.run(self.machine.on(side, event, time.time()))

    async def run(self, actions: list[OrderCallAction]) -> None:
        """Carry out the machine's actions in order."""
        ari = self.desk.ari
        for action in actions:
            match action:
                case DialCitizen():
                    agent_channel = self.channel("agent")
                    await quietly(
                        ari.play(
                            agent_channel,
                            self.media(("callback-whisper", *digits(self.number))),
                            f"{agent_channel}.whisper",
                            "zh",
                        )
                    )
                    ring = int(self.desk.router.config.callback.ring_seconds)
                    endpoint = f"PJSIP/{self.number}@trunk"
                    if not await self.dial("citizen", endpoint, CENTER_ID, ring):
                        await self.run(self.machine.dial_failed(time.time()))
                case PutThrough():
                    await self._put_through()
                case HangUp(side=side):
                    await hangup_quietly(ari, self.channel(side))
                case Finished(outcome=outcome, talked_seconds=talked):
                    await self._finished(outcome, talked)

    async def _put_through(self) -> None:
        ari = self.desk.ari
        await quietly(ari.stop_playback(f"{self.channel('agent')}.whisper"))
        bridge = await ari.request(
            "POST", "/bridges", {"type": "mixing", "bridgeId": f"b-{self.call_id}"}
        )
        self.bridge_id = bridge["id"]
        both = f"{self.channel('citizen')},{self.channel('agent')}"
        await ari.request("POST", f"/bridges/{self.bridge_id}/addChannel", {"channel": both})
        self.fact("segment_answered", agent=self.agent)
        self.recording = await self.desk.start_recording(
            self.citizen_name, self.call_id, self.agent, log
        )

    async def _finished(self, outcome: str, talked: float) -> None:
        desk, detail = self.desk, self.machine.detail
        self.fact("segment_ended", agent=self.agent, outcome=outcome)
        self.fact(
            "work_order_call_ended",
            order=self.order,
            outcome=outcome,
            detail=detail,
            seconds=round(talked, 1),
        )
        log.info("order_call_back_ended", call=self.call_id, outcome=outcome, detail=detail)
        desk.stop_recording(self.citizen_name, self.call_id, self.agent, self.recording)
        if self.bridge_id is not None:
            await quietly(desk.ari.request("DELETE", f"/bridges/{self.bridge_id}"))
        self._release_agent()
        note = f"call-back {self.call_id} by {self.agent}: {outcome}"
        note += f", {round(talked)} s" if outcome == "talked" else f" ({detail})" if detail else ""
        engine = self.calls.controller.engine
        if engine is not None:
            try:
                await order_calls_store.call_noted(
                    engine,
                    self.order,
                    actor=Actor(f"agent:{self.agent}", "agent"),
                    at=dt.datetime.now(dt.UTC),
                    note=note,
                    reached=outcome == "talked",
                )
            except Exception as exc:  # the call is in the journal; the history lacks a line
                log.warning("order_call_not_noted", order=self.order, error=str(exc)[:200])
        if outcome == "talked":
            self.calls.follow_up_wanted.set()  # its clock starts now

    def _release_agent(self) -> None:
        """Back to what the agent was doing, unless they changed it meanwhile."""
        if self.paused_from is None:
            return
        router = self.desk.router
        state = router.agents.get(self.agent)
        if state is None or (state.status, state.reason) != (AgentStatus.paused, PAUSE_REASON):
            return
        status, reason = self.paused_from
        now = time.time()
        if status is AgentStatus.paused:
            self.desk.apply(router.pause(self.agent, reason, now))
        else:
            self.desk.apply(router.ready(self.agent, now))


@dataclass
class FollowUpLeg(_Leg):
    """The follow-up call: the citizen alone hears the satisfaction question."""

    attempt: int = 1
    policy: FollowUpPolicy = field(default_factory=FollowUpPolicy)
    result: FollowUpAttempt = field(default_factory=FollowUpAttempt)
    survey: SurveySession | None = None
    ended: bool = False
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)

    async def start(self) -> None:
        """Ring the citizen's number through the trunk."""
        self.fact("work_order_follow_up", order=self.order, attempt=self.attempt)
        log.info("order_follow_up", call=self.call_id, order=self.order, attempt=self.attempt)
        endpoint = f"PJSIP/{self.number}@trunk"
        if not await self.dial("citizen", endpoint, CENTER_ID, self.policy.ring_seconds):
            await self._finished()

    async def on(self, channel: str, event: Any) -> None:
        """The citizen's channel, and the survey's timers."""
        if self.ended:
            return
        if isinstance(event, ChannelHangup):
            await self._finished()
            return
        if isinstance(event, ChannelAnswered):
            self.result.answered()
            self.fact("work_order_follow_up_answered", order=self.order, attempt=self.attempt)
            self.survey = SurveySession(language="zh")
            # The survey's question, said first time after why we call; a key during the
            # introduction answers it already.
            await self._survey(
                [
                    dataclasses.replace(a, prompts=("follow-up-intro", *a.prompts))
                    if isinstance(a, Play)
                    else a
                    for a in self.survey.start()
                ]
            )
            return
        if self.survey is None:
            return
        if isinstance(event, PlaybackDone):
            local = event.playback_id.rsplit(".", 1)[-1]
            await self._survey(self.survey.handle(PlaybackFinished(local)))
        elif isinstance(event, KeyPressed):
            await self._survey(self.survey.handle(DigitPressed(event.digit)))
        elif isinstance(event, TimerExpired):
            self.timers.pop(event.token, None)
            await self._survey(self.survey.handle(event))

    async def _play(self, local: str, prompts: tuple[str, ...]) -> None:
        channel = self.channel("citizen")
        await quietly(self.desk.ari.play(channel, self.media(prompts), f"{channel}.{local}", "zh"))

    async def _survey(self, actions: list[Any]) -> None:
        ari = self.desk.ari
        for action in actions:
            match action:
                case SurveyAnswered(score=score):
                    self.result.rated(score)
                    self.fact("work_order_rating", order=self.order, score=score)
                case Play(playback_id=pid, prompts=prompts):
                    await self._play(pid, prompts)
                case StopPlayback(playback_id=pid):
                    await quietly(ari.stop_playback(f"{self.channel('citizen')}.{pid}"))
                case StartTimer(token=token, seconds=seconds):
                    loop = asyncio.get_running_loop()
                    post = self.calls.controller.mailboxes.post
                    item = ("order", self.call_id, TimerExpired(token))
                    self.timers[token] = loop.call_later(seconds, post, self.call_id, item)
                case Hangup():
                    await hangup_quietly(ari, self.channel("citizen"))

    async def _finished(self) -> None:
        self.ended = True
        for timer in self.timers.values():
            timer.cancel()
        verdict = after_attempt(self.result.result, self.attempt, self.policy)
        self.fact(
            "work_order_follow_up_ended",
            order=self.order,
            attempt=self.attempt,
            result=self.result.result,
            verdict=verdict,
            satisfaction=self.result.satisfaction,
        )
        log.info("order_follow_up_ended", order=self.order, result=self.result.result)
        engine = self.calls.controller.engine
        if engine is None:
            return
        try:
            await order_calls_store.follow_up_ended(
                engine,
                self.order,
                verdict=verdict,
                result=self.result.result,
                satisfaction=self.result.satisfaction,
                attempt=self.attempt,
                at=dt.datetime.now(dt.UTC),
            )
        except Exception as exc:  # in the journal; the next scan may ask again
            log.warning("order_follow_up_not_stored", order=self.order, error=str(exc)[:200])


class OrderCalls:
    """The work-order calls in progress, by call id, and their channels."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.calls: dict[str, CallBackLeg | FollowUpLeg] = {}
        self.channels: dict[str, str] = {}  # channel id -> call id
        self.follow_up_wanted = asyncio.Event()  # a call-back reached a citizen: scan now
        self._n = itertools.count(1)

    def _call_id(self, order: str) -> str:
        return f"wo{order}-{self.controller.run_id}{next(self._n)}"

    def busy(self, order: str) -> bool:
        """Whether a call about this order is in progress."""
        return any(leg.order == order for leg in self.calls.values())

    def post(self, call_id: str, item: Any) -> None:
        self.controller.mailboxes.post(call_id, ("order", call_id, item))

    async def call_back(self, order: WorkOrder, agent: str) -> str:
        """Place the owner's call-back; raises OrderCallRefused when it cannot be."""
        desk = self.controller.desk
        if desk is None:
            raise OrderCallRefused("acd_disabled", "no ACD in this controller")
        if not desk.router.config.callback.numbers.allows(order.callback_number):
            raise OrderCallRefused("number_not_allowed", "the number is not one the center dials")
        state = desk.router.agents.get(agent)
        if state is None:
            raise OrderCallRefused("unknown_agent", f"agent {agent} is not in the roster")
        if state.status in (AgentStatus.offered, AgentStatus.on_call):
            raise OrderCallRefused("agent_busy", f"agent {agent} is on a call")
        if self.busy(order.number):
            raise OrderCallRefused("call_in_progress", "a call about this order is in progress")
        leg = CallBackLeg(
            calls=self,
            call_id=self._call_id(order.number),
            order=order.number,
            number=order.callback_number,
            agent=agent,
        )
        self.calls[leg.call_id] = leg
        self.post(leg.call_id, "start")
        return leg.call_id

    async def follow_up(self, order: WorkOrder, attempt: int, policy: FollowUpPolicy) -> str:
        """Place one follow-up attempt (counted already by the caller)."""
        leg = FollowUpLeg(
            calls=self,
            call_id=self._call_id(order.number),
            order=order.number,
            number=order.callback_number,
            attempt=attempt,
            policy=policy,
        )
        self.calls[leg.call_id] = leg
        self.post(leg.call_id, "start")
        return leg.call_id

    def on_ari(self, channel_id: str, event: dict[str, Any]) -> None:
        """From the event reader: a work-order call's channel event, to its mailbox."""
        call_id = self.channels.get(channel_id)
        if call_id is None:
            return
        typed = channel_event(event)
        if event.get("type") == "ChannelDestroyed":
            self.channels.pop(channel_id, None)
        if typed is not None:
            self.post(call_id, (channel_id, typed))

    def lost(self, existing: set[str]) -> None:
        """After a reconnect: channels that ended unseen end their calls as any hang-up."""
        for channel_id, call_id in list(self.channels.items()):
            if channel_id not in existing:
                self.channels.pop(channel_id, None)
                self.post(call_id, (channel_id, lost_channel(channel_id)))

    async def handle(self, call_id: str, item: Any) -> bool:
        """One item of a call's mailbox; True when the call is over."""
        leg = self.calls.get(call_id)
        if leg is None:
            return True
        if item == "start":
            await leg.start()
        elif isinstance(item, TimerExpired):
            await leg.on("", item)
        else:
            channel_id, event = item
            await leg.on(channel_id, event)
        over = leg.ended if isinstance(leg, FollowUpLeg) else leg.machine.phase == "done"
        if over:
            self.calls.pop(call_id, None)
        return over
