"""The router: one object for the whole center decides which agent takes which call.

Pure and synchronous: events in (a call arrives, an agent is ready, an offer timed out, a
caller hangs up, time passes), decisions out. Every agent state change and call arrival goes
through it, so an agent can never be offered two calls, and escalation steps are evaluated
against the clock for callers already waiting (not frozen when they entered).

This module has the events; its bases have what time does (acd/ticking.py) and the indexes
and the pairing of callers with agents (acd/filing.py), so that no event re-reads every
caller or every agent. Whatever changes an agent or a caller is followed by `_file_agent` /
`_file_call`. The decisions are exactly those of the naive router kept in
tests/unit/router_reference.py (a property test feeds both the same events).
"""

from __future__ import annotations

import datetime as dt
import math

from acd.filing import RouterError
from acd.lines import accepted_level
from acd.queues import QueuesConfig
from acd.roster import AgentEntry
from acd.state import (
    Agent,
    AgentChanged,
    AgentStatus,
    Announce,
    CancelOffer,
    Decision,
    Moved,
    Offer,
    Overflow,
    Waiting,
)
from acd.ticking import DEFAULT_HANDLE_SECONDS, Ticking
from ivr.hours import BusinessHours, closing_time

__all__ = [
    "AgentChanged",
    "AgentStatus",
    "Announce",
    "CancelOffer",
    "Decision",
    "Moved",
    "Offer",
    "Overflow",
    "Router",
    "RouterError",
]


