"""The naive router, kept as the oracle for the indexed one (acd/router.py).

A verbatim copy of the router before routing was indexed: it sorts every waiting call and
scans every agent on each event, which is slow at a province's size but obviously right.
tests/unit/test_router_equivalence.py feeds both the same random events and requires the same
decisions; bench/router.py measures both. Do not optimise it: its plainness is the point.
"""

from __future__ import annotations

import datetime as dt
import math
from itertools import count

from acd.queues import QueuesConfig, QueueSpec, Strategy
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

DEFAULT_HANDLE_SECONDS = 180.0  # Shanghai: about 3 minutes a call (DOMAIN.md)
MAX_MOVES = 5  # overflow hops per call, so a loop of queues cannot bounce a call forever


class RouterError(Exception):
    """A request that does not fit the state (unknown agent, call already queued...)."""


class Router:
    """All queues and all agents of the center."""

    def __init__(
        self,
        config: QueuesConfig,
        agents: list[AgentEntry],
        hours: BusinessHours | None = None,
    ) -> None:
        self.config = config
        # Callbacks are dialled only while people answer (None: always).
        self.hours = hours
        self.agents: dict[str, Agent] = {}
        self.waiting: dict[str, Waiting] = {}
        # Callbacks an agent took, while the caller's phone rings: back in place if unanswered.
        self.dialing: dict[str, Waiting] = {}
        self.handle_time: dict[str, float] = {}
        self.retired: dict[str, QueueSpec] = {}
        self._seq = count()
        self.offers_deferred = False
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

    def _spec(self, queue: str) -> QueueSpec:
        spec = self.config.queues.get(queue) or self.retired.get(queue)
        if spec is None:
            raise RouterError(f"unknown queue {queue!r}")
        return spec

    def _agent(self, number: str) -> Agent:
        try:
            return self.agents[number]
        except KeyError as exc:
            raise RouterError(f"unknown agent {number!r}") from exc

    def _set(self, agent: Agent, status: AgentStatus, now: float, reason: str = "") -> Decision:
        if status == AgentStatus.ready and agent.status != AgentStatus.ready:
            agent.idle_since = now
        agent.status = status
        agent.reason = reason
        return AgentChanged(agent.number, status, reason)

    # --- eligibility
    def min_level(self, call: Waiting, now: float) -> int:
        """The lowest skill level accepted for this call now (escalation steps applied)."""
        spec = self._spec(call.queue)
        level = spec.min_level
        for step in spec.steps:
            if now - call.queue_entered >= step.after and step.min_level is not None:
                level = min(level, step.min_level)
        return level

    def qualifies(self, agent: Agent, call: Waiting, now: float) -> bool:
        """Whether the agent has the call's skill at the level accepted now."""
        spec = self._spec(call.queue)
        if spec.skill is None:
            return True
        return agent.skills.get(spec.skill.value, 0) >= self.min_level(call, now)

    def _could_ever_serve(self, call: Waiting) -> bool:
        """Some logged-in agent qualifies now or after this queue's steps (or an overflow)."""
        spec = self._spec(call.queue)
        if any(step.overflow_to for step in spec.steps):
            return True
        levels = [spec.min_level, *(s.min_level for s in spec.steps if s.min_level)]
        lowest = min(levels)
        for agent in self.agents.values():
            if agent.status == AgentStatus.logged_out:
                continue
            if spec.skill is None or agent.skills.get(spec.skill.value, 0) >= lowest:
                return True
        return False

    def is_open(self, now: float) -> bool:
        """Whether people answer now (callbacks are never dialled at night)."""
        return self.hours is None or self.hours.is_open(dt.datetime.fromtimestamp(now, dt.UTC))

    def callback_deadline(self, queue: str, now: float) -> float:
        """By when a callback booked now in `queue` must be made (end of staffed hours)."""
        if self.hours is None:
            return math.inf
        days = self._spec(queue).callback_within_days
        moment = dt.datetime.fromtimestamp(now, dt.UTC)
        return closing_time(moment, days, self.hours).timestamp()

    def available(self, agent: Agent, now: float) -> bool:
        """Ready, phone reachable, not briefly skipped after a busy signal."""
        return agent.status == AgentStatus.ready and agent.reachable and now >= agent.skip_until

    # --- agent events
    def at_phone(self, phone: str) -> Agent | None:
        """The agent logged in at this desk phone, if any."""
        for agent in self.agents.values():
            if agent.status != AgentStatus.logged_out and agent.seat == phone:
                return agent
        return None

    def login(self, number: str, now: float, phone: str | None = None) -> list[Decision]:
        """An agent logs in and is ready, at their own desk phone or at `phone` (hot-desking)."""
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
        if agent.status == AgentStatus.logged_out:
            out.append(self._set(agent, AgentStatus.ready, now))
        return out + self._dispatch(now)

    def ready(self, number: str, now: float) -> list[Decision]:
        """Back from a pause (or a manual end of wrap-up)."""
        agent = self._agent(number)
        if agent.status in (AgentStatus.paused, AgentStatus.wrap_up):
            return [self._set(agent, AgentStatus.ready, now), *self._dispatch(now)]
        if agent.status == AgentStatus.logged_out:
            raise RouterError(f"agent {number} is not logged in")
        return []

    def pause(self, number: str, reason: str, now: float) -> list[Decision]:
        """A pause with a reason code; an offer in progress is withdrawn first."""
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
        agent = self._agent(number)
        out = self._withdraw_offer(agent, now)
        out.append(self._set(agent, AgentStatus.logged_out, now))
        agent.phone = ""
        return out + self._strand_check(now) + self._dispatch(now)

    def endpoint(self, phone: str, reachable: bool, now: float) -> list[Decision]:
        """A desk phone registered or vanished (reconciled with Asterisk's endpoint state):
        it concerns the agent sitting at it (or whose own phone it is, while logged out)."""
        for agent in self.agents.values():
            if agent.seat == phone:
                agent.reachable = reachable
        return self._dispatch(now) if reachable else []

    def _withdraw_offer(self, agent: Agent, now: float) -> list[Decision]:
        if agent.status != AgentStatus.offered or agent.offered_call is None:
            return []
        call = self.waiting.get(agent.offered_call)
        agent.offered_call = None
        out: list[Decision] = []
        if call is not None:
            call.offers.discard(agent.number)
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
        spec = self._spec(queue)
        if call_id in self.waiting:
            raise RouterError(f"call {call_id} is already waiting")
        in_queue = sum(1 for w in self.waiting.values() if w.queue == queue)
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
        if not callback and not self._could_ever_serve(call):
            return [Overflow(call_id, queue, "no_agents")]
        self.waiting[call_id] = call
        return self._dispatch(now)

    def answered(self, call_id: str, number: str, now: float) -> list[Decision]:
        """The agent picked up: the call leaves the queue; other phones stop ringing."""
        agent = self._agent(number)
        call = self.waiting.pop(call_id, None)
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
        agent = self._agent(number)
        self.waiting.pop(call_id, None)
        agent.current_call = call_id
        agent.offered_call = None
        agent.reachable = True
        return [self._set(agent, AgentStatus.on_call, now)]

    def offer_failed(self, call_id: str, number: str, why: str, now: float) -> list[Decision]:
        """The agent's phone did not take the call: no_answer, busy or unreachable."""
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
        return out + self._strand_check(now) + self._dispatch(now)

    def caller_left(self, call_id: str, now: float) -> list[Decision]:
        """The caller hung up while waiting or ringing: cancel every offer."""
        call = self.waiting.pop(call_id, None)
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
        return []

    def release(self, call_id: str, now: float) -> list[Decision]:
        """The caller stays on the line after all."""
        self._waiting(call_id).held = False
        return self._dispatch(now)

    def to_callback(self, call_id: str, now: float, deadline: float = math.inf) -> list[Decision]:
        """The caller chose to be called back: same place, no longer on the line."""
        call = self._waiting(call_id)
        call.callback = True
        call.held = False
        call.deadline = deadline
        return self._dispatch(now)

    def callback_result(
        self, call_id: str, number: str, reached: bool, now: float
    ) -> list[Decision]:
        """The agent took a callback and the caller's phone answered (or did not).

        Unanswered: the agent is ready again at once and the callback goes back to exactly
        its place (same entry time and sequence), tried again after `retry_after_seconds`,
        at most `attempts` times in all.
        """
        call = self.dialing.pop(call_id, None)
        if reached or call is None:
            return []
        agent = self._agent(number)
        out: list[Decision] = []
        if agent.current_call == call_id:
            agent.current_call = None
            agent.calls = max(0, agent.calls - 1)
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

    # --- time
    def tick(self, now: float) -> list[Decision]:
        """Wrap-ups end, escalation steps apply, limits overflow, positions are announced."""
        out: list[Decision] = []
        for agent in self.agents.values():
            if agent.status == AgentStatus.wrap_up and now >= agent.wrap_until:
                out.append(self._set(agent, AgentStatus.ready, now))
        for call in sorted(self.waiting.values(), key=Waiting.order):
            spec = self._spec(call.queue)
            if call.held:
                continue
            if call.callback and now >= call.deadline and not call.offers:
                out += self._drop(call, "callback_deadline", now)
                continue
            # A callback waits for agents, not for the caller's patience: no max_wait; nor is
            # a caller whose agent's phone is ringing right now taken away from it.
            waited = now - call.waiting_since
            if waited >= spec.max_wait_seconds and not call.callback and not call.offers:
                out += self._drop(call, "max_wait", now)
                continue
            for step in spec.steps:
                if (
                    step.overflow_to
                    and now - call.queue_entered >= step.after
                    and call.moves < MAX_MOVES
                    and not call.offers
                ):
                    out.append(Moved(call.call_id, call.queue, step.overflow_to))
                    call.queue = step.overflow_to
                    call.queue_entered = now
                    call.moves += 1
                    break
        out += self._strand_check(now)
        out += self._dispatch(now)
        out += self._announce(now)
        return out

    def _drop(self, call: Waiting, reason: str, now: float) -> list[Decision]:
        out: list[Decision] = [Overflow(call.call_id, call.queue, reason)]
        self.waiting.pop(call.call_id, None)
        for number in sorted(call.offers):
            agent = self.agents[number]
            agent.offered_call = None
            out.append(CancelOffer(call.call_id, number))
            out.append(self._set(agent, AgentStatus.ready, now))
        return out

    def _strand_check(self, now: float) -> list[Decision]:
        out: list[Decision] = []
        for call in sorted(self.waiting.values(), key=Waiting.order):
            if not call.offers and not call.callback and not self._could_ever_serve(call):
                out += self._drop(call, "no_agents", now)
        return out

    def position(self, call_id: str) -> int:
        """1 for the next caller to be served in this call's queue."""
        call = self.waiting[call_id]
        ahead = [
            w for w in self.waiting.values() if w.queue == call.queue and w.order() < call.order()
        ]
        return len(ahead) + 1

    def estimated_wait(self, call_id: str, now: float) -> int:
        """Seconds, from recent handle times and the agents who could take the call."""
        call = self.waiting[call_id]
        staffed = sum(
            1
            for a in self.agents.values()
            if a.status not in (AgentStatus.logged_out, AgentStatus.paused)
            and self.qualifies(a, call, now)
        )
        handle = self.handle_time.get(call.queue, DEFAULT_HANDLE_SECONDS)
        rounds = math.ceil(self.position(call_id) / max(staffed, 1))
        return int(rounds * handle) if staffed else int(self._spec(call.queue).max_wait_seconds)

    def _announce(self, now: float) -> list[Decision]:
        out: list[Decision] = []
        policy = self.config.callback
        for call in sorted(self.waiting.values(), key=Waiting.order):
            if call.offers or call.callback or call.held:
                continue
            spec = self._spec(call.queue)
            position = self.position(call.call_id)
            improved = call.announced is None or position < call.announced
            if improved and now - call.announced_at >= spec.announce_every_seconds:
                call.announced = position
                call.announced_at = now
            else:
                position = 0  # never announce a position that did not improve
            offer = policy.enabled and now - call.callback_offered_at >= policy.offer_every_seconds
            if offer:
                call.callback_offered_at = now
            if position or offer:
                wait = self.estimated_wait(call.call_id, now) if position else 0
                out.append(Announce(call.call_id, position, wait, offer))
        return out

    # --- the heart: pair waiting calls with qualified ready agents
    def _pick(self, spec: QueueSpec, candidates: list[Agent], call: Waiting) -> Agent:
        skill = spec.skill.value if spec.skill else None

        def level(a: Agent) -> int:
            return a.skills.get(skill, 0) if skill else 0

        if spec.strategy == Strategy.best_skill:
            return min(candidates, key=lambda a: (-level(a), a.idle_since, a.number))
        if spec.strategy == Strategy.fewest_calls:
            return min(candidates, key=lambda a: (a.calls, a.idle_since, a.number))
        if spec.strategy == Strategy.round_robin:
            return min(candidates, key=lambda a: (a.last_offered_seq, a.number))
        return min(candidates, key=lambda a: (a.idle_since, a.number))

    def _offer(self, call: Waiting, agent: Agent, spec: QueueSpec, now: float) -> list[Decision]:
        agent.offered_call = call.call_id
        agent.last_offered_seq = call.seq
        call.offers.add(agent.number)
        return [
            self._set(agent, AgentStatus.offered, now),
            Offer(call.call_id, agent.number, spec.ring_seconds),
        ]

    def defer_offers(self) -> None:
        self.offers_deferred = True

    def resume_offers(self, now: float) -> list[Decision]:
        self.offers_deferred = False
        return self._dispatch(now)

    def _dispatch(self, now: float) -> list[Decision]:
        if self.offers_deferred:
            return []
        out: list[Decision] = []
        open_now: bool | None = None  # asked once, and only if a callback waits
        for call in sorted(self.waiting.values(), key=Waiting.order):
            spec = self._spec(call.queue)
            if call.held or now < call.not_before:
                continue
            if call.callback:
                open_now = self.is_open(now) if open_now is None else open_now
                if not open_now:
                    continue
            if call.offers and spec.strategy != Strategy.ring_all:
                continue
            candidates = [
                a
                for a in self.agents.values()
                if self.available(a, now) and self.qualifies(a, call, now)
            ]
            if not candidates:
                continue
            if spec.strategy == Strategy.ring_all:
                for agent in sorted(candidates, key=lambda a: a.number):
                    out += self._offer(call, agent, spec, now)
            else:
                out += self._offer(call, self._pick(spec, candidates, call), spec, now)
        return out
