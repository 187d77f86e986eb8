"""Router edge cases beyond test_router.py: the rules at their boundaries."""

from __future__ import annotations

from typing import Any

from acd.router import Overflow
from tests.unit.test_router import make, offers


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


ESCALATING = {"general": {"skill": "social_insurance", "min_level": 3, "steps": []}}


def escalating(after: float) -> dict[str, Any]:
    return {"general": {**ESCALATING["general"], "steps": [{"after": after, "min_level": 1}]}}


def test_an_escalation_step_applies_at_the_moment_its_rule_says_not_an_ulp_later() -> None:
    """`now - entered >= after` in floats: 15.37 - 6.37 >= 9.0 although 6.37 + 9.0 > 15.37."""
    r = make(escalating(9.0), {"1001": {"social_insurance": 1}})
    r.login("1001", 0)
    assert offers(r.enqueue("a", "general", 0, 6.37)) == []
    assert offers(r.tick(15.37)) == [("a", "1001")]


def test_an_escalation_step_does_not_apply_an_ulp_early() -> None:
    """115.19999999999999 - 76.1 < 39.1 although 76.1 + 39.1 == 115.19999999999999."""
    r = make(escalating(39.1), {"1001": {"social_insurance": 1}})
    r.login("1001", 0)
    r.enqueue("a", "general", 0, 76.1)
    assert offers(r.tick(76.1 + 39.1)) == []
    assert offers(r.tick(115.2)) == [("a", "1001")]


def test_a_clock_stepping_back_is_obeyed_as_the_rules_say() -> None:
    """The wall clock may step back (NTP): what was due at the later time is not due yet."""
    r = make(escalating(30), {"1001": {"social_insurance": 2}})
    r.login("1001", 0)
    r.pause("1001", "meeting", 0)
    r.enqueue("a", "general", 0, 0)
    assert offers(r.tick(30)) == []  # escalated, but the only agent is paused
    assert offers(r.ready("1001", 29)) == []  # one second earlier: not escalated yet
    assert offers(r.tick(30)) == [("a", "1001")]
