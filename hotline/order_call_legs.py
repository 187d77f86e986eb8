"""One call the center places about a work order, on Asterisk: what every such call does
(its ids, the journal, dialling a channel) and the owner's call-back — their desk phone is
rung first, then the citizen through the trunk; bridged and recorded (the machine is
acd/order_calls.CallBack). The registry is hotline/order_calls.py.

What a restarted controller needs of a call is kept on its channels (ORDER_CALL_VAR, from
the dial on): hotline/order_call_adoption.py finds them and the leg resumes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from acd.channel_events import ChannelAnswered
from acd.order_calls import (
    CallBack,
    DialCitizen,
    Finished,
    HangUp,
    OrderCallAction,
    PutThrough,
    SavedCallBack,
    SavedFollowUp,
    Side,
    resumable,
)
from acd.state import AgentStatus
from acd.work_orders import WorkOrderError
from hotline import order_calls_store
from hotline.desk import RECORDED_BRIDGE, Desk, hangup_quietly, quietly
from hotline.store.journal import Fact
from hotline.telephony.ari import AriClient, AriError
from hotline.work_orders_store import Actor
from ivr.speech import digits

if TYPE_CHECKING:
    from hotline.order_calls import OrderCalls

log = structlog.get_logger("order_calls")

PAUSE_REASON = "work_order_call"  # the agent's state while their call-back is placed
SEGMENT_QUEUE = "work_order"  # call_segments.queue of a call-back (no `calls` row: not inbound)
CENTER_ID = "12333 <12333>"
# What the call is (acd/order_calls.SavedCallBack / SavedFollowUp), on each of its channels.
ORDER_CALL_VAR = "HOTLINE_ORDER_CALL"


@dataclass
class OrderLeg:
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

    def saved(self) -> SavedCallBack | SavedFollowUp:
        """What a restarted controller needs of this call (kept on its channels)."""
        raise NotImplementedError

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
                # Set before it rings: a controller dying meanwhile leaves a call its
                # successor can end cleanly (a ringing channel cannot be given variables).
                body={"variables": {ORDER_CALL_VAR: self.saved().encode()}},
            )
        except AriError as exc:
            log.warning(
                "order_call_dial_failed", call=self.call_id, side=side, error=str(exc)[:160]
            )
            self.calls.channels.pop(channel, None)
            return False
        return True


@dataclass
class CallBackLeg(OrderLeg):
    """The owner's call-back: desk phone first, then the citizen; bridged and recorded."""

    agent: str = ""
    machine: CallBack = field(default_factory=CallBack)
    citizen_name: str = ""
    bridge_id: str | None = None
    recording: str | None = None
    paused_from: tuple[AgentStatus, str] | None = None
    asked: tuple[AgentStatus, str] | None = None  # the agent's state when it was asked for
    started: asyncio.Future[None] | None = None  # told whether it started (the API waits)

    def saved(self) -> SavedCallBack:
        """The call-back as its channels keep it."""
        return SavedCallBack(
            self.order,
            self.agent,
            self.number,
            self.paused_from,
            self.machine.answered_at,
            self.citizen_name,
            self.recording or "",
        )

    async def keep(self) -> None:
        """Keep the call-back as it is now on both its channels (both in Stasis by now)."""
        value = self.saved().encode()
        for side in ("agent", "citizen"):
            await quietly(self.desk.ari.set_variable(self.channel(side), ORDER_CALL_VAR, value))

    async def start(self) -> None:
        """Ring the agent's desk phone (they hear who is called once they answer), unless
        the agent is no longer free: then nothing is dialled and the asker is told why."""
        try:
            if self.asked is not None:
                self.calls.check_agent(self.agent, self.asked, self.call_id)
        except WorkOrderError as exc:
            # Between the click and now the agent took a caller, logged out or paused.
            log.info("order_call_back_refused", call=self.call_id, why=exc.error_id)
            self.machine.refused()
            if self.started is not None and not self.started.done():
                self.started.set_exception(exc)
            return
        if self.started is not None and not self.started.done():
            self.started.set_result(None)
        # Checked above and paused there before any wait: nothing comes in between.
        await self._start()

    async def _start(self) -> None:
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
            "POST", "/bridges", {"type": RECORDED_BRIDGE, "bridgeId": f"b-{self.call_id}"}
        )
        self.bridge_id = bridge["id"]
        both = f"{self.channel('citizen')},{self.channel('agent')}"
        await ari.request("POST", f"/bridges/{self.bridge_id}/addChannel", {"channel": both})
        self.fact("segment_answered", agent=self.agent)
        self.recording = await self.desk.start_recording(
            self.citizen_name, self.call_id, self.agent, log
        )
        # Kept once bridged and recorded (as a caller's conversation is): a successor
        # carries it on and stores the recording; one dying before ends it as interrupted.
        await self.keep()

    async def resume(self) -> None:
        """After a controller restart (hotline/order_call_adoption.py; the leg is built
        from what its channels kept, and they are ours again): a conversation still up
        and bridged is carried on as it was; anything else ends (CallBack.interrupted)."""
        ari = self.desk.ari
        up = {side: await _up(ari, self.channel(side)) for side in ("agent", "citizen")}
        bridged = False
        if self.machine.phase == "talking":
            self.bridge_id = f"b-{self.call_id}"
            try:
                bridge = await ari.request("GET", f"/bridges/{self.bridge_id}")
                both = {self.channel("agent"), self.channel("citizen")}
                bridged = both <= set(bridge.get("channels", []))
            except AriError as exc:
                if not exc.gone:
                    raise
        if resumable(self.machine.phase == "talking", up["agent"], up["citizen"], bridged):
            log.info("order_call_back_resumed", call=self.call_id, agent=self.agent)
            return
        log.info("order_call_back_interrupted", call=self.call_id, phase=self.machine.phase)
        await self.run(self.machine.interrupted(time.time()))

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


async def _up(ari: AriClient, channel_id: str) -> bool:
    """Whether a channel is there and answered."""
    try:
        channel = await ari.get_channel(channel_id)
    except AriError as exc:
        if exc.gone:
            return False
        raise
    return bool(channel.get("state") == "Up")
