"""Erlang C against the textbook example and a hand computation."""

from __future__ import annotations

import math

import pytest

from acd.erlang import (
    HourLoad,
    agents_needed,
    average_speed_of_answer,
    erlang_c,
    plan,
    service_level,
)


def test_two_agents_one_erlang_by_hand() -> None:
    # P_wait = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A)) = 1 / (1 + 1 + 1)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # ASA = P_wait · AHT / (N − A) = 1/3 · 60 / 1
    assert average_speed_of_answer(2, 1.0, 60) == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("agents", "waits", "sl", "asa"),
    [
        # The textbook example: 100 calls in 30 minutes, 180 s AHT (10 erlangs), 80/20.
        (11, 0.6821, 0.3896, 122.8),
        (12, 0.4494, 0.6402, 40.4),
        (13, 0.2853, 0.7956, 17.1),
        (14, 0.1741, 0.8884, 7.8),
    ],
)
def test_textbook_ten_erlangs(agents: int, waits: float, sl: float, asa: float) -> None:
    assert erlang_c(agents, 10.0) == pytest.approx(waits, abs=5e-5)
    assert service_level(agents, 10.0, 180, 20) == pytest.approx(sl, abs=5e-5)
    assert average_speed_of_answer(agents, 10.0, 180) == pytest.approx(asa, abs=0.05)


def test_agents_needed_for_80_20_is_14_of_the_textbook() -> None:
    assert agents_needed(200, 180, 0.8, 20) == 14
    assert agents_needed(0, 180, 0.8, 20) == 0


def test_too_few_agents_always_wait() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert service_level(9, 10.0, 180, 20) == 0.0
    assert math.isinf(average_speed_of_answer(10, 10.0, 180))


def test_large_center_does_not_overflow() -> None:
    # 3,000 calls an hour at 5 minutes: 250 erlangs; factorials would overflow a float.
    n = agents_needed(3000, 300, 0.8, 20)
    assert 250 < n < 280
    assert service_level(n, 250.0, 300, 20) >= 0.8 > service_level(n - 1, 250.0, 300, 20)


def test_plan_says_needed_beside_logged_in() -> None:
    rows = plan(
        [HourLoad(9, 200, 180, logged_in=13, staffed=12), HourLoad(3, 0, 0, logged_in=1, staffed=1)]
    )
    assert [(r.hour, r.needed, r.short) for r in rows] == [(9, 14, 2), (3, 0, -1)]
    assert rows[0].traffic == pytest.approx(10.0)
    assert rows[0].service_level == pytest.approx(0.8884, abs=5e-5)


def test_a_target_outside_zero_to_one_is_refused() -> None:
    # 1 or more is never reached: the search would run on to MAX_AGENTS agents.
    for target in (0.0, -0.5, 1.0, 1.5):
        with pytest.raises(ValueError, match="target"):
            agents_needed(200, 180, target, 20)
