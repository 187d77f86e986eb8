"""Each queue's line of waiting callers, kept in order as callers come and go.

The router files a caller here after every change (and when an alarm rings for them); the
line then answers without re-reading every caller:
- positions (a caller's rank in their queue) by bisection;
- dispatch classes: callers who may be offered now, grouped by queue, the lowest level they
  accept now (escalation steps applied) and whether they are a callback; within a class
  callers are in order and all qualify for the same agents, so only a class's first caller
  needs looking at;
- callers the next tick must look at (patience, callback deadline or an overflow step
  reached), callers who would be stranded if nobody could ever serve their queue, and callers
  whose position or callback offer may be announced.
Every rule here is the router's rule (acd/router.py, tests/unit/router_reference.py) turned
into the moment it starts to hold: the alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from acd.alarms import moment_after
from acd.queues import CallbackPolicy, QueueSpec, Strategy
from acd.state import Waiting

MAX_MOVES = 5  # overflow hops per call, so a loop of queues cannot bounce a call forever

Place = tuple[int, float, int, str]  # Waiting.order() and the call id: a caller's place
Class = tuple[str, int, bool]  # queue, the lowest level accepted now (0: any agent), callback

# The parts of a caller's filing that time changes, each with its own alarm.
CLASS, DUE, POSITION, OFFER = "k", "d", "p", "o"
PARTS = (CLASS, DUE, POSITION, OFFER)

# Where a caller stands for announcements.
BLOCKED = "blocked"  # ringing, held or a callback: never announced meanwhile
TIMER = "timer"  # nothing due before an alarm
FRESH = "fresh"  # due: look at it on the next tick
STUCK = "stuck"  # due, but the position did not improve: look again when someone ahead leaves


def accepted_level(spec: QueueSpec, call: Waiting, now: float) -> int:
    """The lowest skill level accepted for this call now (escalation steps applied)."""
    level = spec.min_level
    for step in spec.steps:
        if now - call.queue_entered >= step.after and step.min_level is not None:
            level = min(level, step.min_level)
    return level


@dataclass(slots=True)
class Filed:
    """How one waiting caller is filed now (to undo exactly that on the next change)."""

    place: Place
    queue: str
    klass: Class | None = None
    strandable: bool = False
    announce: str = BLOCKED
    # Per part, the earliest alarm set and not yet rung (a later one is not set twice).
    alarms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, math.inf))


@dataclass(slots=True)
class Line:
    """One queue's waiting callers."""

    places: SortedList[Place] = field(default_factory=SortedList)
    classes: dict[Class, SortedList[Place]] = field(default_factory=dict)
    strandable: set[str] = field(default_factory=set)
    stuck: SortedList[Place] = field(default_factory=SortedList)
    removed_from: Place | None = None  # the first place vacated since the last announcements


