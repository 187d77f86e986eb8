"""The supervisors' wallboard: what it shows, from the router's state and today's tally,
and what changed between two of its pictures (what the console pushes). Pure.

A picture holds times as moments (`since`, seconds of the epoch), not durations, so that
it changes only when something happens; the page counts the seconds itself. Values are
never None: what has no figure yet (no call answered, no service level) is left out, so
that a change is a JSON merge patch (RFC 7386), where null means "removed".

Today's figures follow the reports' rules (acd/figures.py) as far as live facts allow: a
stay starts at the call's first `queued` or at a transfer, and counts in the day it began;
answered when the caller is put through to an agent (after the whisper; the wait ends when
the agent picked up), abandoned when the call ends `abandoned` unanswered;
service level is answered within T / answered on the line (callbacks left out, as is their
wait from ASA).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from acd.state import AgentStatus, Waiting

SERVICE_SECONDS = 20.0
SHOWN_TO_CALL_BACK = 100  # the newest of today's callers to call back, on the board
KEPT_TO_CALL_BACK = 20_000  # a day's abandons and failed callbacks, kept for the reveal
# The router's states as supervisors name them; logged-out agents are not on the board.
SHOWN_STATES = {
    AgentStatus.ready: "ready",
    AgentStatus.offered: "ringing",
    AgentStatus.on_call: "talking",
    AgentStatus.wrap_up: "after_call",
    AgentStatus.paused: "paused",
}


@dataclass
class QueueDay:
    """One queue's figures for the day so far."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    on_line: int = 0  # answered while the caller waited on the line (SL's and ASA's base)
    in_time: int = 0  # of those, within the service time
    wait_total: float = 0.0

    def add(self, other: QueueDay) -> None:
        """Sum another queue's figures into this one (the center's line)."""
        self.offered += other.offered
        self.answered += other.answered
        self.abandoned += other.abandoned
        self.on_line += other.on_line
        self.in_time += other.in_time
        self.wait_total += other.wait_total

    def figures(self) -> dict[str, Any]:
        """As the board shows them; rates only once there is something to divide by."""
        out: dict[str, Any] = {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
        }
        if self.on_line:
            out["service_level"] = round(self.in_time / self.on_line, 3)
            out["asa"] = round(self.wait_total / self.on_line, 1)
        if self.offered:
            out["answer_rate"] = round(self.answered / self.offered, 3)
        return out


@dataclass
class _Stay:
    queue: str
    since: float
    callback: bool = False
    picked_at: float | None = None  # an agent picked up (the whisper may follow)
    answered: bool = False  # the caller was put through


@dataclass(frozen=True)
class ToCallBack:
    """A caller someone should call back: they hung up waiting, or their callback failed."""

    call_id: str
    number: str
    queue: str
    at: float
    why: str  # abandoned | callback_failed

    def shown(self) -> dict[str, Any]:
        """As the board shows it: the number masked (the reveal is a separate, audited
        request: the board is on a wall screen and goes to every supervisor watching)."""
        return {
            "id": self.call_id,
            "number": mask_number(self.number),
            "queue": self.queue,
            "at": round(self.at, 1),
            "why": self.why,
        }


@dataclass
class DayTally:
    """Today's offered / answered / abandoned per queue, from call facts as they happen.
    A new day starts from zero; calls that began the day before are not counted in it."""

    service_seconds: float = SERVICE_SECONDS
    day: dt.date | None = None
    queues: dict[str, QueueDay] = field(default_factory=dict)
    to_call_back: dict[str, ToCallBack] = field(default_factory=dict)  # by call id, in order
    _stays: dict[str, _Stay] = field(default_factory=dict)
    _numbers: dict[str, str] = field(default_factory=dict)  # calls in progress: whom to call

    def roll(self, day: dt.date) -> None:
        """Start the day's count afresh when `day` is a new one."""
        if day != self.day:
            self.day, self.queues, self._stays = day, {}, {}
            self.to_call_back, self._numbers = {}, {}

    def _call_back(self, call_id: str, number: str, queue: str, at: float, why: str) -> None:
        if number and len(self.to_call_back) < KEPT_TO_CALL_BACK:
            self.to_call_back[call_id] = ToCallBack(call_id, number, queue, at, why)

    def observe(
        self, call_id: str, kind: str, data: Mapping[str, Any], at: float, day: dt.date
    ) -> None:
        """One call fact (hotline/store/journal.py's kinds) at `at`, on local day `day`."""
        self.roll(day)
        if kind == "call_started":
            self._numbers[call_id] = str(data.get("caller") or "")
            return
        if kind == "callback_requested":  # the number the caller asked to be called on
            self._numbers[call_id] = str(data.get("number") or "")
        number = self._numbers.pop(call_id, "") if kind == "ended" else ""
        stay = self._stays.get(call_id)
        if (kind == "queued" and stay is None) or kind == "transferred_to_queue":
            # A later `queued` of the same stay is an overflow, an escalation or a restart.
            queue = str(data.get("queue", ""))
            self._stays[call_id] = _Stay(queue, at)
            self._queue(queue).offered += 1
        elif stay is None:
            return
        elif kind in ("caller_left_for_callback", "callback_answered"):
            stay.callback = True
        elif kind == "callback_finished" and data.get("status") == "failed":
            number = self._numbers.get(call_id, "")
            self._call_back(call_id, number, stay.queue, at, "callback_failed")
        elif kind == "segment_answered" and not stay.answered:
            stay.picked_at = at
        elif kind == "agent" and not stay.answered:
            # Answered once put through, as in the reports: a caller who hangs up while the
            # agent hears the whisper is abandoned. The wait ends when the agent picked up.
            stay.answered = True
            figures = self._queue(stay.queue)
            figures.answered += 1
            if not stay.callback:
                wait = max(0.0, (stay.picked_at or at) - stay.since)
                figures.on_line += 1
                figures.in_time += wait <= self.service_seconds
                figures.wait_total += wait
        elif kind == "ended":
            del self._stays[call_id]
            if data.get("disposition") == "abandoned" and not stay.answered:
                self._queue(stay.queue).abandoned += 1
                self._call_back(call_id, number, stay.queue, at, "abandoned")

    def _queue(self, name: str) -> QueueDay:
        return self.queues.setdefault(name, QueueDay())