class Router(Ticking):
    """All queues and all agents of the center."""

    def __init__(
        self,
        config: QueuesConfig,
        agents: list[AgentEntry],
        hours: BusinessHours | None = None,
    ) -> None:
        super().__init__(config, hours)
        self.reconfigure(config, agents)

    def reconfigure(
        self, config: QueuesConfig, agents: list[AgentEntry], hours: BusinessHours | None = None
    ) -> None:
        """New queues or roster (and hours); agents and callers keep their state and places.
        A queue that is gone keeps serving the callers already in it, under its last rules."""
        if hours is not None:
            self.hours = hours
        for name, spec in self.config.queues.items():
            if name not in config.queues:
                self.retired[name] = spec
        for name in config.queues:
            self.retired.pop(name, None)
        self.config = config
        for entry in agents:
            skills = {s.value: level for s, level in entry.skills.items()}
            if entry.number in self.agents:
                self.agents[entry.number].skills = skills
            else:
                self.agents[entry.number] = Agent(entry.number, skills)
        self._file_everyone()

    def _agent(self, number: str) -> Agent:
        try:
            return self.agents[number]
        except KeyError as exc:
            raise RouterError(f"unknown agent {number!r}") from exc

    # --- eligibility
    def min_level(self, call: Waiting, now: float) -> int:
        """The lowest skill level accepted for this call now (escalation steps applied)."""
        return accepted_level(self._spec(call.queue), call, now)

    def qualifies(self, agent: Agent, call: Waiting, now: float) -> bool:
        """Whether the agent has the call's skill at the level accepted now."""
        spec = self._spec(call.queue)
        if spec.skill is None:
            return True
        return agent.skills.get(spec.skill.value, 0) >= self.min_level(call, now)

    def callback_deadline(self, queue: str, now: float) -> float:
        """By when a callback booked now in `queue` must be made (end of staffed hours)."""
        if self.hours is None:
            return math.inf
        days = self._spec(queue).callback_within_days
        moment = dt.datetime.fromtimestamp(now, dt.UTC)
        return closing_time(moment, days, self.hours).timestamp()

    def available(self, agent: Agent, now: float) -> bool:
        """Ready, phone reachable, not briefly skipped after a busy signal."""
        return self._staffing.is_free(agent, now)

    # --- agent events
    def at_phone(self, phone: str) -> Agent | None:
        """The agent logged in at this desk phone, if any."""
        sitting = [
            self.agents[n]
            for n in self._staffing.at_seat(phone)
            if self.agents[n].status != AgentStatus.logged_out
        ]
        return min(sitting, key=lambda a: self._ordinal[a.number]) if sitting else None

    def login(self, number: str, now: float, phone: str | None = None) -> list[Decision]:
        """An agent logs in and is ready, at their own desk phone or at `phone` (hot-desking)."""
        self._advance(now)
        agent = self._agent(number)
        seat = phone or number
        sitting = self.at_phone(seat)
        if sitting is not None and sitting is not agent:
            raise RouterError(f"desk phone {seat} is in use by agent {sitting.number}")
        if agent.status in (AgentStatus.offered, AgentStatus.on_call) and agent.seat != seat:
            raise RouterError(f"agent {number} is on a call at desk phone {agent.seat}")
        agent.phone = "" if seat == number else seat
        out: list[Decision] = []
        # Logging in says the phone is there; a failed offer will say otherwise.
        agent.reachable = True
        self._file_agent(agent)
        if agent.status == AgentStatus.logged_out:
            out.append(self._set(agent, AgentStatus.ready, now))
        return out + self._dispatch(now)

    def ready(self, number: str, now: float) -> list[Decision]:
        """Back from a pause (or a manual end of wrap-up)."""
        self._advance(now)
        agent = self._agent(number)
        if agent.status in (AgentStatus.paused, AgentStatus.wrap_up):
            return [self._set(agent, AgentStatus.ready, now), *self._dispatch(now)]
        if agent.status == AgentStatus.logged_out:
            raise RouterError(f"agent {number} is not logged in")
        return []

    def pause(self, number: str, reason: str, now: float) -> list[Decision]:
        """A pause with a reason code; an offer in progress is withdrawn first."""
        self._advance(now)
        agent = self._agent(number)
        if agent.status == AgentStatus.logged_out:
            raise RouterError(f"agent {number} is not logged in")
        out = self._withdraw_offer(agent, now)
        if agent.status in (AgentStatus.on_call,):
            agent.reason = reason  # applies when the call ends
            return out
        return [*out, self._set(agent, AgentStatus.paused, now, reason), *self._dispatch(now)]

    def logout(self, number: str, now: float) -> list[Decision]:
        """Log out (after the current call, if any); stranded callers overflow."""
        self._advance(now)
        agent = self._agent(number)
        out = self._withdraw_offer(agent, now)
        out.append(self._set(agent, AgentStatus.logged_out, now))
        agent.phone = ""
        self._file_agent(agent)
        return out + self._strand_check(now) + self._dispatch(now)

    def endpoint(self, phone: str, reachable: bool, now: float) -> list[Decision]:
        """A desk phone registered or vanished (reconciled with Asterisk's endpoint state):
        it concerns the agent sitting at it (or whose own phone it is, while logged out)."""
        self._advance(now)
        for number in list(self._staffing.at_seat(phone)):
            agent = self.agents[number]
            agent.reachable = reachable
            self._file_agent(agent)
        return self._dispatch(now) if reachable else []

    def _withdraw_offer(self, agent: Agent, now: float) -> list[Decision]:
        if agent.status != AgentStatus.offered or agent.offered_call is None:
            return []
        call = self.waiting.get(agent.offered_call)
        agent.offered_call = None
        out: list[Decision] = []
        if call is not None:
            call.offers.discard(agent.number)
            self._file_call(call)
            out.append(CancelOffer(call.call_id, agent.number))
        return out

    # --- call events
    def enqueue(
        self,
        call_id: str,
        queue: str,
        priority: int,
        now: float,
        entered: float | None = None,
        callback: bool = False,
        held: bool = False,
        deadline: float = math.inf,
        waiting_since: float | None = None,
        attempts: int = 0,
    ) -> list[Decision]:
        """A caller asks for a person. `entered` keeps an earlier place (callbacks, restarts);
        `callback`: a booked callback put back after a restart (it waits for agents, until
        `deadline`, with the `attempts` it already had); `waiting_since`: when max_wait
        starts counting, if not at `entered` (a transferred caller waits anew)."""
        self._advance(now)
        spec = self._spec(queue)
        if call_id in self.waiting:
            raise RouterError(f"call {call_id} is already waiting")
        in_queue = self._lines.count(queue)
        call = Waiting(
            call_id, queue, priority, entered if entered is not None else now, now, next(self._seq)
        )
        call.callback = callback
        call.held = held  # back in line while the caller gives a callback number
        call.deadline = deadline
        call.attempts = attempts
        call.waiting_since = call.entered if waiting_since is None else waiting_since
        if callback:  # escalation steps went on while the callback was stored
            call.queue_entered = call.entered
        if in_queue >= spec.max_waiting and not callback:
            return [Overflow(call_id, queue, "queue_full")]
        if not callback and not self._servable(queue):
            return [Overflow(call_id, queue, "no_agents")]
        self.waiting[call_id] = call
        self._file_call(call)
        return self._dispatch(now)

    def answered(self, call_id: str, number: str, now: float) -> list[Decision]:
        """The agent picked up: the call leaves the queue; other phones stop ringing."""
        self._advance(now)
        agent = self._agent(number)
        call = self._leave(call_id)
        out: list[Decision] = []
        if call is not None:
            for other in sorted(call.offers - {number}):
                peer = self.agents[other]
                peer.offered_call = None
                out.append(CancelOffer(call_id, other))
                out.append(self._set(peer, AgentStatus.ready, now))
        if call is not None and call.callback:
            self.dialing[call_id] = call
        agent.offered_call = None
        agent.current_call = call_id
        agent.calls += 1
        out.append(self._set(agent, AgentStatus.on_call, now))
        return out + self._dispatch(now)

    def resume_talk(self, number: str, call_id: str, now: float) -> list[Decision]:
        """A conversation found still up after a controller restart: the agent is on it."""
        self._advance(now)
        agent = self._agent(number)
        self._leave(call_id)
        agent.current_call = call_id
        agent.offered_call = None
        agent.reachable = True
        return [self._set(agent, AgentStatus.on_call, now)]

    def offer_failed(self, call_id: str, number: str, why: str, now: float) -> list[Decision]:
        """The agent's phone did not take the call: no_answer, busy or unreachable."""
        self._advance(now)
        agent = self._agent(number)
        out: list[Decision] = []
        if agent.offered_call == call_id:
            agent.offered_call = None
            if why == "no_answer":
                out.append(self._set(agent, AgentStatus.paused, now, "no_answer"))
            elif why == "busy":
                agent.skip_until = now + 30
                out.append(self._set(agent, AgentStatus.ready, now))
            elif why == "lost":  # the offer ended unseen (a reconnect): nothing to hold
                out.append(self._set(agent, AgentStatus.ready, now))
            else:
                agent.reachable = False
                out.append(self._set(agent, AgentStatus.ready, now))
        call = self.waiting.get(call_id)
        if call is not None:
            call.offers.discard(number)  # the caller keeps their place: entered/seq unchanged
            self._file_call(call)
        return out + self._strand_check(now) + self._dispatch(now)

    def caller_left(self, call_id: str, now: float) -> list[Decision]:
        """The caller hung up while waiting or ringing: cancel every offer."""
        self._advance(now)
        call = self._leave(call_id)
        if call is None:
            return []
        out: list[Decision] = []
        for number in sorted(call.offers):
            agent = self.agents[number]
            agent.offered_call = None
            out.append(CancelOffer(call_id, number))
            out.append(self._set(agent, AgentStatus.ready, now))
        return out + self._dispatch(now)

    def call_finished(
        self, number: str, queue: str, handle_seconds: float, now: float
    ) -> list[Decision]:
        """The conversation ended: wrap-up for the queue's time, then ready (or the pause)."""
        self._advance(now)
        agent = self._agent(number)
        spec = self._spec(queue)
        agent.current_call = None
        previous = self.handle_time.get(queue, DEFAULT_HANDLE_SECONDS)
        self.handle_time[queue] = 0.8 * previous + 0.2 * max(handle_seconds, 1.0)
        if agent.status == AgentStatus.logged_out:
            return []
        if agent.reason and agent.status == AgentStatus.on_call:
            return [self._set(agent, AgentStatus.paused, now, agent.reason)]
        if spec.wrapup_seconds > 0:
            agent.wrap_until = now + spec.wrapup_seconds
            return [self._set(agent, AgentStatus.wrap_up, now)]
        return [self._set(agent, AgentStatus.ready, now), *self._dispatch(now)]

    def _waiting(self, call_id: str) -> Waiting:
        call = self.waiting.get(call_id)
        if call is None:
            raise RouterError(f"call {call_id} is not waiting")
        return call

    def hold(self, call_id: str) -> list[Decision]:
        """The caller is arranging a callback: no offers meanwhile, the place is kept."""
        call = self._waiting(call_id)
        if call.offers:
            raise RouterError(f"call {call_id} is ringing an agent")
        # A booked callback has nobody on the line to hold; held, it would outlive its deadline.
        call.held = not call.callback
        self._file_call(call)
        return []

    def release(self, call_id: str, now: float) -> list[Decision]:
        """The caller stays on the line after all."""
        self._advance(now)
        call = self._waiting(call_id)
        call.held = False
        self._file_call(call)
        return self._dispatch(now)

    def to_callback(self, call_id: str, now: float, deadline: float = math.inf) -> list[Decision]:
        """The caller chose to be called back: same place, no longer on the line."""
        self._advance(now)
        call = self._waiting(call_id)
        call.callback = True
        call.held = False
        call.deadline = deadline
        self._file_call(call)
        return self._dispatch(now)

    def callback_result(
        self, call_id: str, number: str, reached: bool, now: float
    ) -> list[Decision]:
        """The agent took a callback and the caller's phone answered (or did not).

        Unanswered: the agent is ready again at once and the callback goes back to exactly
        its place (same entry time and sequence), tried again after `retry_after_seconds`,
        at most `attempts` times in all.
        """
        self._advance(now)
        call = self.dialing.pop(call_id, None)
        if reached or call is None:
            return []
        agent = self._agent(number)
        out: list[Decision] = []
        if agent.current_call == call_id:
            agent.current_call = None
            agent.calls = max(0, agent.calls - 1)
            self._file_agent(agent)
            if agent.status == AgentStatus.on_call:
                out.append(self._set(agent, AgentStatus.ready, now))
        policy = self.config.callback
        call.attempts += 1
        if call.attempts >= policy.attempts:
            return [
                *out,
                Overflow(call_id, call.queue, "callback_unanswered"),
                *self._dispatch(now),
            ]
        call.offers = set()
        call.not_before = now + policy.retry_after_seconds
        self.waiting[call_id] = call
        self._file_call(call)
        return out + self._dispatch(now)

    def transfer(
        self,
        call_id: str,
        number: str,
        from_queue: str,
        to_queue: str,
        priority: int,
        entered: float,
        handle_seconds: float,
        now: float,
    ) -> list[Decision]:
        """The agent hands the caller to another queue (expert seats): the agent's part ends
        (wrap-up as usual) and the caller waits there, placed by their first entry time."""
        agent = self._agent(number)
        if agent.current_call != call_id:
            raise RouterError(f"agent {number} is not on call {call_id}")
        self._spec(to_queue)
        finished = self.call_finished(number, from_queue, handle_seconds, now)
        # Placed by the first entry, but the patience limit counts from the transfer.
        return finished + self.enqueue(
            call_id, to_queue, priority, now, entered=entered, waiting_since=now
        )

    def hand_over(self, number: str, from_call: str, to_call: str) -> list[Decision]:
        """A consult completed: the expert, on the consult request `from_call`, is now on
        the caller's call `to_call` (the asking agent's part ended with call_finished)."""
        agent = self._agent(number)
        if agent.current_call != from_call:
            raise RouterError(f"agent {number} is not on call {from_call}")
        agent.current_call = to_call
        self._file_agent(agent)
        return []