class Lines:
    """Every queue's line, and what the router must look at next."""

    def __init__(self) -> None:
        self.lines: dict[str, Line] = {}
        self.filed: dict[str, Filed] = {}
        self.fresh_classes: set[Class] = set()  # gained a caller since the last dispatch
        self.callbacks_offerable = 0  # callers in callback classes (gated by hours)
        self.overdue: set[str] = set()  # the tick must look at these
        self.announce_due: set[str] = set()  # FRESH callers
        self.offer_due: set[str] = set()  # callers due a callback offer
        # Callers whose position or offer alarm rang at this tick: the announcements look at
        # them (looking at a caller applies the rules themselves, so a stale alarm is harmless).
        self.rung: set[str] = set()
        self._vacated: set[str] = set()  # queues whose line lost someone since announcements

    def file(
        self, call: Waiting, spec: QueueSpec, policy: CallbackPolicy, now: float
    ) -> list[tuple[str, float]]:
        """File the caller as they are at `now`; returns when to look again at each part
        (ALARMS: their dispatch class, what the tick does with them, announcements)."""
        filed = self.filed.get(call.call_id)
        moved = filed is None or filed.queue != call.queue
        if filed is None:
            filed = self.filed[call.call_id] = Filed((*call.order(), call.call_id), call.queue)
            self._line(call.queue).places.add(filed.place)
        elif moved:
            self._leave(filed)
            filed.queue = call.queue
            self._line(call.queue).places.add(filed.place)
        line = self.lines[call.queue]
        strandable = not call.offers and not call.callback
        if strandable != filed.strandable:
            (line.strandable.add if strandable else line.strandable.discard)(call.call_id)
            filed.strandable = strandable
        return [
            (CLASS, self._file_class(filed, call, spec, now)),
            (DUE, self._file_due(call, spec, now)),
            (POSITION, self._file_position(filed, call, spec, now, moved=moved)),
            (OFFER, self._file_offer(call, policy, now)),
        ]

    def refile(
        self, part: str, call: Waiting, spec: QueueSpec, policy: CallbackPolicy, now: float
    ) -> float:
        """Only this part's alarm rang (the caller did not change): file that part anew."""
        filed = self.filed[call.call_id]
        if part == CLASS:
            return self._file_class(filed, call, spec, now)
        if part == DUE:
            return self._file_due(call, spec, now)
        if part == POSITION:
            return self._file_position(filed, call, spec, now)
        return self._file_offer(call, policy, now)

    def announced(
        self, call: Waiting, spec: QueueSpec, policy: CallbackPolicy, now: float
    ) -> list[tuple[str, float]]:
        """The announcements just looked at this caller (and may have announced)."""
        filed = self.filed[call.call_id]
        return [
            (POSITION, self._file_position(filed, call, spec, now, checked=True)),
            (OFFER, self._file_offer(call, policy, now)),
        ]

    def looked_at(
        self, filed: Filed, call: Waiting, spec: QueueSpec, policy: CallbackPolicy, now: float
    ) -> tuple[float, float]:
        """`announced` for a caller the announcements looked at (one with no offer, not a
        callback, not held): when to look again at their position and callback offer."""
        position_at = moment_after(call.announced_at, spec.announce_every_seconds)
        if position_at > now:
            state = TIMER
        else:  # due, looked at, not announced: the position did not improve
            state, position_at = STUCK, math.inf
        if filed.announce != state:
            self._announce_state(filed, state)
        offer_at = math.inf
        if policy.enabled:
            offer_at = moment_after(call.callback_offered_at, policy.offer_every_seconds)
        if offer_at <= now:
            self.offer_due.add(call.call_id)
            offer_at = math.inf
        else:
            self.offer_due.discard(call.call_id)
        return position_at, offer_at

    def _file_class(self, filed: Filed, call: Waiting, spec: QueueSpec, now: float) -> float:
        """Who may be offered now, and which agents qualify."""
        klass: Class | None = None
        alarm = math.inf
        if call.held or (call.offers and spec.strategy != Strategy.ring_all):
            pass
        elif now < call.not_before:
            alarm = call.not_before
        elif spec.skill is None:
            klass = (call.queue, 0, call.callback)
        else:
            level = accepted_level(spec, call, now)
            klass = (call.queue, level, call.callback)
            for step in spec.steps:
                if step.min_level is not None and step.min_level < level:
                    alarm = moment_after(call.queue_entered, step.after)
                    break
        self._classify(filed, klass)
        return alarm

    def _file_due(self, call: Waiting, spec: QueueSpec, now: float) -> float:
        """What the tick does with time: a callback's deadline, patience, an overflow step."""
        if call.callback:
            due = call.deadline
        else:
            due = moment_after(call.waiting_since, spec.max_wait_seconds)
        if call.moves < MAX_MOVES:
            for step in spec.steps:
                if step.overflow_to:
                    due = min(due, moment_after(call.queue_entered, step.after))
                    break
        if due <= now:
            self.overdue.add(call.call_id)
            return math.inf
        self.overdue.discard(call.call_id)
        return due

    def _file_position(
        self,
        filed: Filed,
        call: Waiting,
        spec: QueueSpec,
        now: float,
        *,
        moved: bool = False,
        checked: bool = False,
    ) -> float:
        """Whether the position may be announced: due, or when."""
        if call.offers or call.callback or call.held:
            self._announce_state(filed, BLOCKED)
            return math.inf
        position_at = moment_after(call.announced_at, spec.announce_every_seconds)
        if position_at > now:
            self._announce_state(filed, TIMER)
            return position_at
        if checked:  # due, looked at, not announced: the position did not improve
            self._announce_state(filed, STUCK)
        elif moved or filed.announce in (BLOCKED, TIMER):
            self._announce_state(filed, FRESH)
        return math.inf

    def _file_offer(self, call: Waiting, policy: CallbackPolicy, now: float) -> float:
        """Whether a callback may be offered: due, or when."""
        offer_at = math.inf
        if policy.enabled and not (call.offers or call.callback or call.held):
            offer_at = moment_after(call.callback_offered_at, policy.offer_every_seconds)
        if offer_at <= now:
            self.offer_due.add(call.call_id)
            return math.inf
        self.offer_due.discard(call.call_id)
        return offer_at

    def _announce_state(self, filed: Filed, state: str) -> None:
        if filed.announce == state:
            return
        call_id = filed.place[-1]
        if filed.announce == STUCK:
            self.lines[filed.queue].stuck.remove(filed.place)
        elif filed.announce == FRESH:
            self.announce_due.discard(call_id)
        if state == STUCK:
            self.lines[filed.queue].stuck.add(filed.place)
        elif state == FRESH:
            self.announce_due.add(call_id)
        filed.announce = state

    def _classify(self, filed: Filed, klass: Class | None) -> None:
        if filed.klass == klass:
            return
        line = self.lines[filed.queue]
        if filed.klass is not None:
            line.classes[filed.klass].remove(filed.place)
            self.callbacks_offerable -= filed.klass[2]
        if klass is not None:
            members = line.classes.get(klass)
            if members is None:
                members = line.classes[klass] = SortedList()
            members.add(filed.place)
            self.fresh_classes.add(klass)
            self.callbacks_offerable += klass[2]
        filed.klass = klass

    def _line(self, queue: str) -> Line:
        line = self.lines.get(queue)
        if line is None:
            line = self.lines[queue] = Line()
        return line

    def _leave(self, filed: Filed) -> None:
        """Take the caller out of their queue's line (they left it, or moved)."""
        self._classify(filed, None)
        self._announce_state(filed, BLOCKED)
        line = self.lines[filed.queue]
        line.places.remove(filed.place)
        line.strandable.discard(filed.place[-1])
        filed.strandable = False
        if line.removed_from is None or filed.place < line.removed_from:
            line.removed_from = filed.place
        self._vacated.add(filed.queue)

    def remove(self, call_id: str) -> None:
        """The caller is no longer waiting."""
        filed = self.filed.pop(call_id)
        self._leave(filed)
        self.overdue.discard(call_id)
        self.offer_due.discard(call_id)
        self.rung.discard(call_id)

    def position(self, call_id: str) -> int:
        """1 for the next caller to be served in this caller's queue."""
        filed = self.filed[call_id]
        return int(self.lines[filed.queue].places.bisect_left(filed.place)) + 1

    def count(self, queue: str) -> int:
        """How many callers wait in this queue."""
        line = self.lines.get(queue)
        return len(line.places) if line else 0

    def to_announce(self) -> set[str]:
        """Callers the announcements must look at now: due ones, and stuck ones behind a
        vacated place (a position only improves when someone ahead leaves)."""
        out = self.announce_due | self.offer_due | self.rung
        self.rung.clear()
        for queue in self._vacated:
            line = self.lines[queue]
            if line.stuck and line.removed_from is not None:
                start = line.removed_from
                out.update(place[-1] for place in line.stuck.irange(start, inclusive=(False, True)))
            line.removed_from = None
        self._vacated.clear()
        return out
