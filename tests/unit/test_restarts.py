"""The supervisor's restart policy: quick first restart, backoff, crash loops slowed."""

from __future__ import annotations

from hotline.restarts import RestartPolicy
from hotline.telephony.backoff import Backoff


def policy(**kwargs: float) -> RestartPolicy:
    backoff = Backoff(initial=0.2, factor=2, cap=10, jitter=0, stable_after=30)
    return RestartPolicy(backoff=backoff, **kwargs)  # type: ignore[arg-type]


def test_a_crash_after_a_long_run_restarts_at_once() -> None:
    p = policy()
    decision = p.after_exit(now=1000, ran_for=3600)
    assert decision.delay == 0.2
    assert not decision.crash_loop


def test_repeated_quick_exits_back_off_then_count_as_a_crash_loop() -> None:
    p = policy(loop_window=60, loop_exits=5, loop_delay=30)
    now, delays, loops = 0.0, [], []
    for _ in range(6):
        decision = p.after_exit(now=now, ran_for=1)
        delays.append(decision.delay)
        loops.append(decision.crash_loop)
        now += decision.delay + 1
    assert delays[:4] == [0.2, 0.4, 0.8, 1.6]
    assert loops == [False, False, False, False, True, True]
    assert all(d >= 30 for d in delays[4:])  # slowed, never spun


def test_a_loop_never_restarts_faster_than_the_loop_delay_however_long_it_lasts() -> None:
    p = policy(loop_window=60, loop_exits=3, loop_delay=30)
    now = 0.0
    for _ in range(50):
        decision = p.after_exit(now=now, ran_for=0.1)
        now += decision.delay + 0.1
    # Exits are now 30 s apart: still within the window, still a loop, still slow.
    assert decision.crash_loop and decision.delay >= 30


def test_a_stable_run_ends_the_loop_and_resets_the_delays() -> None:
    p = policy(loop_window=60, loop_exits=3, loop_delay=30)
    for t in range(4):
        p.after_exit(now=float(t), ran_for=0.5)
    decision = p.after_exit(now=100, ran_for=45)
    assert not decision.crash_loop
    assert decision.delay == 0.2
    assert decision.exits_in_window == 1


def test_exits_spread_wider_than_the_window_are_not_a_loop() -> None:
    p = policy(loop_window=60, loop_exits=3, loop_delay=30)
    for t in (0.0, 70.0, 140.0, 210.0):
        decision = p.after_exit(now=t, ran_for=10)  # short runs, but rare
    assert not decision.crash_loop
    assert decision.exits_in_window == 1
