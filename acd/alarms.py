"""Wake-ups at exact moments, so the router never re-reads every caller to see what time did.

An escalation step is reached, a retry delay, a busy agent's skip or a wrap-up ends, a caller's
patience runs out, an announcement is due: each is a moment known in advance. The router sets
an alarm for it and files the caller or agent anew when it rings, instead of scanning everyone
on every tick.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from itertools import count


def first_moment(holds: Callable[[float], bool], guess: float) -> float:
    """The earliest clock reading at which `holds` (true from some moment on) is true.

    `guess` is the moment computed the other way round (`entered + after` for a rule written
    `now - entered >= after`): float rounding can put the true moment an ulp or two either
    side, and an alarm an ulp late would decide differently from the rule itself.
    """
    if math.isnan(guess):  # e.g. never announced (-inf) with an infinite period
        return -math.inf if holds(0.0) else math.inf
    if math.isinf(guess):
        return guess
    moment = guess
    if holds(moment):
        while holds(earlier := math.nextafter(moment, -math.inf)):
            moment = earlier
        return moment
    while not holds(moment):
        moment = math.nextafter(moment, math.inf)
    return moment


class Alarms:
    """Moments at which a caller or an agent must be looked at again, earliest first."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._seq = count()

    def set(self, at: float, key: str) -> None:
        """Ring at `at` for `key` (a caller's or an agent's id, with a kind prefix)."""
        heapq.heappush(self._heap, (at, next(self._seq), key))

    def ringing(self, now: float) -> Iterator[tuple[float, str]]:
        """Every alarm due by `now`, removed as it is yielded."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, key = heapq.heappop(heap)
            yield at, key

    def clear(self) -> None:
        """Forget every alarm (the router files everyone anew)."""
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
