"""Wake-ups at exact moments, so the router never re-reads every caller to see what time did.

An escalation step is reached, a retry delay, a busy agent's skip or a wrap-up ends, a caller's
patience runs out, an announcement is due: each is a moment known in advance. The router sets
an alarm for it and files the caller or agent anew when it rings, instead of scanning everyone
on every tick.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator


def moment_after(start: float, seconds: float) -> float:
    """The earliest clock reading `now` at which `now - start >= seconds` holds.

    Rules are written that way (`now - call.queue_entered >= step.after`); in floats the moment
    `start + seconds` can be an ulp or two either side of where the rule starts to hold, and an
    alarm an ulp late would decide differently from the rule itself. -inf: holds already.
    """
    moment = start + seconds
    # The usual case, checked first: the sum is the moment (its predecessor is too early).
    if moment - start >= seconds and not math.nextafter(moment, -math.inf) - start >= seconds:
        return moment
    if not math.isfinite(moment):  # an infinite start or period: the rule holds always or never
        return -math.inf if 0.0 - start >= seconds else math.inf
    if moment - start >= seconds:
        while (earlier := math.nextafter(moment, -math.inf)) - start >= seconds:
            moment = earlier
        return moment
    while not moment - start >= seconds:
        moment = math.nextafter(moment, math.inf)
    return moment


class Alarms:
    """Moments at which a caller or an agent must be looked at again, earliest first.

    Alarms set for the same moment share one entry: callers announced at one tick are all
    due again at one later tick, and a heap entry each would cost more than the looking."""

    def __init__(self) -> None:
        self._moments: list[float] = []  # a heap
        self._due: dict[float, list[tuple[str, str]]] = {}

    def set(self, at: float, key: tuple[str, str]) -> None:
        """Ring at `at` for `key` (what to look at, and whose)."""
        keys = self._due.get(at)
        if keys is None:
            keys = self._due[at] = []
            heapq.heappush(self._moments, at)
        keys.append(key)

    def ringing(self, now: float) -> Iterator[tuple[float, tuple[str, str]]]:
        """Every alarm due by `now`, earliest first, removed as it is yielded."""
        moments = self._moments
        while moments and moments[0] <= now:
            at = heapq.heappop(moments)
            for key in self._due.pop(at):
                yield at, key

    def clear(self) -> None:
        """Forget every alarm (the router files everyone anew)."""
        self._moments.clear()
        self._due.clear()

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._due.values())