@dataclass
class AgentView:
    """What the board needs of an agent (acd.state.Agent has it all)."""

    number: str
    status: AgentStatus
    reason: str = ""
    current_call: str | None = None


@dataclass
class StateClock:
    """When each agent entered their current state: the router keeps no such time, so the
    board notes it when it first sees the state (a controller start counts from then)."""

    since: dict[str, tuple[AgentStatus, str, float]] = field(default_factory=dict)

    def seen(self, agent: AgentView, now: float) -> float:
        """The moment `agent` entered the state (and reason) they are in now."""
        known = self.since.get(agent.number)
        if known is None or known[:2] != (agent.status, agent.reason):
            self.since[agent.number] = (agent.status, agent.reason, now)
            return now
        return known[2]


def picture(
    queues: list[str],
    waiting: list[Waiting],
    agents: list[AgentView],
    tally: DayTally,
    clock: StateClock,
    now: float,
) -> dict[str, Any]:
    """The whole board at `now`: per queue (configured, or with callers or figures today)
    the callers waiting and in callback and since when the longest has waited, today's
    figures; the agents by state, each with their state's start and pause reason."""
    names = sorted({*queues, *(w.queue for w in waiting), *tally.queues})
    board: dict[str, Any] = {}
    for name in names:
        here = [w for w in waiting if w.queue == name]
        on_line = [w.waiting_since for w in here if not w.callback]
        row: dict[str, Any] = {
            "waiting": len(on_line),
            "callbacks": len(here) - len(on_line),
            **tally.queues.get(name, QueueDay()).figures(),
        }
        if on_line:
            row["longest_since"] = round(min(on_line), 1)
        board[name] = row
    total = QueueDay()
    for figures in tally.queues.values():
        total.add(figures)
    shown: dict[str, Any] = {}
    counts = Counter({name: 0 for name in SHOWN_STATES.values()})
    for agent in agents:
        state = SHOWN_STATES.get(agent.status)
        if state is None:
            clock.since.pop(agent.number, None)
            continue
        counts[state] += 1
        entry: dict[str, Any] = {"state": state, "since": round(clock.seen(agent, now), 1)}
        if agent.reason and agent.status is AgentStatus.paused:
            entry["reason"] = agent.reason
        shown[agent.number] = entry
    return {
        "day": tally.day.isoformat() if tally.day else "",
        "queues": board,
        "today": {
            "waiting": sum(q["waiting"] for q in board.values()),
            "callbacks": sum(q["callbacks"] for q in board.values()),
            **total.figures(),
        },
        "states": dict(counts),
        "agents": shown,
        # Newest first; the whole number only through the audited reveal.
        "to_call_back": [
            c.shown() for c in list(tally.to_call_back.values())[: -SHOWN_TO_CALL_BACK - 1 : -1]
        ],
        "to_call_back_count": len(tally.to_call_back),
    }


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """What turns `old` into `new`, as a JSON merge patch: changed keys with their new value
    (objects compared key by key), removed keys as None. Empty: nothing changed."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            inner = diff(before, value)
            if inner:
                patch[key] = inner
        elif key not in old or before != value:
            patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def apply(doc: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch applied (what the page does; the tests check diff against it)."""
    out = dict(doc)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = apply(out[key], value)
        else:
            out[key] = value
    return out


def mask_number(number: str) -> str:
    """A caller's number as the desk shows it: a resident ID number's first 6 and last 4, a
    phone number's first 3 and last 4 (138****5678), a short one's last 2 only."""
    size = len(number)
    if size >= 15:
        return number[:6] + "*" * (size - 10) + number[-4:]
    if size >= 11:
        return number[:3] + "*" * (size - 7) + number[-4:]
    if size > 4:
        return "*" * (size - 2) + number[-2:]
    return "*" * size


@dataclass(frozen=True)
class CallView:
    """The agent's current call: its queue, the caller's number, when the agent answered;
    `consulted`: the agent is an expert consulted about it (the asking agent leads it)."""

    queue: str
    caller: str
    answered_at: float | None = None
    consulted: bool = False


def desk_picture(
    number: str,
    agent: AgentView | None,
    since: float | None,
    call: CallView | None,
    pause_reasons: list[str],
    expert_queues: list[str] | None = None,
) -> dict[str, Any]:
    """One agent's own desk: their state (and since when, and why paused), the reasons they
    may pause for, the call they are on with the caller's number masked, and the expert
    queues they may consult (`transfers` of queues.yaml)."""
    state = SHOWN_STATES.get(agent.status, "logged_out") if agent else "logged_out"
    out: dict[str, Any] = {"agent": number, "state": state, "pause_reasons": pause_reasons}
    if expert_queues:
        out["expert_queues"] = expert_queues
    if since is not None and state != "logged_out":
        out["since"] = round(since, 1)
    if agent is not None and agent.reason and agent.status is AgentStatus.paused:
        out["reason"] = agent.reason
    if call is not None:
        shown: dict[str, Any] = {"queue": call.queue, "caller": mask_number(call.caller)}
        if call.answered_at is not None:
            shown["since"] = round(call.answered_at, 1)
        if call.consulted:
            shown["consulted"] = True
        out["call"] = shown
    return out
