"""Erlang C staffing: how many agents each hour needs for a target (KPI.md, "Staffing").

Traffic A = calls per second × AHT (erlangs). P_wait(N, A) is Erlang C; the service level
SL(t) = 1 − P_wait·e^(−(N−A)·t/AHT) and ASA = P_wait·AHT/(N−A). Erlang C assumes Poisson
arrivals, exponential handle times and callers who never give up, so it has no answer rate
of its own: a target answer rate is planned as the share answered within the callers'
patience, SL(patience) — callers who would have waited longer count as lost. (Erlang A,
with abandonment, would fit better; this errs on the side of more agents.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

MAX_AGENTS = 100_000


def erlang_c(agents: int, traffic: float) -> float:
    """The probability that a call waits, with `agents` agents and `traffic` erlangs
    (1.0 when the agents cannot keep up). Computed through Erlang B's recurrence, which
    stays exact where factorials would overflow."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return agents * blocking / (agents - traffic * (1 - blocking))


def service_level(agents: int, traffic: float, aht: float, seconds: float) -> float:
    """The share of calls answered within `seconds`."""
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    waits = erlang_c(agents, traffic)
    return 1.0 - waits * math.exp(-(agents - traffic) * seconds / aht)


def average_speed_of_answer(agents: int, traffic: float, aht: float) -> float:
    """ASA in seconds (infinite when the agents cannot keep up)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * aht / (agents - traffic)


def agents_needed(calls_per_hour: float, aht: float, target: float, seconds: float) -> int:
    """The fewest agents for which SL(`seconds`) ≥ `target` (0 when no calls come).
    ValueError for a target outside (0, 1): 1 or more is never reached."""
    if not 0 < target < 1:
        raise ValueError(f"target must be between 0 and 1 (exclusive), not {target}")
    if calls_per_hour <= 0 or aht <= 0:
        return 0
    traffic = calls_per_hour * aht / 3600.0
    n = max(1, math.floor(traffic) + 1)
    while service_level(n, traffic, aht, seconds) < target:
        n += 1
        if n > MAX_AGENTS:
            raise ValueError("no staffing reaches the target")
    return n


@dataclass(frozen=True)
class HourLoad:
    """One hour of the center's history: calls offered, their AHT, agents there."""

    hour: int
    calls: float
    aht: float
    logged_in: float = 0.0  # average agents logged in over the hour (paused too)
    staffed: float = 0.0  # average agents logged in and not paused


@dataclass(frozen=True)
class HourPlan:
    """What one hour needs beside what it had."""

    hour: int
    calls: float
    aht: float
    traffic: float  # erlangs
    needed: int
    logged_in: float
    staffed: float
    service_level: float  # expected with `needed` agents
    asa: float  # expected with `needed` agents, seconds

    @property
    def short(self) -> float:
        """Agents missing beside those staffed (negative: spare)."""
        return self.needed - self.staffed


def plan(loads: Iterable[HourLoad], target: float = 0.8, seconds: float = 20.0) -> list[HourPlan]:
    """Agents needed each hour for SL(`seconds`) ≥ `target`: 80/20 by default; for an 80%
    answer rate give the callers' patience as `seconds` (see the module's note)."""
    out = []
    for load in loads:
        needed = agents_needed(load.calls, load.aht, target, seconds)
        traffic = load.calls * load.aht / 3600.0
        out.append(
            HourPlan(
                hour=load.hour,
                calls=load.calls,
                aht=load.aht,
                traffic=traffic,
                needed=needed,
                logged_in=load.logged_in,
                staffed=load.staffed,
                service_level=service_level(needed, traffic, load.aht, seconds) if needed else 1.0,
                asa=average_speed_of_answer(needed, traffic, load.aht) if needed else 0.0,
            )
        )
    return out
