"""Router edge cases beyond test_router.py: the rules at their boundaries."""

from __future__ import annotations

from acd.router import Overflow
from tests.unit.test_router import make


def test_a_booked_callback_is_never_held_past_its_deadline() -> None:
    """Nobody is on the line of a booked callback; holding it would keep it forever."""
    r = make({"general": {}}, {"1001": {}})
    r.login("1001", 0)
    r.pause("1001", "meeting", 0)
    r.enqueue("a", "general", 0, 1)
    r.hold("a")
    r.to_callback("a", 2, deadline=10)
    r.hold("a")
    assert not r.waiting["a"].held
    assert Overflow("a", "general", "callback_deadline") in r.tick(10)
