"""Who can take a call, by skill and level, so routing never scans the whole floor.

The router files an agent here after every change; three views follow:
- free agents (ready, phone reachable, not skipped after a busy signal) in pools by skill and
  level, each pool sorted the ways the strategies pick (longest idle, fewest calls, round
  robin), plus one pool of every free agent for queues without a skill;
- how many agents are staffed (not paused or logged out) and logged in, by skill and level:
  the estimated wait and whether anyone could ever serve a queue;
- who sits at which desk phone.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass

from sortedcontainers import SortedList

from acd.queues import Strategy
from acd.state import Agent, AgentStatus

ANY_SKILL = ""  # the pool of every free agent, for queues that need no skill

# How each strategy ranks the free agents it may pick (the router's tie-breaks, as keys).
IDLE, CALLS, TURN = 0, 1, 2
RANKING = {
    Strategy.best_skill: IDLE,  # within the highest level
    Strategy.longest_idle: IDLE,
    Strategy.fewest_calls: CALLS,
    Strategy.round_robin: TURN,
}
Rank = tuple[float | int | str, ...]


def ranks(agent: Agent) -> tuple[Rank, Rank, Rank]:
    """The agent's keys in the IDLE, CALLS and TURN orders (the number breaks ties)."""
    return (
        (agent.idle_since, agent.number),
        (agent.calls, agent.idle_since, agent.number),
        (agent.last_offered_seq, agent.number),
    )


class Pool:
    """Free agents with one skill at one level (or every free agent)."""

    __slots__ = ("members", "orders")

    def __init__(self, rankings: frozenset[int]) -> None:
        self.members: dict[str, tuple[Rank, Rank, Rank]] = {}
        self.orders: dict[int, SortedList[Rank]] = {r: SortedList() for r in rankings}

    def add(self, number: str, keys: tuple[Rank, Rank, Rank]) -> None:
        """File a free agent under their current keys."""
        self.members[number] = keys
        for ranking, order in self.orders.items():
            order.add(keys[ranking])

    def remove(self, number: str) -> None:
        """The agent is no longer free here."""
        keys = self.members.pop(number)
        for ranking, order in self.orders.items():
            order.remove(keys[ranking])

    def first(self, ranking: int) -> Rank | None:
        """The key of the agent this ranking puts first."""
        order = self.orders[ranking]
        return order[0] if order else None


@dataclass(slots=True)
class _Filed:
    """How an agent is filed now (to undo exactly that on the next change)."""

    skills: tuple[tuple[str, int], ...] = ()
    free: tuple[Rank, Rank, Rank] | None = None
    staffed: bool = False
    logged_in: bool = False
    seat: str = ""


