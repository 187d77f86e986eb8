"""The indexed router decides exactly what the naive one did, event for event.

tests/unit/router_reference.py is the router as it was before routing was indexed (it sorts
every caller and scans every agent on each event). Both are fed the same events: random
interleavings from hypothesis, and long seeded runs with more agents and callers than a
state machine reaches. After every event both must have returned the same decisions (or
refused with the same error) and agree on every agent, caller, position and estimated wait.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from acd import router as indexed
from acd.queues import QueuesConfig
from acd.roster import AgentEntry
from acd.state import AgentStatus
from ivr.hours import BusinessHours
from tests.unit import router_reference as naive
from tests.unit.test_router import HOURS

QUEUES_A: dict[str, Any] = {
    "pension": {
        "skill": "social_insurance",
        "min_level": 4,
        "steps": [
            {"after": 20, "min_level": 2},
            {"after": 45, "min_level": 1},
            {"after": 90, "overflow_to": "general"},
        ],
        "max_wait_seconds": 300,
        "announce_every_seconds": 400,  # few announcements: escalation alone must re-file
        "wrapup_seconds": 5,
    },
    "jobs": {
        "skill": "employment",
        "min_level": 2,
        "strategy": "ring_all",
        "steps": [{"after": 60, "overflow_to": "general"}],
        "max_waiting": 4,
    },
    "disputes": {
        "skill": "labour_relations",
        "strategy": "fewest_calls",
        "wrapup_seconds": 0,
        "max_wait_seconds": 120,
    },
    "cards": {
        "skill": "citizen_card",
        "strategy": "round_robin",
        "min_level": 2,
        "steps": [{"after": 30, "min_level": 1}],
    },
    "general": {"strategy": "longest_idle", "announce_every_seconds": 10},
    "expert": {
        "skill": "expert_social_insurance",
        "min_level": 3,
        "steps": [{"after": 40, "overflow_to": "pension"}],
        "max_wait_seconds": 200,
    },
}
# New rules mid-run: a queue retired, strategies and levels changed, an agent hired.
QUEUES_B: dict[str, Any] = {
    **{k: v for k, v in QUEUES_A.items() if k != "cards"},
    "general": {"strategy": "fewest_calls", "announce_every_seconds": 20, "wrapup_seconds": 0},
    "pension": {**QUEUES_A["pension"], "strategy": "round_robin", "min_level": 3},
}
CALLBACKS = {"retry_after_seconds": 20, "attempts": 2, "offer_every_seconds": 250}
ROSTER_A: dict[str, dict[str, int]] = {
    "1001": {"social_insurance": 5, "employment": 2},
    "1002": {"social_insurance": 3},
    "1003": {"social_insurance": 1, "citizen_card": 2},
    "1004": {"employment": 3, "labour_relations": 2},
    "1005": {"labour_relations": 4, "citizen_card": 1},
    "1006": {"expert_social_insurance": 4, "social_insurance": 4},
    "1007": {},
}
ROSTER_B = {**ROSTER_A, "1002": {"social_insurance": 5, "citizen_card": 3}, "1009": {}}
QUEUE_NAMES = [*QUEUES_A, "nowhere"]
SEATS = [*ROSTER_B, "2001", "2002"]
WHYS = ["no_answer", "busy", "unreachable", "lost"]

# HOURS: staffed 08:30–17:00 on weekdays (Asia/Shanghai); runs start before Thursday's opening.
START = dt.datetime(2026, 12, 3, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def config(queues: dict[str, Any]) -> QueuesConfig:
    return QueuesConfig.model_validate({"queues": queues, "callback": CALLBACKS})


def roster(agents: dict[str, dict[str, int]]) -> list[AgentEntry]:
    return [AgentEntry(number=n, name=n, skills=s) for n, s in agents.items()]  # type: ignore[arg-type]


class Twins:
    """The naive and the indexed router, fed the same events."""

    def __init__(self, hours: BusinessHours | None, agents: dict[str, dict[str, int]]) -> None:
        self.naive = naive.Router(config(QUEUES_A), roster(agents), hours)
        self.indexed = indexed.Router(config(QUEUES_A), roster(agents), hours)

    def __call__(self, event: str, *args: Any, **kwargs: Any) -> Any:
        """Apply the event to both; same decisions, or the same refusal."""
        results = []
        for router in (self.naive, self.indexed):
            try:
                results.append(("ok", getattr(router, event)(*args, **kwargs)))
            except (naive.RouterError, indexed.RouterError, KeyError) as exc:
                results.append((type(exc).__name__, str(exc)))
        assert results[0] == results[1], (event, args, kwargs)
        return results[0][1] if results[0][0] == "ok" else None

    def agree(self, now: float) -> None:
        """Same state, seen every way the controller and the web pages look at it."""
        a, b = self.naive, self.indexed
        assert a.agents == b.agents
        assert a.waiting == b.waiting
        assert a.dialing == b.dialing
        assert a.handle_time == b.handle_time
        for call_id in a.waiting:
            assert a.position(call_id) == b.position(call_id), call_id
            assert a.estimated_wait(call_id, now) == b.estimated_wait(call_id, now), call_id
        for seat in SEATS:
            x, y = a.at_phone(seat), b.at_phone(seat)
            assert (x and x.number) == (y and y.number), seat
        for agent in a.agents.values():
            assert a.available(agent, now) == b.available(agent, now)


class EquivalenceMachine(RuleBasedStateMachine):
    """Random interleavings of every event the router takes, with the clock jumping."""

    @initialize(hours=st.booleans())
    def start(self, hours: bool) -> None:
        self.twins = Twins(HOURS if hours else None, ROSTER_A)
        self.now = START
        self.calls = 0

    @property
    def router(self) -> naive.Router:
        return self.twins.naive

    agent = st.sampled_from(sorted(ROSTER_B))

    @rule(seconds=st.one_of(st.floats(0, 5), st.floats(5, 150), st.sampled_from([0.0, 3600.0])))
    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.twins("tick", self.now)

    @rule(seconds=st.one_of(st.floats(0, 40), st.sampled_from([-1.0, -30.0, 15 * 3600.0])))
    def clock(self, seconds: float) -> None:
        """Events come at any moment, between ticks, and the wall clock may even step back."""
        self.now += seconds

    @rule(
        queue=st.sampled_from(QUEUE_NAMES),
        priority=st.sampled_from([0, 0, 5, 10, 20]),
        earlier=st.sampled_from([None, None, 0.0, 30.0, 500.0]),
        kind=st.sampled_from(["caller", "caller", "caller", "callback", "held", "transferred"]),
        again=st.booleans(),
    )
    def call(
        self, queue: str, priority: int, earlier: float | None, kind: str, again: bool
    ) -> None:
        if again and self.router.waiting:
            call_id = sorted(self.router.waiting)[0]  # already waiting: refused alike
        else:
            self.calls += 1
            call_id = f"c{self.calls}"
        entered = None if earlier is None else self.now - earlier
        extra: dict[str, Any] = {}
        if kind == "callback":
            extra = {"callback": True, "deadline": self.now + 400}
        elif kind == "held":
            extra = {"held": True}
        elif kind == "transferred":
            extra = {"waiting_since": self.now}
        self.twins("enqueue", call_id, queue, priority, self.now, entered, **extra)

    @rule(agent=agent, seat=st.sampled_from([None, None, "2001", "2002", "1003"]))
    def login(self, agent: str, seat: str | None) -> None:
        self.twins("login", agent, self.now, seat)

    @rule(agent=agent)
    def logout(self, agent: str) -> None:
        self.twins("logout", agent, self.now)

    @rule(agent=agent, reason=st.sampled_from(["break", "meal"]))
    def pause_or_ready(self, agent: str, reason: str) -> None:
        status = self.router.agents[agent].status if agent in self.router.agents else None
        if status in (AgentStatus.paused, AgentStatus.wrap_up, AgentStatus.logged_out):
            self.twins("ready", agent, self.now)
        else:
            self.twins("pause", agent, reason, self.now)

    @rule(seat=st.sampled_from(SEATS), reachable=st.booleans())
    def endpoint(self, seat: str, reachable: bool) -> None:
        self.twins("endpoint", seat, reachable, self.now)

    def _some(self, data: st.DataObject, status: AgentStatus) -> str:
        """An agent in this state if there is one (else anyone: the router must refuse)."""
        agents = sorted(a.number for a in self.router.agents.values() if a.status == status)
        return data.draw(st.sampled_from(agents or sorted(ROSTER_B)))

    @rule(data=st.data(), outcome=st.sampled_from(["answer", "answer", *WHYS]))
    def ringing_phone(self, data: st.DataObject, outcome: str) -> None:
        agent = self._some(data, AgentStatus.offered)
        a = self.router.agents.get(agent)
        call_id = a.offered_call if a is not None and a.offered_call else "c1"
        if outcome == "answer":
            self.twins("answered", call_id, agent, self.now)
        else:
            self.twins("offer_failed", call_id, agent, outcome, self.now)

    @rule(data=st.data(), queue=st.sampled_from([*QUEUES_A, "nowhere"]), seconds=st.floats(0, 900))
    def hang_up_talk(self, data: st.DataObject, queue: str, seconds: float) -> None:
        agent = self._some(data, AgentStatus.on_call)
        self.twins("call_finished", agent, queue, seconds, self.now)

    @rule(data=st.data(), queue=st.sampled_from(["expert", "general", "nowhere"]))
    def transfer(self, data: st.DataObject, queue: str) -> None:
        agent = self._some(data, AgentStatus.on_call)
        a = self.router.agents.get(agent)
        call_id = a.current_call if a is not None and a.current_call else "c1"
        self.twins("transfer", call_id, agent, "general", queue, 5, self.now - 50, 60.0, self.now)

    @rule(data=st.data())
    def caller_leaves(self, data: st.DataObject) -> None:
        ids = sorted({*self.router.waiting, *self.router.dialing, "c1"})
        self.twins("caller_left", data.draw(st.sampled_from(ids)), self.now)

    @rule(data=st.data(), choice=st.sampled_from(["hold", "release", "callback", "callback"]))
    def caller_arranges_a_callback(self, data: st.DataObject, choice: str) -> None:
        call_id = data.draw(st.sampled_from(sorted({*self.router.waiting, "c1"})))
        if choice == "hold":
            self.twins("hold", call_id)
        elif choice == "release":
            self.twins("release", call_id, self.now)
        else:
            deadline = data.draw(st.sampled_from([math.inf, self.now + 60, self.now + 3 * 3600]))
            self.twins("to_callback", call_id, self.now, deadline)

    @rule(data=st.data(), reached=st.booleans())
    def called_back_phone(self, data: st.DataObject, reached: bool) -> None:
        call_id = data.draw(st.sampled_from(sorted({*self.router.dialing, "c1"})))
        holders = [a.number for a in self.router.agents.values() if a.current_call == call_id]
        number = holders[0] if holders else data.draw(self.agent)
        self.twins("callback_result", call_id, number, reached, self.now)

    @rule(agent=agent, data=st.data())
    def conversation_found_after_restart(self, agent: str, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(sorted({*self.router.waiting, "c999"})))
        self.twins("resume_talk", agent, call_id, self.now)

    @rule(resume=st.booleans())
    def restarted_controller_puts_callers_back(self, resume: bool) -> None:
        # Offers wait while the callers are adopted, then are made all at once.
        if resume:
            self.twins("resume_offers", self.now)
        else:
            self.twins("defer_offers")

    @rule(rules=st.sampled_from(["A", "B"]))
    def new_rules(self, rules: str) -> None:
        queues, agents = (QUEUES_A, ROSTER_A) if rules == "A" else (QUEUES_B, ROSTER_B)
        self.twins("reconfigure", config(queues), roster(agents))

    @invariant()
    def same_state(self) -> None:
        if hasattr(self, "twins"):
            self.twins.agree(self.now)


TestEquivalence = EquivalenceMachine.TestCase
TestEquivalence.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)


def center(seed: int, hours: bool, arrivals: float, events: int) -> None:
    """A seeded run with 40 agents: long lines and stuck announcements when calls arrive often
    (`arrivals`: the share of events that are a new call), free agents waiting for calls and
    callbacks waiting for the opening when they do not; state compared every 25 events."""
    rng = random.Random(seed)
    skills = ["social_insurance", "employment", "labour_relations", "citizen_card"]
    agents = {
        str(2000 + i): {s: rng.randint(1, 5) for s in rng.sample(skills, rng.randint(0, 3))}
        for i in range(40)
    }
    twins = Twins(HOURS if hours else None, agents)
    numbers = sorted(agents)
    now = START
    calls = 0
    for step in range(events):
        now += rng.choice([0.0, 0.5, 1.0, 1.0, 2.0, 7.0]) if rng.random() < 0.99 else 1800.0
        r = twins.naive
        kind = rng.random()
        if kind < arrivals:
            calls += 1
            extra: dict[str, Any] = {}
            if rng.random() < 0.1:
                extra = {"callback": True, "deadline": now + rng.choice([60, 3600, 86400])}
            twins(
                "enqueue",
                f"c{calls}",
                rng.choice(list(QUEUES_A)),
                rng.choice([0, 0, 0, 10]),
                now,
                now - rng.choice([0, 0, 40]),
                **extra,
            )
        elif kind < arrivals + 0.15:
            offered = [a for a in r.agents.values() if a.offered_call]
            if offered:
                a = rng.choice(offered)
                if rng.random() < 0.8:
                    twins("answered", a.offered_call, a.number, now)
                else:
                    twins("offer_failed", a.offered_call, a.number, rng.choice(WHYS), now)
        elif kind < arrivals + 0.3:
            talking = [a for a in r.agents.values() if a.status == AgentStatus.on_call]
            if talking:
                a = rng.choice(talking)
                if a.current_call in r.dialing and rng.random() < 0.5:
                    twins("callback_result", a.current_call, a.number, rng.random() < 0.5, now)
                else:
                    twins("call_finished", a.number, rng.choice(list(QUEUES_A)), 100.0, now)
        elif kind < arrivals + 0.42:
            number = rng.choice(numbers)
            status = r.agents[number].status
            if status == AgentStatus.logged_out:
                twins("login", number, now)
            elif status in (AgentStatus.paused, AgentStatus.wrap_up):
                twins("ready", number, now)
            elif rng.random() < 0.2:
                twins("logout", number, now)
            else:
                twins("pause", number, "break", now)
        elif kind < arrivals + 0.5 and r.waiting:
            call_id = rng.choice(sorted(r.waiting))
            if rng.random() < 0.5:
                twins("caller_left", call_id, now)
            elif not r.waiting[call_id].offers:
                twins("hold", call_id)
                twins("to_callback", call_id, now, now + rng.choice([600, 86400]))
        else:
            twins("tick", now)
        if step % 25 == 0:
            twins.agree(now)
    twins.agree(now)


@pytest.mark.parametrize(
    ("seed", "hours", "arrivals"),
    [(1, False, 0.3), (2, True, 0.1), (3, True, 0.3), (4, False, 0.1)],
)
def test_a_center_busy_or_quiet_gets_the_same_decisions(
    seed: int, hours: bool, arrivals: float
) -> None:
    center(seed, hours, arrivals, 3000)
