"""Announcements at the tick: who is due, in which order, with which position and wait.

The tick looks only at the callers whose announcement alarm rang (acd/lines.py, acd/alarms.py)
and at each queue once (acd/ticking.py); each scenario here is also played on the naive
router (tests/unit/router_reference.py), which looks at everyone, and both must announce the
same, plus what a supervisor would expect written out.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from acd import router as indexed
from acd.alarms import moment_after
from acd.lines import STUCK, TIMER, accepted_level
from acd.queues import QueuesConfig, QueueSpec, Step
from acd.roster import AgentEntry
from acd.state import Announce, Waiting
from acd.ticking import ANNOUNCE_PART
from tests.unit import router_reference as naive

DEFAULT_WAIT = 180  # acd.ticking.DEFAULT_HANDLE_SECONDS: no call finished yet


class Pair:
    """Both routers, fed the same events; every event must decide alike."""

    def __init__(self, queues: dict[str, Any], agents: dict[str, dict[str, int]]) -> None:
        config = QueuesConfig.model_validate({"queues": queues})
        roster = [AgentEntry(number=n, name=n, skills=s) for n, s in agents.items()]  # type: ignore[arg-type]
        self.naive = naive.Router(config, roster)
        self.indexed = indexed.Router(config, roster)

    def __call__(self, event: str, *args: Any) -> list[Any]:
        got = getattr(self.indexed, event)(*args)
        assert got == getattr(self.naive, event)(*args), (event, args)
        return list(got or [])

    def announced(self, now: float) -> list[tuple[str, int, int, bool]]:
        """The tick's announcements: caller, position, wait, callback offered."""
        return [
            (d.call_id, d.position, d.wait_seconds, d.offer_callback)
            for d in self("tick", now)
            if isinstance(d, Announce)
        ]


def on_a_call(pair: Pair, agent: str, call_id: str, queue: str, now: float) -> None:
    """The agent takes a call of this queue: staffed, but not free for the callers waiting."""
    pair("enqueue", call_id, queue, 99, now)
    pair("answered", call_id, agent, now)


@given(
    start=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(-1e6, 1e10),
        st.sampled_from([0.0, -0.0, 1e-300, 1.5e9, -math.inf, math.inf]),
    ),
    seconds=st.one_of(
        st.floats(min_value=1e-300, max_value=1e9),
        st.sampled_from([30.0, 0.1, 1e-9, 60.0, math.inf]),
    ),
)
# Sums rounded up past the moment: the float just below also satisfies the rule.
@example(start=9.19229264260174, seconds=20.0)
@example(start=-0.644141933476613, seconds=2.5)
def test_an_alarm_rings_at_the_first_moment_its_rule_holds(start: float, seconds: float) -> None:
    moment = moment_after(start, seconds)
    if math.isinf(moment):  # the rule holds always (-inf) or never (inf)
        assert (moment < 0) == (0.0 - start >= seconds)
        return
    assert moment - start >= seconds
    assert not math.nextafter(moment, -math.inf) - start >= seconds


STEPS = st.lists(
    st.tuples(
        st.sampled_from([10.0, 20.0, 30.0, 45.5, 90.0]),
        st.one_of(st.none(), st.integers(1, 5)),
        st.sampled_from([None, "general"]),
    )
    .filter(lambda s: s[1] is not None or s[2] is not None)
    .map(lambda s: Step(after=s[0], min_level=s[1], overflow_to=s[2])),
    max_size=4,
).map(lambda steps: sorted(steps, key=lambda s: s.after))


@given(
    min_level=st.integers(1, 5),
    steps=STEPS,
    waited=st.sampled_from([0.0, 9.999, 10.0, 20.0, 30.0, 45.5, 45.49, 90.0, 1e6]),
)
def test_the_level_the_estimate_counts_agents_at_is_the_escalated_one(
    min_level: int, steps: list[Step], waited: float
) -> None:
    """Announcements read a queue's steps once per tick; at a step's exact moment too."""
    spec = QueueSpec(skill="social_insurance", min_level=min_level, steps=steps)  # type: ignore[arg-type]
    config = QueuesConfig(queues={"si": spec, "general": QueueSpec()})
    router = indexed.Router(config, [])
    call = Waiting("c", "si", 0, 100.0, 100.0, 0)
    assert router._queue_now("si").level(call, 100.0 + waited) == accepted_level(
        spec, call, 100.0 + waited
    )
    assert router._queue_now("general").level(call, 100.0 + waited) == 0  # any agent


