"""The calls the center places about work orders, on Asterisk: the registry of those in
progress. The owner's call-back (hotline/order_call_legs.py: their desk phone is rung first,
then the citizen through the trunk; bridged and recorded, as virtual hold does) and the
follow-up call (hotline/follow_up_call.py: the citizen is asked the satisfaction question).
The rules are pure (acd/order_calls.py); the order's history and follow-up are written by
hotline/order_calls_store.py.

A call's id is `wo<order>-<run id><n>`; its channels are `<id>-a` (the agent's desk phone) and
`<id>-c` (the citizen). Ids with a dash are never adopted as callers after a restart
(Controller.reconcile): the calls an earlier run left are taken back as what they are
(hotline/order_call_adoption.py, from what their channels keep). The controller posts
these channels' events to the call's mailbox as ("order", call id, item), so a call's
channels are only touched by its own consumer. The call-back's start, in that consumer,
checks the agent again (they may have taken a caller since the click): the request waits
for it, so its refusal is the API's answer.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

import structlog

from acd.order_calls import AgentState, FollowUpPolicy, call_back_refusal
from acd.work_orders import WorkOrder, WorkOrderError
from hotline import order_call_adoption
from hotline.follow_up_call import FollowUpLeg
from hotline.order_call_legs import CallBackLeg
from hotline.telephony.events import channel_event, lost_channel
from ivr.actions import TimerExpired

if TYPE_CHECKING:
    from hotline.controller import Controller

log = structlog.get_logger("order_calls")


# How long the API waits for a call-back's start (its own consumer's first step): the
# agent's state is checked again there, and a refusal then is the API's answer.
START_WAIT = 5.0


class OrderCallRefused(WorkOrderError):
    """A call-back that cannot be placed now (error_id for the API)."""


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
        asked = self.agent_state(agent)
        if asked is None:
            raise OrderCallRefused("unknown_agent", f"agent {agent} is not in the roster")
        self.check_agent(agent, asked)
        if self.busy(order.number):
            raise OrderCallRefused("call_in_progress", "a call about this order is in progress")
        leg = CallBackLeg(
            calls=self,
            call_id=self._call_id(order.number),
            order=order.number,
            number=order.callback_number,
            agent=agent,
            asked=asked,
        )
        leg.started = started = asyncio.get_running_loop().create_future()
        started.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen if late
        self.calls[leg.call_id] = leg
        self.post(leg.call_id, "start")
        # The start checks the agent again (CallBackLeg.start): its refusal is our answer.
        try:
            await asyncio.wait_for(asyncio.shield(started), START_WAIT)
        except TimeoutError:  # a busy loop: it starts later (a refusal then is only logged)
            log.warning("order_call_start_late", call=leg.call_id, order=order.number)
        return leg.call_id

    def agent_state(self, agent: str) -> AgentState | None:
        """The agent's status and pause reason now (None: not in the roster)."""
        desk = self.controller.desk
        state = desk.router.agents.get(agent) if desk is not None else None
        return None if state is None else (state.status, state.reason)

    def check_agent(self, agent: str, asked: AgentState, call_id: str = "") -> None:
        """OrderCallRefused unless the agent's desk phone may be rung for a call-back now
        (`asked`: their state when the call-back was asked for; `call_id`: that call-back)."""
        now = self.agent_state(agent)
        if now is None:
            raise OrderCallRefused("unknown_agent", f"agent {agent} is not in the roster")
        calling_back = any(
            isinstance(leg, CallBackLeg) and leg.agent == agent and leg.call_id != call_id
            for leg in self.calls.values()
        )
        refusal = call_back_refusal(now, asked, calling_back)
        if refusal is not None:
            raise OrderCallRefused(*refusal)

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

    async def adopt(self, channels: list[dict[str, Any]]) -> list[str]:
        """After a (re)connect: the calls an earlier run left among Asterisk's `channels`
        (every channel: a ringing one is not in the application) resume here."""
        return await order_call_adoption.adopt(self, channels)

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
        elif item == "resume":
            await leg.resume()
        elif isinstance(item, TimerExpired):
            await leg.on("", item)
        else:
            channel_id, event = item
            await leg.on(channel_id, event)
        over = leg.ended if isinstance(leg, FollowUpLeg) else leg.machine.phase == "done"
        if over:
            self.calls.pop(call_id, None)
        return over
