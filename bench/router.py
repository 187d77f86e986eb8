"""Router capacity: how long one event takes to decide, at 100 to 5,000 waiting callers.

    .venv/bin/python -m bench.router router.json [--sizes 100,500] [--runs 3] [--events 30000]
                                                 [--naive-seconds 15]

A center of 2,000 agents and 50 skills (levels 1–5, one queue per skill, mixed strategies,
an escalation step) is filled through the router's own events until the wanted number of
callers waits, then fed a mix of events on a simulated clock (about 30 events a second):
arrivals, answers, offers that fail, pauses and readies, finished calls, callers hanging up,
and a tick every simulated second (wrap-ups end, offers, announcements). Each event is timed
with time.perf_counter. The naive router (tests/unit/router_reference.py) starts from a copy
of the same state and takes the same events for as long as its time budget lasts (seconds per
event at 5,000 waiting); both must decide the same. Figures are medians over `--runs` runs,
since the machine is shared and noisy. Not a test: nothing here passes or fails on speed.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import count
from pathlib import Path
from typing import Any, Protocol

from acd.queues import QueuesConfig, QueueSpec, Step, Strategy
from acd.roster import AgentEntry
from acd.router import Router, RouterError
from acd.state import AgentChanged, AgentStatus, Decision, Offer
from tests.unit import router_reference

AGENTS = 2_000
SKILLS = 50
SIZES = (100, 500, 1_000, 2_000, 5_000)
FILL_SECONDS = 90.0  # the line builds up over this long before the measured events
RING_SECONDS = 2.0  # an agent's phone rings this long before it is answered
HANDLE_SECONDS = 180.0  # a conversation, on average
EVENTS_PER_SECOND = 30  # simulated; about 11 conversations a second end at 2,000 agents
# The real roster's skills are the nine lines of business (acd.roster.Skill); the router only
# reads a skill's value, so the benchmark names fifty of its own.
BenchSkill = StrEnum("BenchSkill", {f"skill{i:02}": f"skill{i:02}" for i in range(SKILLS)})  # type: ignore[misc]
STRATEGIES = [Strategy.best_skill] * 6 + [
    Strategy.longest_idle,
    Strategy.fewest_calls,
    Strategy.round_robin,
    Strategy.ring_all,
]


class AnyRouter(Protocol):
    """What the benchmark uses of either router."""

    agents: Any
    waiting: Any

    def login(self, number: str, now: float, phone: str | None = None) -> list[Decision]: ...
    def ready(self, number: str, now: float) -> list[Decision]: ...
    def pause(self, number: str, reason: str, now: float) -> list[Decision]: ...
    def endpoint(self, phone: str, reachable: bool, now: float) -> list[Decision]: ...
    def enqueue(self, call_id: str, queue: str, priority: int, now: float) -> list[Decision]: ...
    def answered(self, call_id: str, number: str, now: float) -> list[Decision]: ...
    def offer_failed(self, call_id: str, number: str, why: str, now: float) -> list[Decision]: ...
    def caller_left(self, call_id: str, now: float) -> list[Decision]: ...
    def call_finished(
        self, number: str, queue: str, handle_seconds: float, now: float
    ) -> list[Decision]: ...
    def tick(self, now: float) -> list[Decision]: ...


def center(seed: int) -> tuple[QueuesConfig, list[AgentEntry]]:
    """Fifty queues (one per skill) and 2,000 agents with one to three skills each."""
    rng = random.Random(seed)
    skills = list(BenchSkill)
    queues = {
        f"q{i:02}": QueueSpec.model_construct(
            skill=skill,
            min_level=rng.randint(1, 3),
            strategy=STRATEGIES[i % len(STRATEGIES)],
            steps=[Step(after=30, min_level=1)],
            max_wait_seconds=7_200,
            max_waiting=100_000,
        )
        for i, skill in enumerate(skills)
    }
    config = QueuesConfig.model_construct(queues=queues)
    roster = [
        AgentEntry.model_construct(
            number=str(10_000 + n),
            name=f"agent {n}",
            skills={s: rng.randint(1, 5) for s in rng.sample(skills, rng.randint(1, 3))},
        )
        for n in range(AGENTS)
    ]
    return config, roster


@dataclass
class Load:
    """The events of one run, drawn from the decisions they got (so both routers, deciding
    alike, get the same events)."""

    waiting: int
    rng: random.Random
    queues: list[str]
    now: float = 0.0
    next_tick: float = 1.0
    calls: count[int] = field(default_factory=count)
    ringing: dict[str, tuple[str, float]] = field(default_factory=dict)  # agent -> call, since
    talking: dict[str, None] = field(default_factory=dict)  # agents on a call
    paused: dict[str, None] = field(default_factory=dict)

    def fill(self, router: AnyRouter) -> None:
        """All agents log in; callers arrive over FILL_SECONDS (ticking every second, offers
        answered at once) until `waiting` wait: their announcements fall due spread out, as
        in a center where the line grew over a while, not all at one tick."""
        for number in list(router.agents):
            self.saw(router.login(number, self.now))
        step = FILL_SECONDS / (self.waiting + AGENTS)
        while len(router.waiting) < self.waiting:
            self.now += step
            if self.now >= self.next_tick:
                self.next_tick += 1.0
                self.saw(router.tick(self.now))
            self.saw(router.enqueue(self._call_id(), self._queue(), 0, self.now))
            for agent, (call_id, _) in list(self.ringing.items()):
                if self.ringing.get(agent, ("",))[0] == call_id:  # not cancelled meanwhile
                    self.saw(router.answered(call_id, agent, self.now))

    def saw(self, decisions: list[Decision]) -> None:
        """Follow the phones: who rings, who talks, who is paused."""
        for d in decisions:
            if isinstance(d, Offer):
                self.ringing[d.agent] = (d.call_id, self.now)
            elif isinstance(d, AgentChanged):
                if d.status != AgentStatus.offered:
                    self.ringing.pop(d.agent, None)
                for state, agents in (
                    (AgentStatus.on_call, self.talking),
                    (AgentStatus.paused, self.paused),
                ):
                    if d.status == state:
                        agents[d.agent] = None
                    else:
                        agents.pop(d.agent, None)

    def _call_id(self) -> str:
        return f"c{next(self.calls)}"

    def _queue(self) -> str:
        return self.rng.choice(self.queues)

    def next_event(self, router: AnyRouter) -> tuple[str, tuple[Any, ...]]:
        """The next event: (method, arguments)."""
        self.now += 1 / EVENTS_PER_SECOND
        rng, now = self.rng, self.now
        if now >= self.next_tick:
            self.next_tick += 1.0
            return "tick", (now,)
        if self.ringing:  # phones answer after a couple of seconds; a few do not
            agent, (call_id, since) = next(iter(self.ringing.items()))
            if now - since >= RING_SECONDS:
                if rng.random() < 0.92:
                    return "answered", (call_id, agent, now)
                why = rng.choice(["no_answer", "busy", "lost"])
                return "offer_failed", (call_id, agent, why, now)
        roll = rng.random()
        finishing = len(self.talking) / (HANDLE_SECONDS * EVENTS_PER_SECOND)
        if roll < finishing:
            agent = rng.choice(list(self.talking))
            return "call_finished", (agent, self._queue(), rng.uniform(60, 300), now)
        roll -= finishing
        if roll < 0.03:
            if self.paused and rng.random() < 0.7:
                return "ready", (rng.choice(list(self.paused)), now)
            return "pause", (str(10_000 + rng.randrange(AGENTS)), "break", now)
        if len(router.waiting) < self.waiting:
            priority = rng.choice([0, 0, 0, 0, 0, 0, 10, 10, 20])
            return "enqueue", (self._call_id(), self._queue(), priority, now)
        return "caller_left", (rng.choice(list(router.waiting)), now)


@dataclass
class Run:
    """One router's timings on one run."""

    times: list[float] = field(default_factory=list)  # seconds per event
    ticks: list[bool] = field(default_factory=list)  # whether that event was a tick
    made: list[int] = field(default_factory=list)  # decisions per event
    # The ticks' parts (acd/ticking.py tick_in_parts), each timed: the controller takes
    # other events between them. The naive router's tick is one part.
    parts: list[float] = field(default_factory=list)
    parts_a_tick: list[int] = field(default_factory=list)
    # Per event, a digest of its decisions (to compare the routers): the controller acts on
    # decisions and drops them, so a run does not keep them either (millions of objects
    # kept alive would make the garbage collector's full passes part of the figures).
    digests: list[bytes] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Events, decisions/s and p50/p99 per event (ms), ticks apart too."""
        total = sum(self.times)
        made = sum(self.made)
        # A tick decides many things at once (offers, every announcement due): its time
        # shared among its decisions is the time per decision; an event deciding nothing
        # (a caller who waits) counts as one.
        per_decision = [
            share
            for t, n in zip(self.times, self.made, strict=True)
            for share in [t / max(n, 1)] * max(n, 1)
        ]
        ticks = [t for t, tick in zip(self.times, self.ticks, strict=True) if tick]
        tick_made = [n for n, tick in zip(self.made, self.ticks, strict=True) if tick]
        others = [t for t, tick in zip(self.times, self.ticks, strict=True) if not tick]
        holds = others + self.parts  # each call of the router, the loop waiting for it
        return {
            "events": len(self.times),
            "decisions": made,
            "seconds": total,
            "decisions_per_s": made / total if total else 0.0,
            "events_per_s": len(self.times) / total if total else 0.0,
            "p50_ms": _percentile(self.times, 50) * 1e3,
            "p99_ms": _percentile(self.times, 99) * 1e3,
            "p99_event_ms": _percentile(others, 99) * 1e3,
            "p99_tick_ms": _percentile(ticks, 99) * 1e3,
            # The tick on its own: it announces to every caller due at once.
            "ticks": len(ticks),
            "p50_tick_ms": _percentile(ticks, 50) * 1e3,
            "tick_decisions_p50": _percentile(tick_made, 50),
            "tick_decisions_p99": _percentile(tick_made, 99),
            "tick_us_per_decision": sum(ticks) / max(sum(tick_made), 1) * 1e6,
            "tick_parts_p50": _percentile(self.parts_a_tick, 50),
            "tick_parts_p99": _percentile(self.parts_a_tick, 99),
            "p50_part_ms": _percentile(self.parts, 50) * 1e3,
            "p99_part_ms": _percentile(self.parts, 99) * 1e3,
            "p99_hold_ms": _percentile(holds, 99) * 1e3,
            "p99_per_decision_ms": _percentile(per_decision, 99) * 1e3,
        }


def _percentile(values: list[float] | list[int], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def drive(router: AnyRouter, load: Load, events: int, budget: float) -> Run:
    """Feed `events` events (or as many as fit in `budget` seconds of router time)."""
    run = Run()
    spent = 0.0
    for _ in range(events):
        method, args = load.next_event(router)
        decisions: list[Decision | str]
        if method == "tick":
            made, elapsed = _tick(router, args[0], run)
            decisions = list(made)
        else:
            handler = getattr(router, method)
            start = time.perf_counter()
            try:
                decisions = handler(*args)
            except (router_reference.RouterError, RouterError) as exc:  # refused: still timed
                decisions = [type(exc).__name__]
            elapsed = time.perf_counter() - start
        run.times.append(elapsed)
        run.ticks.append(method == "tick")
        run.made.append(len(decisions))
        run.digests.append(hashlib.blake2b(repr(decisions).encode(), digest_size=16).digest())
        load.saw([d for d in decisions if not isinstance(d, str)])
        spent += elapsed
        if spent > budget:
            break
    return run


def _tick(router: AnyRouter, now: float, run: Run) -> tuple[list[Decision], float]:
    """A tick, part by part as the controller takes it (the naive router's at once): its
    decisions and its time in all."""

    def at_once() -> Iterator[list[Decision]]:
        yield router.tick(now)

    parts = getattr(router, "tick_in_parts", None)
    ticking = parts(now) if parts is not None else at_once()
    decisions: list[Decision] = []
    times: list[float] = []
    while True:
        start = time.perf_counter()
        part = next(ticking, None)
        times.append(time.perf_counter() - start)
        if part is None:
            break
        decisions += part
    end = times.pop()
    times[-1] += end  # the generator's end, timed apart, belongs to its last part
    run.parts += times
    run.parts_a_tick.append(len(times))
    return decisions, sum(times)


def one_size(waiting: int, runs: int, events: int, naive_budget: float) -> dict[str, Any]:
    """Both routers at one size, `runs` times; medians of the runs."""
    indexed_runs, naive_runs, same = [], [], True
    for run_no in range(runs):
        config, roster = center(seed=run_no)
        router = Router(config, roster)
        load = Load(waiting, random.Random(run_no), sorted(config.queues))
        load.fill(router)
        naive = router_reference.Router(config, roster)
        naive.agents = copy.deepcopy(router.agents)
        naive.waiting = copy.deepcopy(router.waiting)
        naive.handle_time = dict(router.handle_time)
        seq = next(router._seq)  # both number the next caller alike
        router._seq, naive._seq = count(seq), count(seq)
        naive_load = copy.deepcopy(load)
        fast = drive(router, load, events, budget=float("inf"))
        slow = drive(naive, naive_load, events, budget=naive_budget)
        same = same and fast.digests[: len(slow.digests)] == slow.digests
        indexed_runs.append(fast.summary())
        naive_runs.append(slow.summary())
        print(f"  run {run_no + 1}/{runs} at {waiting} waiting done", file=sys.stderr)
    indexed, naive_summary = _median(indexed_runs), _median(naive_runs)
    return {
        "waiting": waiting,
        "indexed": indexed,
        "naive": naive_summary,
        "p99_ratio": naive_summary["p99_ms"] / indexed["p99_ms"] if indexed["p99_ms"] else None,
        "same_decisions": same,
        "runs": {"indexed": indexed_runs, "naive": naive_runs},
    }


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json_path", type=Path, help="where to write the results (JSON)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="waiting callers")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (medians reported)")
    parser.add_argument("--events", type=int, default=30_000, help="events per run")
    parser.add_argument(
        "--naive-seconds", type=float, default=15.0, help="time budget of the naive router a run"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = [one_size(w, args.runs, args.events, args.naive_seconds) for w in sizes]
    report = {
        "benchmark": "router",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "agents": AGENTS,
        "skills": SKILLS,
        "events_per_simulated_second": EVENTS_PER_SECOND,
        "runs": args.runs,
        "sizes": results,
    }
    args.json_path.parent.mkdir(parents=True, exist_ok=True)  # ./dev's default: .local/
    args.json_path.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    print()
    print(tick_table(results))
    return 0


def table(results: list[dict[str, Any]]) -> str:
    """The README table: one line per size and router (times in ms, medians of the runs)."""
    lines = [
        "| waiting | router | events | decisions/s | p50 | p99 | p99 without ticks "
        "| p99 of ticks | p99 per decision | p99 of a call | same |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        for name in ("naive", "indexed"):
            s = r[name]
            tick = f"{s['p99_tick_ms']:.3f}" if s["p99_tick_ms"] else "–"
            lines.append(
                f"| {r['waiting']:,} | {name} | {s['events']:,.0f} | {s['decisions_per_s']:,.0f} "
                f"| {s['p50_ms']:.3f} | {s['p99_ms']:.3f} | {s['p99_event_ms']:.3f} | {tick} "
                f"| {s['p99_per_decision_ms']:.3f} | {s['p99_hold_ms']:.3f} "
                f"| {'yes' if r['same_decisions'] else 'NO'} |"
            )
    return "\n".join(lines)


def tick_table(results: list[dict[str, Any]]) -> str:
    """The indexed router's 1 s tick alone (medians of the runs): its time, how many
    decisions (announcements above all) it makes, and the parts it makes them in."""
    lines = [
        "| waiting | ticks | decisions a tick p50 | p99 | tick p50 | tick p99 | µs per decision "
        "| parts a tick p50 | p99 | part p50 | part p99 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r["indexed"]
        lines.append(
            f"| {r['waiting']:,} | {s['ticks']:,.0f} | {s['tick_decisions_p50']:,.0f} "
            f"| {s['tick_decisions_p99']:,.0f} | {s['p50_tick_ms']:.3f} | {s['p99_tick_ms']:.3f} "
            f"| {s['tick_us_per_decision']:.1f} | {s['tick_parts_p50']:,.0f} "
            f"| {s['tick_parts_p99']:,.0f} | {s['p50_part_ms']:.3f} | {s['p99_part_ms']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