def test_callers_due_at_one_tick_are_announced_in_line_order_and_ties_by_arrival() -> None:
    pair = Pair(
        {"pension": {"skill": "social_insurance"}, "cards": {"skill": "citizen_card"}},
        {"1001": {"social_insurance": 3, "citizen_card": 3}},
    )
    pair("login", "1001", 0.0)
    on_a_call(pair, "1001", "busy", "pension", 0.0)
    # Same moment, same priority: arrival (sequence) decides; a senior goes first.
    for call_id, queue, priority in [
        ("p1", "pension", 0),
        ("c1", "cards", 0),
        ("p2", "pension", 0),
        ("c2", "cards", 10),
        ("p3", "pension", 0),
    ]:
        pair("enqueue", call_id, queue, priority, 1.0, 1.0)
    assert pair.announced(2.0) == [
        ("c2", 1, DEFAULT_WAIT, True),
        ("p1", 1, DEFAULT_WAIT, True),
        ("c1", 2, 2 * DEFAULT_WAIT, True),
        ("p2", 2, 2 * DEFAULT_WAIT, True),
        ("p3", 3, 3 * DEFAULT_WAIT, True),
    ]
    assert pair.announced(3.0) == []  # nobody due again before announce_every_seconds


def test_a_caller_gone_before_their_alarm_rang_is_not_announced_and_those_behind_move_up() -> None:
    pair = Pair({"general": {"announce_every_seconds": 30}}, {"1001": {}})
    pair("login", "1001", 0.0)
    on_a_call(pair, "1001", "busy", "general", 0.0)
    for i, call_id in enumerate(["a", "b", "c", "d"]):
        pair("enqueue", call_id, "general", 0, 1.0 + i)
    assert [a[:2] for a in pair.announced(5.0)] == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
    pair("caller_left", "b", 10.0)  # b's alarms (position at 35, offer at 65) stay set
    pair("caller_left", "d", 12.0)
    # a did not move up: silent; c did: announced (and no offer: not a minute yet).
    assert pair.announced(35.0) == [("c", 2, 2 * DEFAULT_WAIT, False)]
    assert pair.announced(65.0) == [("a", 0, 0, True), ("c", 0, 0, True)]


def test_a_caller_stuck_in_place_is_announced_as_soon_as_someone_ahead_leaves() -> None:
    pair = Pair({"general": {"announce_every_seconds": 30}}, {"1001": {}})
    pair("login", "1001", 0.0)
    on_a_call(pair, "1001", "busy", "general", 0.0)
    for i, call_id in enumerate(["a", "b", "c"]):
        pair("enqueue", call_id, "general", 0, 1.0 + i)
    pair.announced(5.0)
    assert pair.announced(35.0) == []  # due, but nobody ahead left
    filed = pair.indexed._lines.filed
    assert [filed[c].announce for c in "abc"] == [STUCK, STUCK, STUCK]
    assert pair.announced(36.0) == []  # stuck callers are not looked at on every tick
    pair("caller_left", "b", 40.0)
    assert pair.announced(41.0) == [("c", 2, 2 * DEFAULT_WAIT, False)]
    assert filed["c"].announce == TIMER and filed["c"].alarms["p"] == 71.0
    assert filed["a"].announce == STUCK  # still first: nothing to say


