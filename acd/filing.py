"""The router's indexes and its matching: what makes a decision cost the same at 100 waiting
callers as at 5,000.

The router (acd/router.py) states the rules and calls `_file_agent` / `_file_call` after every
change to an agent or a caller; this base class keeps the indexes (acd/staffing.py,
acd/lines.py) and the alarms (acd/alarms.py) current, and pairs callers with free agents in
`_dispatch` exactly as the naive loop would (tests/unit/router_reference.py), but looks only
at what changed since the last pairing:

After a pairing no offerable caller has a free qualified agent (each caller, in order, took
one or found none, and agents only became busier). So a new pair needs a newly free agent or a
caller newly offerable (arrived, back from ringing, released, escalated, retry delay over,
hours opened for callbacks). Only those callers' classes, and the classes those agents
qualify for, are merged in global order; a class is one queue's offerable callers accepting
the same level, so only its first caller is ever looked at.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from itertools import count

from acd.alarms import Alarms
from acd.lines import CLASS, OFFER, POSITION, Class, Lines, Place
from acd.queues import QueuesConfig, QueueSpec, Strategy
from acd.staffing import Staffing
from acd.state import Agent, AgentChanged, AgentStatus, Decision, Offer, Waiting
from ivr.hours import BusinessHours

AGENT = "a"  # the alarm's part for an agent; a caller's are their filing's parts (acd.lines)
ANNOUNCING = frozenset((POSITION, OFFER))  # parts whose alarm has the announcements look


class RouterError(Exception):
    """A request that does not fit the state (unknown agent, call already queued...)."""


class Filing:
    """All queues and all agents of the center, indexed (the router's base)."""

    def __init__(self, config: QueuesConfig, hours: BusinessHours | None) -> None:
        self.config = config
        # Callbacks are dialled only while people answer (None: always).
        self.hours = hours
        self.agents: dict[str, Agent] = {}
        self.waiting: dict[str, Waiting] = {}
        # Callbacks an agent took, while the caller's phone rings: back in place if unanswered.
        self.dialing: dict[str, Waiting] = {}
        self.retired: dict[str, QueueSpec] = {}
        self._seq = count()
        self._clock = -math.inf  # the latest `now` seen: what the indexes are filed for
        # Alarms that can change a pairing ring at every event; the others (patience, deadline,
        # overflow, announcements) only change what the tick does, so they wait for it.
        self._alarms = Alarms()
        self._tick_alarms = Alarms()
        self._staffing = Staffing({})
        self._lines = Lines()
        self._agent_alarms: dict[str, float] = {}
        self._ordinal: dict[str, int] = {}  # roster order, for decisions about several agents
        self._wrap_done: set[str] = set()  # wrap-ups over: the next tick ends them
        self._fresh_agents: set[str] = set()  # free since the last pairing
        self._was_open = False  # whether callbacks could be dialled at the last pairing
        self.offers_deferred = False  # callers are being put back after a restart
        self._unservable: set[str] = set()  # queues nobody logged in could ever serve
        self._queues_by_skill: dict[str | None, list[str]] = {}
        self.handle_time: dict[str, float] = {}  # queue -> recent seconds per call (averaged)
        # Per queue, what estimates read of its spec: skill, lowest level, widening steps.
        self._queue_rules: dict[
            str, tuple[QueueSpec, str | None, int, tuple[tuple[float, int], ...]]
        ] = {}

    def _spec(self, queue: str) -> QueueSpec:
        spec = self.config.queues.get(queue) or self.retired.get(queue)
        if spec is None:
            raise RouterError(f"unknown queue {queue!r}")
        return spec

    def is_open(self, now: float) -> bool:
        """Whether people answer now (callbacks are never dialled at night)."""
        return self.hours is None or self.hours.is_open(dt.datetime.fromtimestamp(now, dt.UTC))

    # --- keeping the indexes current
    def _set(self, agent: Agent, status: AgentStatus, now: float, reason: str = "") -> Decision:
        if status == AgentStatus.ready and agent.status != AgentStatus.ready:
            agent.idle_since = now
        agent.status = status
        agent.reason = reason
        self._file_agent(agent)
        return AgentChanged(agent.number, status, reason)

    def _leave(self, call_id: str) -> Waiting | None:
        """The caller is no longer waiting (answered, gone, dropped)."""
        call = self.waiting.pop(call_id, None)
        if call is not None:
            self._lines.remove(call_id)
        return call

    def _advance(self, now: float, ticking: bool = False) -> None:
        """Bring the indexes to `now`: what the clock changed since the last event (all of
        it when `ticking`, else what can change a pairing)."""
        if now < self._clock:  # the clock went back: file everyone anew at the new time
            self._clock = now
            self._file_everyone()
            return
        self._clock = now
        self._ring(self._alarms, now)
        if ticking:
            self._ring(self._tick_alarms, now)

    def _ring(self, alarms: Alarms, now: float) -> None:
        # A tick rings a few hundred announcement alarms: the lookups are hoisted.
        lines, waiting, policy = self._lines, self.waiting, self.config.callback
        every_filed, agent_alarms, rung = lines.filed, self._agent_alarms, lines.rung
        for at, (part, ident) in alarms.ringing(now):
            if part == AGENT:
                if agent_alarms.get(ident) == at:
                    del agent_alarms[ident]
                    self._file_agent(self.agents[ident])
            else:
                filed = every_filed.get(ident)
                if filed is not None and filed.alarms[part] == at:
                    filed.alarms[part] = math.inf
                    if part in ANNOUNCING:  # only ring at a tick, which announces next
                        rung.add(ident)
                        continue
                    call = waiting[ident]
                    moment = lines.refile(part, call, self._spec(call.queue), policy, now)
                    if moment != math.inf:  # inf: nothing to ring
                        self._arm(ident, part, moment)

    def _file_everyone(self) -> None:
        """File every agent and caller anew (new rules, or the clock went back)."""
        specs = {**self.retired, **self.config.queues}
        self._queues_by_skill = {}
        strategies: dict[str | None, set[Strategy]] = {}
        for name, spec in specs.items():
            skill = spec.skill.value if spec.skill else None
            self._queues_by_skill.setdefault(skill, []).append(name)
            strategies.setdefault(skill, set()).add(spec.strategy)
        self._staffing = Staffing(strategies)
        self._queue_rules.clear()
        self._lines = Lines()
        self._alarms.clear()
        self._tick_alarms.clear()
        self._agent_alarms.clear()
        self._wrap_done.clear()
        self._ordinal = {number: i for i, number in enumerate(self.agents)}
        for agent in self.agents.values():
            self._file_agent(agent)
        for call in self.waiting.values():
            self._file_call(call)
        self._unservable = {name for name in specs if not self._servable(name)}
        self._was_open = False

    def _file_agent(self, agent: Agent) -> None:
        """The agent changed (or time did): index them as they are now."""
        now = self._clock
        newly_free, logged_in_changed = self._staffing.file(agent, now)
        if newly_free:
            self._fresh_agents.add(agent.number)
        if logged_in_changed:
            for skill in [*agent.skills, None]:
                for queue in self._queues_by_skill.get(skill, ()):
                    if self._servable(queue):
                        self._unservable.discard(queue)
                    else:
                        self._unservable.add(queue)
        alarm = math.inf
        if agent.status == AgentStatus.ready and agent.reachable and now < agent.skip_until:
            alarm = agent.skip_until
        if agent.status == AgentStatus.wrap_up and now >= agent.wrap_until:
            self._wrap_done.add(agent.number)
        else:
            self._wrap_done.discard(agent.number)
            if agent.status == AgentStatus.wrap_up:
                alarm = min(alarm, agent.wrap_until)
        if now < alarm < self._agent_alarms.get(agent.number, math.inf):
            self._agent_alarms[agent.number] = alarm
            self._alarms.set(alarm, (AGENT, agent.number))

    def _file_call(self, call: Waiting) -> None:
        """The caller changed: index them as they are now."""
        spec = self._spec(call.queue)
        for part, moment in self._lines.file(call, spec, self.config.callback, self._clock):
            self._arm(call.call_id, part, moment)

    def _arm(self, call_id: str, part: str, moment: float) -> None:
        """Ring at `moment` for this part of the caller's filing (unless it rings earlier)."""
        alarms = self._lines.filed[call_id].alarms
        if self._clock < moment < alarms[part]:
            alarms[part] = moment
            (self._alarms if part == CLASS else self._tick_alarms).set(moment, (part, call_id))

    def _servable(self, queue: str) -> bool:
        """Some logged-in agent qualifies now or after this queue's steps (or an overflow)."""
        spec = self._spec(queue)
        if any(step.overflow_to for step in spec.steps):
            return True
        lowest = min([spec.min_level, *(s.min_level for s in spec.steps if s.min_level)])
        skill = spec.skill.value if spec.skill else None
        return self._staffing.count_logged_in(skill, lowest) > 0

    # --- offers wait while a restarted controller puts its waiting callers back
    def defer_offers(self) -> None:
        """Make no offers until `resume_offers`: a restarted controller puts its waiting
        callers back one by one, as each is adopted (in no set order); an agent ready
        meanwhile would be offered whoever came back first, not who waited longest."""
        self.offers_deferred = True

    def resume_offers(self, now: float) -> list[Decision]:
        """Everyone is back in place: pair callers with free agents, in the callers' order."""
        self._advance(now)
        self.offers_deferred = False
        self._fresh_agents.update(self.agents)  # any free agent may pair with anyone now
        return self._dispatch(now)

    # --- the heart: pair waiting calls with qualified free agents
    def _dispatch(self, now: float) -> list[Decision]:
        if self.offers_deferred:  # what became free or offerable stays fresh until resumed
            return []
        lines, staffing = self._lines, self._staffing
        agents, self._fresh_agents = self._fresh_agents, set()
        classes, lines.fresh_classes = lines.fresh_classes, set()
        open_now = bool(lines.callbacks_offerable) and self.is_open(now)
        if open_now and not self._was_open:  # callbacks waited for the opening
            for line in lines.lines.values():
                classes.update(k for k, members in line.classes.items() if k[2] and members)
        self._was_open = open_now
        for number in agents:
            agent = self.agents[number]
            if staffing.is_free(agent, now):
                classes.update(self._classes_for(agent))
        heap: list[tuple[Place, Class]] = []
        for klass in classes:
            members = lines.lines[klass[0]].classes[klass]
            if members and (open_now or not klass[2]) and self._has_free(klass):
                heap.append((members[0], klass))
        heapq.heapify(heap)
        out: list[Decision] = []
        while heap:
            place, klass = heapq.heappop(heap)
            if not self._has_free(klass):  # agents only get busier: never again this time
                continue
            call = self.waiting[place[-1]]
            spec = self._spec(call.queue)
            skill = spec.skill.value if spec.skill else None
            if spec.strategy == Strategy.ring_all:
                for number in staffing.free_qualified(skill, klass[1]):
                    out += self._offer(call, self.agents[number], spec, now)
            else:
                picked = staffing.pick(skill, klass[1], spec.strategy)
                assert picked is not None  # _has_free said so
                out += self._offer(call, self.agents[picked], spec, now)
            members = lines.lines[klass[0]].classes[klass]
            after = members.bisect_right(place)
            if after < len(members):
                heapq.heappush(heap, (members[after], klass))
        return out

    def _offer(self, call: Waiting, agent: Agent, spec: QueueSpec, now: float) -> list[Decision]:
        agent.offered_call = call.call_id
        agent.last_offered_seq = call.seq
        call.offers.add(agent.number)
        self._file_call(call)
        return [
            self._set(agent, AgentStatus.offered, now),
            Offer(call.call_id, agent.number, spec.ring_seconds),
        ]

    def _classes_for(self, agent: Agent) -> list[Class]:
        """The non-empty classes this agent qualifies for."""
        out: list[Class] = []
        lines = self._lines.lines
        skills: list[tuple[str | None, int]] = [*agent.skills.items(), (None, 0)]
        for skill, level in skills:
            for queue in self._queues_by_skill.get(skill, ()):
                line = lines.get(queue)
                if line is not None:
                    out += [k for k, members in line.classes.items() if members and k[1] <= level]
        return out

    def _has_free(self, klass: Class) -> bool:
        spec = self._spec(klass[0])
        return self._staffing.has_free(spec.skill.value if spec.skill else None, klass[1])
