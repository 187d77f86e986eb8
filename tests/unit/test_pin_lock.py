"""Hot-desking PINs: wrong guesses are limited per agent and per desk phone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from acd.pin_lock import PinLock

MINUTE = 60.0


def test_three_wrong_pins_lock_the_agent_even_against_the_right_pin() -> None:
    lock = PinLock(lock_after=3, lock_minutes=30)
    outcomes = [
        lock.attempt(agent="1002", phone=phone, correct=False, now=t)
        for t, phone in ((0, "1003"), (10, "1004"), (20, "1001"))
    ]
    assert outcomes == ["wrong", "wrong", "locked"]
    # The right PIN, from a phone with no failures of its own: still refused while locked.
    assert lock.attempt(agent="1002", phone="1005", correct=True, now=25 * MINUTE) == "locked"
    assert lock.locked_until("agent", "1002", 25 * MINUTE) == 20 + 30 * MINUTE
    # Once the lock has run out, the right PIN works again.
    assert lock.attempt(agent="1002", phone="1005", correct=True, now=31 * MINUTE) == "ok"


def test_one_phone_trying_many_agents_is_locked() -> None:
    lock = PinLock(lock_after=3, lock_minutes=30)
    tries = [
        lock.attempt(agent=agent, phone="1003", correct=False, now=i)
        for i, agent in enumerate(("1001", "1002", None))  # None: a 工号 nobody has
    ]
    assert tries == ["wrong", "wrong", "locked"]
    assert lock.locked_until("phone", "1003", 5) > 5
    assert lock.attempt(agent="1004", phone="1003", correct=True, now=6) == "locked"
    # Agents 1001 and 1002 each had one failure only: they still log in elsewhere.
    assert lock.attempt(agent="1001", phone="1004", correct=True, now=7) == "ok"


def test_a_success_clears_the_agents_count_but_not_the_phones() -> None:
    lock = PinLock(lock_after=3, lock_minutes=30)
    assert lock.attempt(agent="1001", phone="1003", correct=False, now=0) == "wrong"
    assert lock.attempt(agent="1001", phone="1003", correct=False, now=1) == "wrong"
    assert lock.attempt(agent="1001", phone="1003", correct=True, now=2) == "ok"
    # Agent 1001 starts afresh, but a phone that knows one PIN cannot go on guessing.
    assert lock.attempt(agent="1002", phone="1003", correct=False, now=3) == "locked"
    assert lock.attempt(agent="1001", phone="1004", correct=False, now=4) == "wrong"


def test_old_failures_are_forgotten_after_the_lock_period() -> None:
    lock = PinLock(lock_after=3, lock_minutes=30)
    for t in (0, 31 * MINUTE, 62 * MINUTE):
        assert lock.attempt(agent="1001", phone="1003", correct=False, now=t) == "wrong"
    assert lock.attempt(agent="1001", phone="1003", correct=True, now=63 * MINUTE) == "ok"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1001", "1002", None]),
            st.sampled_from(["1003", "1004"]),
            st.floats(min_value=0, max_value=10 * MINUTE),
        ),
        max_size=40,
    )
)
def test_never_more_than_lock_after_wrong_guesses_per_window(
    attempts: list[tuple[str | None, str, float]],
) -> None:
    """However guesses are spread, a phone gets at most lock_after wrong answers per
    lock period, so a 6-digit PIN cannot be found by trying."""
    lock = PinLock(lock_after=3, lock_minutes=30)
    now = 0.0
    counted: dict[str, int] = {}
    for agent, phone, step in attempts:
        now += step
        if lock.attempt(agent=agent, phone=phone, correct=False, now=now) != "locked":
            counted[phone] = counted.get(phone, 0) + 1
    # All attempts fit in 40 × 10 minutes: at most 14 lock periods of 30 minutes.
    for phone, wrong in counted.items():
        assert wrong <= 2 * (int(now // (30 * MINUTE)) + 1), (phone, wrong)