def test_a_caller_back_in_line_under_the_same_id_follows_their_new_announcements() -> None:
    """A transfer (or a restart) puts a caller back with their old entry time; the alarms of
    their first wait may still be set and must not announce for the second."""
    pair = Pair(
        {"general": {"announce_every_seconds": 30}, "expert": {"announce_every_seconds": 20}},
        {"1001": {}},
    )
    pair("login", "1001", 0.0)
    on_a_call(pair, "1001", "busy", "general", 0.0)
    pair("enqueue", "early", "expert", 0, 0.5)
    pair("enqueue", "x", "general", 0, 1.0)
    assert [a[:2] for a in pair.announced(2.0)] == [("early", 1), ("x", 1)]
    pair("caller_left", "x", 10.0)
    pair("enqueue", "x", "expert", 0, 11.0, 1.0)  # placed by the first entry: behind early
    assert pair.announced(12.0) == [("x", 2, 2 * DEFAULT_WAIT, True)]
    assert pair.announced(32.0) == []  # x's first alarm (32.0) rang: not due on the new one
    pair("caller_left", "early", 40.0)
    assert pair.announced(42.0) == [("x", 1, DEFAULT_WAIT, False)]


def test_the_estimate_counts_the_agents_an_escalation_step_lets_in() -> None:
    pair = Pair(
        {
            "pension": {
                "skill": "social_insurance",
                "min_level": 4,
                "steps": [{"after": 20, "min_level": 2}],
                "announce_every_seconds": 10,
            },
            "general": {},
        },
        {
            "1001": {"social_insurance": 5},
            "1002": {"social_insurance": 2},
            "1003": {"social_insurance": 3},
            "1004": {"social_insurance": 1},
        },
    )
    for agent in ["1001", "1002", "1003", "1004"]:
        pair("login", agent, 0.0)
        on_a_call(pair, agent, f"busy{agent}", "general", 0.0)
    for i, call_id in enumerate(["a", "b", "c", "d"]):
        pair("enqueue", call_id, "pension", 0, 1.0 + i * 0.1)
    # Level 4 first: one agent (1001) could take them.
    assert [a[:3] for a in pair.announced(2.0)] == [
        ("a", 1, DEFAULT_WAIT),
        ("b", 2, 2 * DEFAULT_WAIT),
        ("c", 3, 3 * DEFAULT_WAIT),
        ("d", 4, 4 * DEFAULT_WAIT),
    ]
    pair("enqueue", "e", "pension", 0, 10.0)
    assert pair.announced(10.5) == [("e", 5, 5 * DEFAULT_WAIT, True)]
    pair("caller_left", "a", 25.0)
    # After 20 s levels 2 and up: three agents, so positions 1–3 are one round; e has
    # waited 15 s: still level 4, one agent, one round each.
    assert [a[:3] for a in pair.announced(25.0)] == [
        ("b", 1, DEFAULT_WAIT),
        ("c", 2, DEFAULT_WAIT),
        ("d", 3, DEFAULT_WAIT),
        ("e", 4, 4 * DEFAULT_WAIT),
    ]


def test_new_queue_rules_change_the_estimate_at_the_next_announcement() -> None:
    queues: dict[str, Any] = {
        "pension": {"skill": "social_insurance", "min_level": 4, "announce_every_seconds": 10},
        "general": {},
    }
    agents = {"1001": {"social_insurance": 5}, "1002": {"social_insurance": 2}}
    pair = Pair(queues, agents)
    for agent in agents:
        pair("login", agent, 0.0)
        on_a_call(pair, agent, f"busy{agent}", "general", 0.0)
    for i, call_id in enumerate(["a", "b", "c"]):
        pair("enqueue", call_id, "pension", 0, 1.0 + i)
    assert [a[:3] for a in pair.announced(4.0)][-1] == ("c", 3, 3 * DEFAULT_WAIT)
    queues["pension"] = {**queues["pension"], "min_level": 2}  # 1002 qualifies now
    config = QueuesConfig.model_validate({"queues": queues})
    roster = [AgentEntry(number=n, name=n, skills=s) for n, s in agents.items()]  # type: ignore[arg-type]
    pair("reconfigure", config, roster)
    pair("caller_left", "a", 20.0)
    assert [a[:3] for a in pair.announced(20.0)] == [
        ("b", 1, DEFAULT_WAIT),
        ("c", 2, DEFAULT_WAIT),
    ]