class Staffing:
    """The agents indexed by skill and level; the router keeps it current."""

    def __init__(self, strategies: dict[str | None, set[Strategy]]) -> None:
        """`strategies`: those of the queues needing each skill (None: queues without one).
        A skill's pools keep only the orders its queues pick by: every free agent is filed
        in a pool per skill, so each order kept costs on every change of an agent."""
        self._rankings = {
            skill: frozenset(RANKING[s] for s in used if s in RANKING)
            for skill, used in strategies.items()
        }
        self._filed: dict[str, _Filed] = {}
        self._pools: dict[tuple[str, int], Pool] = {}
        self._levels: dict[str, list[int]] = {}  # the levels each skill has, ascending
        self._any = Pool(self._rankings.get(None, frozenset()))
        self.staffed: Counter[tuple[str, int]] = Counter()
        self.staffed_total = 0
        self._staffed_at_least: dict[tuple[str, int], int] = {}  # sums, until staffing changes
        self.logged_in: Counter[tuple[str, int]] = Counter()
        self.logged_in_total = 0
        self._seats: dict[str, set[str]] = {}

    def file(self, agent: Agent, now: float) -> tuple[bool, bool]:
        """File the agent as they are now. Returns (newly free, logged in or out)."""
        old = self._filed.get(agent.number) or _Filed()
        new = _Filed(
            skills=tuple(sorted(agent.skills.items())),
            free=ranks(agent) if self.is_free(agent, now) else None,
            staffed=agent.status not in (AgentStatus.logged_out, AgentStatus.paused),
            logged_in=agent.status != AgentStatus.logged_out,
            seat=agent.seat,
        )
        self._filed[agent.number] = new
        same_skills = old.skills == new.skills
        if not same_skills:
            for key in new.skills:
                self._pool(key)  # the skill's levels are known even while nobody is free
        if old.free != new.free or not same_skills:
            if old.free is not None:
                self._any.remove(agent.number)
                for key in old.skills:
                    self._pools[key].remove(agent.number)
            if new.free is not None:
                self._any.add(agent.number, new.free)
                for key in new.skills:
                    self._pool(key).add(agent.number, new.free)
        if old.staffed != new.staffed or not same_skills:
            self.staffed.subtract(dict.fromkeys(old.skills, 1) if old.staffed else {})
            self.staffed.update(dict.fromkeys(new.skills, 1) if new.staffed else {})
            self.staffed_total += new.staffed - old.staffed
            self._staffed_at_least.clear()
        if old.logged_in != new.logged_in or not same_skills:
            self.logged_in.subtract(dict.fromkeys(old.skills, 1) if old.logged_in else {})
            self.logged_in.update(dict.fromkeys(new.skills, 1) if new.logged_in else {})
            self.logged_in_total += new.logged_in - old.logged_in
        if old.seat != new.seat:
            self._seats.get(old.seat, set()).discard(agent.number)
            self._seats.setdefault(new.seat, set()).add(agent.number)
        newly_free = new.free is not None and (old.free is None or not same_skills)
        return newly_free, old.logged_in != new.logged_in or not same_skills

    @staticmethod
    def is_free(agent: Agent, now: float) -> bool:
        """Ready, phone reachable, not briefly skipped after a busy signal."""
        return agent.status == AgentStatus.ready and agent.reachable and now >= agent.skip_until

    def _pool(self, key: tuple[str, int]) -> Pool:
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = Pool(self._rankings.get(key[0], frozenset()))
            levels = self._levels.setdefault(key[0], [])
            bisect.insort(levels, key[1])
        return pool

    def _free_pools(self, skill: str | None, level: int) -> list[Pool]:
        """The non-empty pools whose agents qualify (`level` or above), highest level first."""
        if skill is None:
            return [self._any] if self._any.members else []
        out = []
        for have in reversed(self._levels.get(skill, ())):
            if have < level:
                break
            pool = self._pools[(skill, have)]
            if pool.members:
                out.append(pool)
        return out

    def has_free(self, skill: str | None, level: int) -> bool:
        """Whether some free agent has `skill` at `level` or above (None: any free agent)."""
        if skill is None:
            return bool(self._any.members)
        for have in reversed(self._levels.get(skill, ())):
            if have < level:
                return False
            if self._pools[(skill, have)].members:
                return True
        return False

    def pick(self, skill: str | None, level: int, strategy: Strategy) -> str | None:
        """The free agent the strategy takes for a call needing `skill` at `level`."""
        pools = self._free_pools(skill, level)
        if not pools:
            return None
        ranking = RANKING[strategy]
        if strategy == Strategy.best_skill:
            pools = pools[:1]  # the highest level present wins outright
        best = min(key for pool in pools if (key := pool.first(ranking)) is not None)
        return str(best[-1])

    def free_qualified(self, skill: str | None, level: int) -> list[str]:
        """Every free agent who qualifies, by number (ring all)."""
        return sorted(number for pool in self._free_pools(skill, level) for number in pool.members)

    def count_staffed(self, skill: str | None, level: int) -> int:
        """Staffed agents with `skill` at `level` or above (None: all staffed agents)."""
        if skill is None:
            return self.staffed_total
        known = self._staffed_at_least.get((skill, level))
        if known is None:  # announcements ask this for many callers of a queue in one tick
            levels = self._levels_at_least(skill, level)
            known = self._staffed_at_least[(skill, level)] = sum(
                self.staffed[(skill, have)] for have in levels
            )
        return known

    def count_logged_in(self, skill: str | None, level: int) -> int:
        """Logged-in agents with `skill` at `level` or above (None: all logged in)."""
        if skill is None:
            return self.logged_in_total
        return sum(self.logged_in[(skill, have)] for have in self._levels_at_least(skill, level))

    def _levels_at_least(self, skill: str, level: int) -> list[int]:
        levels = self._levels.get(skill, [])
        return levels[bisect.bisect_left(levels, level) :]

    def at_seat(self, seat: str) -> set[str]:
        """Agents whose desk phone this is now (logged in or out)."""
        return self._seats.get(seat, set())
