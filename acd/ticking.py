"""What time does in the center: wrap-ups end, escalation steps move callers, patience and
callback deadlines run out, nobody is left who could serve a queue, positions are announced.

The router's base for `tick` (acd/router.py has the events). The rules are the naive router's
(tests/unit/router_reference.py); only whom they are applied to changes: the callers and
agents whose alarm rang (acd/alarms.py), not everyone on every tick.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from acd.filing import Filing
from acd.lines import MAX_MOVES, OFFER, POSITION, Filed, Place
from acd.queues import QueueSpec
from acd.state import AgentStatus, Announce, CancelOffer, Decision, Moved, Overflow, Waiting

DEFAULT_HANDLE_SECONDS = 180.0  # Shanghai: about 3 minutes a call (DOMAIN.md)

# Announcements a part of the tick makes at most: at 5,000 waiting a few hundred fall due at
# one tick (about 15 µs each), and the controller takes other events between parts.
ANNOUNCE_PART = 25


class Ticking(Filing):
    """The router's time rules (its base class)."""

    def tick(self, now: float) -> list[Decision]:
        """Wrap-ups end, escalation steps apply, limits overflow, positions are announced."""
        return [d for part in self.tick_in_parts(now) for d in part]

    def tick_in_parts(self, now: float) -> Iterator[list[Decision]]:
        """The tick's decisions, the announcements due in parts of ANNOUNCE_PART callers in
        line order: the controller may take events between parts (a caller who left or
        moved meanwhile is announced as they are then, or not at all)."""
        first = self._tick(now)
        due = self._lines.to_announce()
        filed = self._lines.filed
        order = [e.place[-1] for e in sorted([filed[call_id] for call_id in due], key=_by_place)]
        done = 0
        try:
            for start in range(0, len(order), ANNOUNCE_PART):
                first += self._announce(now, order[start : start + ANNOUNCE_PART])
                done = start + ANNOUNCE_PART
                yield first
                first = []
            if not order:
                yield first
        finally:
            # A tick cut short (an error while a part was acted on): whoever was not looked
            # at is looked at next tick; their alarms rang already and will not ring again.
            self._lines.rung.update(c for c in order[done:] if c in self._lines.filed)

    def _tick(self, now: float) -> list[Decision]:
        self._advance(now, ticking=True)
        out: list[Decision] = []
        for number in sorted(self._wrap_done, key=self._ordinal.__getitem__):
            agent = self.agents[number]
            if agent.status == AgentStatus.wrap_up and now >= agent.wrap_until:
                out.append(self._set(agent, AgentStatus.ready, now))
        # Only callers whose patience, deadline or overflow step is reached (alarms said so).
        filed = self._lines.filed
        for place in sorted(filed[call_id].place for call_id in self._lines.overdue):
            call = self.waiting[place[-1]]
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
                    self._file_call(call)
                    break
        out += self._strand_check(now)
        out += self._dispatch(now)
        return out

    def _drop(self, call: Waiting, reason: str, now: float) -> list[Decision]:
        out: list[Decision] = [Overflow(call.call_id, call.queue, reason)]
        self._leave(call.call_id)
        for number in sorted(call.offers):
            agent = self.agents[number]
            agent.offered_call = None
            out.append(CancelOffer(call.call_id, number))
            out.append(self._set(agent, AgentStatus.ready, now))
        return out

    def _strand_check(self, now: float) -> list[Decision]:
        lines = self._lines
        stranded = [
            lines.filed[call_id].place
            for queue in self._unservable
            if queue in lines.lines
            for call_id in lines.lines[queue].strandable
        ]
        out: list[Decision] = []
        for place in sorted(stranded):
            out += self._drop(self.waiting[place[-1]], "no_agents", now)
        return out

    def position(self, call_id: str) -> int:
        """1 for the next caller to be served in this call's queue."""
        if call_id not in self.waiting:
            raise KeyError(call_id)
        return self._lines.position(call_id)

    def estimated_wait(self, call_id: str, now: float) -> int:
        """Seconds, from recent handle times and the agents who could take the call."""
        call = self.waiting[call_id]
        return self._queue_now(call.queue).estimate(call, self.position(call_id), now)

    def _announce(self, now: float, due: list[str]) -> list[Decision]:
        """Announce to these callers due, in this order (acd/lines.py says who): a few
        hundred at a tick at 5,000 waiting, so the loop looks each queue up once a part and
        touches each caller once."""
        out: list[Decision] = []
        lines = self._lines
        policy = self.config.callback
        offer_on, offer_every = policy.enabled, policy.offer_every_seconds
        waiting, filed, by_queue = self.waiting, lines.filed, lines.lines
        tick_alarms = self._tick_alarms
        queues: dict[str, _Queue] = {}
        for call_id in due:
            entry = filed.get(call_id)
            if entry is None:  # left between two parts of the tick
                continue
            call = waiting[call_id]
            if call.offers or call.callback or call.held:
                continue
            queue = queues.get(call.queue)
            if queue is None:
                queue = queues[call.queue] = self._queue_now(call.queue)
            spec = queue.spec
            position = by_queue[entry.queue].places.bisect_left(entry.place) + 1
            announced = call.announced
            improved = announced is None or position < announced
            if improved and now - call.announced_at >= spec.announce_every_seconds:
                call.announced = position
                call.announced_at = now
            else:
                position = 0  # never announce a position that did not improve
            offer = offer_on and now - call.callback_offered_at >= offer_every
            if offer:
                call.callback_offered_at = now
            if position or offer:
                wait = queue.estimate(call, position, now) if position else 0
                out.append(Announce(call.call_id, position, wait, offer))
            position_at, offer_at = lines.looked_at(entry, call, spec, policy, now)
            alarms = entry.alarms  # as _arm does, with the caller's filing at hand
            if now < position_at < alarms[POSITION]:
                alarms[POSITION] = position_at
                tick_alarms.set(position_at, (POSITION, call.call_id))
            if now < offer_at < alarms[OFFER]:
                alarms[OFFER] = offer_at
                tick_alarms.set(offer_at, (OFFER, call.call_id))
        return out

    def _queue_now(self, name: str) -> _Queue:
        """The queue as estimates see it now (until an agent or a handle time changes)."""
        rules = self._queue_rules.get(name)
        if rules is None:  # once per queue and set of rules (_file_everyone forgets them)
            spec = self._spec(name)
            skill = spec.skill.value if spec.skill else None
            steps = [(st.after, st.min_level) for st in spec.steps if st.min_level is not None]
            rules = (spec, skill, spec.min_level if skill else 0, tuple(steps) if skill else ())
            self._queue_rules[name] = rules
        handle = self.handle_time.get(name, DEFAULT_HANDLE_SECONDS)
        return _Queue(*rules, handle, self._staffing.count_staffed)