def test_a_caller_ringing_an_agent_when_due_is_announced_once_the_offer_fails() -> None:
    """The position alarm rings while an agent's phone rings for the caller: nothing is said
    then (they may be answered any moment), and their due announcement waits for the offer."""
    pair = Pair({"general": {"announce_every_seconds": 30}}, {"1001": {}, "1002": {}})
    for agent in ["1001", "1002"]:
        pair("login", agent, 0.0)
    on_a_call(pair, "1001", "busy", "general", 0.0)
    pair("pause", "1002", "break", 0.0)
    for i, call_id in enumerate(["a", "b"]):
        pair("enqueue", call_id, "general", 0, 1.0 + i)
    assert [a[:2] for a in pair.announced(3.0)] == [("a", 1), ("b", 2)]
    pair("ready", "1002", 32.0)  # a's phone rings at 1002
    assert pair.announced(33.0) == []  # a's and b's position alarms rang
    assert pair("offer_failed", "a", "1002", "no_answer", 40.0)[0].status == "paused"
    # a is due (30 s since the last announcement) but still first: only b could move up.
    assert pair.announced(41.0) == []
    pair("caller_left", "a", 50.0)
    assert pair.announced(51.0) == [("b", 1, DEFAULT_WAIT, False)]


def test_a_long_line_is_announced_in_parts_and_callers_leaving_between_parts_are_skipped() -> None:
    """At one tick the controller gets ANNOUNCE_PART announcements at a time, in line order,
    and takes other events between parts: a caller who left meanwhile is not announced,
    one who moved up is announced at their new place."""
    many = 2 * ANNOUNCE_PART + 5
    agents = {"1001": {}}
    queues = {"general": {"announce_every_seconds": 30, "max_waiting": 1000}}
    whole, parted = Pair(queues, agents), Pair(queues, agents)
    for pair in (whole, parted):
        pair("login", "1001", 0.0)
        on_a_call(pair, "1001", "busy", "general", 0.0)
        for i in range(many):
            pair("enqueue", f"c{i:03}", "general", 0, 1.0 + i / 1000)
    everyone = whole.announced(5.0)
    parts = list(parted.indexed.tick_in_parts(5.0))
    assert [len(p) for p in parts] == [ANNOUNCE_PART, ANNOUNCE_PART, 5]
    assert [d for p in parts for d in p] == [
        Announce(c, position, wait, offer) for c, position, wait, offer in everyone
    ]
    # Next round of announcements (30 s later): the first part made, then c000 (announced)
    # and c050 (not yet) leave; c050 is not announced, everyone else is, one place up
    # (c001 was 2nd, hence c0NN is NNth now), two behind c050.
    ticking = parted.indexed.tick_in_parts(35.0)
    assert next(ticking) == []  # nobody moved up yet: nobody is told anything
    parted.indexed.caller_left("c000", 35.0)
    parted.indexed.caller_left("c050", 35.0)
    rest = [(d.call_id, d.position) for p in ticking for d in p if isinstance(d, Announce)]
    places = {i: i if i < 50 else i - 1 for i in range(ANNOUNCE_PART, many) if i != 50}
    assert rest == [(f"c{i:03}", place) for i, place in places.items()]


def test_callers_a_tick_cut_short_did_not_reach_are_announced_at_the_next_tick() -> None:
    """The controller stops taking a tick's parts (an error acting on one): the callers of
    the parts not made are not forgotten (their alarms rang already and will not again)."""
    many = 2 * ANNOUNCE_PART + 5
    queues = {"general": {"announce_every_seconds": 60, "max_waiting": 1000}}
    pair = Pair(queues, {"1001": {}})
    pair("login", "1001", 0.0)
    on_a_call(pair, "1001", "busy", "general", 0.0)
    for i in range(many):
        pair("enqueue", f"c{i:03}", "general", 0, 1.0 + i / 1000)
    assert len(pair.announced(5.0)) == many
    pair("caller_left", "c000", 10.0)  # everyone moves up: due again at 65
    ticking = pair.indexed.tick_in_parts(65.0)
    first = next(ticking)
    ticking.close()
    assert [d.call_id for d in first] == [f"c{i:03}" for i in range(1, ANNOUNCE_PART + 1)]
    later = pair.indexed.tick(66.0)
    assert [(d.call_id, d.position) for d in later if isinstance(d, Announce)] == [
        (f"c{i:03}", i) for i in range(ANNOUNCE_PART + 1, many)
    ]
