"""Reconnect delays grow to a cap and reset after a stable connection."""

from __future__ import annotations

import random

from hotline.telephony.backoff import Backoff


def test_grows_exponentially_to_the_cap() -> None:
    b = Backoff(initial=0.2, factor=2, cap=3, jitter=0, rng=random.Random(1))
    assert [round(b.next_delay(), 2) for _ in range(6)] == [0.2, 0.4, 0.8, 1.6, 3.0, 3.0]


def test_short_connections_keep_backing_off_stable_ones_reset() -> None:
    b = Backoff(initial=1, factor=2, cap=100, jitter=0, stable_after=5)
    b.next_delay()
    b.next_delay()
    b.connected_for(0.5)  # flapping: do not hammer Asterisk
    assert b.next_delay() == 4
    b.connected_for(30)
    assert b.next_delay() == 1


def test_jitter_stays_within_bounds() -> None:
    b = Backoff(initial=1, factor=1, cap=1, jitter=0.1, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(200)]
    assert all(0.9 <= d <= 1.1 for d in delays)
    assert len(set(delays)) > 100