@dataclass(slots=True)
class _Queue:
    """What estimates need of a queue, looked up once: announcements ask it for a few hundred
    callers at a tick, while no agent changes."""

    spec: QueueSpec
    skill: str | None
    min_level: int  # 0: any agent
    widening: tuple[tuple[float, int], ...]  # steps lowering the level: (after, min_level)
    handle: float  # recent seconds per call
    count_staffed: Callable[[str | None, int], int]
    staffed: dict[int, int] = field(default_factory=dict)  # by the level accepted

    def level(self, call: Waiting, now: float) -> int:
        """accepted_level (acd/lines.py) for this queue's caller; 0 with no skill."""
        level = self.min_level
        for after, lowered in self.widening:
            if now - call.queue_entered >= after:
                level = min(level, lowered)
        return level

    def estimate(self, call: Waiting, position: int, now: float) -> int:
        """Seconds: rounds of the recent handle time, by the agents who could take the call
        (the queue's patience when nobody could)."""
        level = self.level(call, now)
        staffed = self.staffed.get(level)
        if staffed is None:
            staffed = self.staffed[level] = self.count_staffed(self.skill, level)
        rounds = math.ceil(position / max(staffed, 1))
        return int(rounds * self.handle) if staffed else int(self.spec.max_wait_seconds)


def _by_place(entry: Filed) -> Place:
    return entry.place
