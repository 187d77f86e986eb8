"""Free agents are pooled by skill and level, each pool kept in the orders its skill's queues
pick by (acd/staffing.py): queues sharing a skill with different strategies, and new rules
that change a strategy, still pick as the naive router does."""

from __future__ import annotations

from typing import Any

from acd.queues import QueuesConfig
from acd.roster import AgentEntry
from acd.state import Offer
from tests.unit.test_router_announcing import Pair

AGENTS = {
    "1001": {"social_insurance": 3},
    "1002": {"social_insurance": 3},
    "1003": {"social_insurance": 5},
    "1004": {"social_insurance": 3, "employment": 2},
}


def offered(decisions: list[Any]) -> list[str]:
    return [d.agent for d in decisions if isinstance(d, Offer)]


def test_queues_sharing_a_skill_pick_by_their_own_strategies() -> None:
    queues: dict[str, Any] = {
        "pension": {"skill": "social_insurance", "strategy": "best_skill", "wrapup_seconds": 0},
        "medical": {"skill": "social_insurance", "strategy": "fewest_calls", "wrapup_seconds": 0},
        "cards": {"skill": "social_insurance", "strategy": "round_robin", "wrapup_seconds": 0},
        "jobs": {"skill": "employment", "strategy": "longest_idle", "wrapup_seconds": 0},
    }
    pair = Pair(queues, AGENTS)
    for i, agent in enumerate(AGENTS):
        pair("login", agent, float(i))
    assert offered(pair("enqueue", "p1", "pension", 0, 10.0)) == ["1003"]  # highest level
    pair("answered", "p1", "1003", 11.0)
    pair("call_finished", "1003", "pension", 60.0, 12.0)
    # Fewest calls: 1003 took one; of the others, the longest idle (1001).
    assert offered(pair("enqueue", "m1", "medical", 0, 13.0)) == ["1001"]
    pair("answered", "m1", "1001", 14.0)
    pair("call_finished", "1001", "medical", 60.0, 15.0)
    # Round robin: agents never offered a call first (1002, then 1004).
    assert offered(pair("enqueue", "c1", "cards", 0, 16.0)) == ["1002"]
    # 1002's phone is busy: skipped for a while; next in turn is 1004.
    assert offered(pair("offer_failed", "c1", "1002", "busy", 17.0)) == ["1004"]
    # 1003's last offer was before 1001's.
    assert offered(pair("enqueue", "c2", "cards", 0, 18.0)) == ["1003"]
    assert offered(pair("enqueue", "j1", "jobs", 0, 19.0)) == []  # 1004 rings for c1
    assert offered(pair("caller_left", "c1", 20.0)) == ["1004"]  # free again: j1


def test_a_strategy_changed_by_new_rules_picks_by_its_own_order() -> None:
    queues: dict[str, Any] = {"pension": {"skill": "social_insurance", "wrapup_seconds": 0}}
    pair = Pair(queues, AGENTS)
    for i, agent in enumerate(AGENTS):
        pair("login", agent, float(i))
    pair("enqueue", "p1", "pension", 0, 10.0)  # best skill: 1003
    pair("answered", "p1", "1003", 11.0)
    pair("call_finished", "1003", "pension", 60.0, 12.0)
    queues["pension"] = {**queues["pension"], "strategy": "fewest_calls"}
    config = QueuesConfig.model_validate({"queues": queues})
    roster = [AgentEntry(number=n, name=n, skills=s) for n, s in AGENTS.items()]  # type: ignore[arg-type]
    pair("reconfigure", config, roster)
    assert offered(pair("enqueue", "p2", "pension", 0, 13.0)) == ["1001"]
