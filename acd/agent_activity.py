"""Agents' time by state from their stored state changes, and each wrap-up's call.

A change holds until the agent's next one. Consecutive changes to the same status and reason
(a restarted controller restores an agent as they were) are one stretch. Time is counted in
the period it is spent in: a stretch crossing midnight is split at midnight.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from acd.report_records import AgentStateChange, CallRecord

# Reports read agents' states this far past the period's last call (its wrap-up is after
# it), and a wrap-up never ended (a controller gone, an agent gone home) counts this much at
# most: less than that window, so that a call's wrap-up is the same in any period holding it.
STATES_AFTER_LAST_CALL = dt.timedelta(hours=1)
WRAPUP_LIMIT = dt.timedelta(minutes=30)

# Which agent's leg of which call: (call id, agent, offered at).
LegKey = tuple[str, str, dt.datetime]


@dataclass(frozen=True, slots=True)
class Stretch:
    """An agent in one status (and pause reason) from start to end."""

    agent: str
    status: str
    reason: str
    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> float:
        """Its length."""
        return (self.end - self.start).total_seconds()


@dataclass
class Activity:
    """One agent's time in the period, in seconds."""

    logged_in: float = 0.0
    ready: float = 0.0
    offered: float = 0.0  # a call ringing their phone
    on_call: float = 0.0
    wrap_up: float = 0.0
    paused: float = 0.0
    paused_by_reason: dict[str, float] = field(default_factory=dict)
    logins: int = 0

    @property
    def occupancy(self) -> float | None:
        """Time on calls and wrap-up / time logged in and not paused (KPI.md)."""
        available = self.logged_in - self.paused
        return (self.on_call + self.wrap_up) / available if available > 0 else None


def stretches(changes: Iterable[AgentStateChange], until: dt.datetime) -> list[Stretch]:
    """Each agent's changes as stretches; the last one runs until `until` (the period's end,
    or now for a period still going on)."""
    by_agent: dict[str, list[AgentStateChange]] = defaultdict(list)
    for change in changes:
        by_agent[change.agent].append(change)
    out: list[Stretch] = []
    for agent, rows in by_agent.items():
        rows.sort(key=lambda c: c.at)
        merged: list[AgentStateChange] = []
        for row in rows:
            if merged and (merged[-1].status, merged[-1].reason) == (row.status, row.reason):
                continue  # the same state restored or reported again: one stretch
            merged.append(row)
        for here, after in zip(merged, [*merged[1:], None], strict=True):
            end = after.at if after is not None else max(until, here.at)
            out.append(Stretch(agent, here.status, here.reason, here.at, end))
    return out


def activity(
    stretches_: Iterable[Stretch], start: dt.datetime, end: dt.datetime
) -> dict[str, Activity]:
    """Time per agent and state within [start, end)."""
    out: dict[str, Activity] = defaultdict(Activity)
    for s in stretches_:
        if s.status == "logged_out":
            continue
        seconds = (min(s.end, end) - max(s.start, start)).total_seconds()
        if seconds <= 0:
            continue
        mine = out[s.agent]
        mine.logged_in += seconds
        if s.status == "paused":
            mine.paused += seconds
            mine.paused_by_reason[s.reason] = mine.paused_by_reason.get(s.reason, 0.0) + seconds
        elif s.status in ("ready", "offered", "on_call", "wrap_up"):
            setattr(mine, s.status, getattr(mine, s.status) + seconds)
    return dict(out)


def count_logins(
    changes: Iterable[AgentStateChange], start: dt.datetime, end: dt.datetime
) -> dict[str, int]:
    """Logins within [start, end): a change out of logged_out (or a first change) there."""
    by_agent: dict[str, list[AgentStateChange]] = defaultdict(list)
    for change in changes:
        by_agent[change.agent].append(change)
    out: dict[str, int] = {}
    for agent, rows in by_agent.items():
        rows.sort(key=lambda c: c.at)
        previous = "logged_out"
        n = 0
        for row in rows:
            if previous == "logged_out" and row.status != "logged_out" and start <= row.at < end:
                n += 1
            previous = row.status
        out[agent] = n
    return out


def wrapups(
    calls: Iterable[CallRecord],
    all_stretches: Iterable[Stretch],
    match_seconds: float,
    limit: dt.timedelta = WRAPUP_LIMIT,
) -> dict[LegKey, float]:
    """Each wrap-up's length (at most `limit`), given to the answered leg it follows: the
    agent's latest leg that ended at most `match_seconds` after the wrap-up began (the leg's
    end and the agent's change are stored a moment apart, in either order). Wrap-ups after a
    call outside the records (or after none, e.g. a refused whisper) are given to no leg."""
    ends: dict[str, list[tuple[dt.datetime, LegKey]]] = defaultdict(list)
    for call in calls:
        for seg in call.segments:
            if not seg.worked:  # a leg put through, or an expert's consult leg picked up
                continue
            ended = seg.ended_at or call.ended_at
            if ended is not None:
                ends[seg.agent].append((ended, (call.call_id, seg.agent, seg.offered_at)))
    for legs in ends.values():
        legs.sort()
    # The legs' ends alone, in the same order: a binary search per wrap-up (a month of a
    # busy seat is thousands of legs; walking them from the first each time is quadratic).
    times = {agent: [ended for ended, _ in legs] for agent, legs in ends.items()}
    out: dict[LegKey, float] = {}
    slack = dt.timedelta(seconds=match_seconds)
    for s in sorted(all_stretches, key=lambda s: s.start):
        if s.status != "wrap_up" or s.agent not in ends:
            continue
        # The latest leg that ended by start + slack, if it ended no earlier than start - slack.
        i = bisect_right(times[s.agent], s.start + slack)
        if i == 0:
            continue
        ended, best = ends[s.agent][i - 1]
        if s.start - ended <= slack and best not in out:
            out[best] = min(s.seconds, limit.total_seconds())
    return out


def staffed_by_hour(
    stretches_: Iterable[Stretch],
    start: dt.datetime,
    end: dt.datetime,
    zone: dt.tzinfo,
    paused_too: bool = False,
) -> dict[int, float]:
    """Agent-seconds staffed (logged in, not paused; `paused_too`: logged in) per local hour
    of day within [start, end): what the planner puts beside what each hour needs."""
    out: dict[int, float] = defaultdict(float)
    for s in stretches_:
        if s.status == "logged_out" or (s.status == "paused" and not paused_too):
            continue
        cursor, stop = max(s.start, start), min(s.end, end)
        while cursor < stop:
            local = cursor.astimezone(zone)
            hour_end = local.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
            chunk_end = min(stop, hour_end)
            out[local.hour] += (chunk_end - cursor).total_seconds()
            cursor = chunk_end
    return dict(out)
