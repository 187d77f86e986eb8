"""The calls the center places about work orders, on Asterisk: the registry of those in
progress. The owner's call-back (hotline/order_call_legs.py: their desk phone is rung first,
then the citizen through the trunk; bridged and recorded, as virtual hold does) and the
follow-up call (hotline/follow_up_call.py: the citizen is asked the satisfaction question).
The rules are pure (acd/order_calls.py); the order's history and follow-up are written by
hotline/order_calls_store.py.

A call's id is `wo<order>-<n>`; its channels are `<id>-a` (the agent's desk phone) and
`<id>-c` (the citizen). Ids with a dash are never adopted as callers after a restart
(Controller.reconcile); the controller posts these channels' events to the call's mailbox
as ("order", call id, item), so a call's channels are only touched by its own consumer.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

from acd.order_calls import FollowUpPolicy
from acd.state import AgentStatus
from acd.work_orders import WorkOrder, WorkOrderError
from hotline.follow_up_call import FollowUpLeg
from hotline.order_call_legs import CallBackLeg
from hotline.telephony.events import channel_event, lost_channel
from ivr.actions import TimerExpired

if TYPE_CHECKING:
    from hotline.controller import Controller


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
