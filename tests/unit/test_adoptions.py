"""After a controller restart the waiting callers come back in their order, whichever of
them is adopted first (hotline/adoptions.py, Router.defer_offers)."""

from __future__ import annotations

from acd.router import Decision, Router
from hotline.adoptions import Adoptions
from tests.unit.test_router import make, offers

# R waited first, then W1, then W2; 1003 is ready (its phone rang for R when the controller
# went), 1004 is paused.
ENTERED = {"R": 8.0, "W1": 8.5, "W2": 9.0}


def restarted() -> tuple[Adoptions, Router]:
    r = make({"general": {}}, {"1003": {}, "1004": {}})
    adoptions = Adoptions(r)
    r.login("1003", 20)
    r.login("1004", 20)
    r.pause("1004", "break", 20)
    return adoptions, r


def test_the_caller_adopted_first_is_not_offered_before_one_who_waited_longer() -> None:
    adoptions, r = restarted()
    adoptions.begin()
    for call in ("R", "W1", "W2"):
        adoptions.expect(call)
    assert adoptions.posted(20.01) == []
    decisions: list[Decision] = []
    for call in ("W1", "R", "W2"):  # the adoptions end in another order (CI saw W1 first)
        decisions += r.enqueue(call, "general", 0, 20.02, ENTERED[call])
        decisions += adoptions.adopted(call, 20.02)
    assert offers(decisions) == [("R", "1003")]
    # 1004 ready a second later: the next in line.
    assert offers(r.ready("1004", 21)) == [("W1", "1004")]


def test_offers_wait_for_the_first_reconcile_from_the_start() -> None:
    """The controller's own start: callbacks restored from the database and agents ready
    before Asterisk is even connected wait for the calls it kept (an older caller may be
    among them)."""
    adoptions, r = restarted()
    assert offers(r.enqueue("C", "general", 0, 20, 9.5)) == []
    adoptions.begin()
    adoptions.expect("R")
    assert adoptions.posted(20.01) == []
    r.enqueue("R", "general", 0, 20.02, ENTERED["R"])
    assert offers(adoptions.adopted("R", 20.02)) == [("R", "1003")]


def test_an_adoption_that_never_ends_holds_offers_only_for_the_grace() -> None:
    adoptions, r = restarted()
    first = adoptions.begin()
    adoptions.expect("R")
    adoptions.expect("W1")
    adoptions.posted(20.01)
    r.enqueue("W1", "general", 0, 20.02, ENTERED["W1"])
    adoptions.adopted("W1", 20.02)
    # A reconnect meanwhile: the first reconcile's timer no longer says.
    second = adoptions.begin()
    assert adoptions.overdue(first, 25) == []
    assert offers(adoptions.overdue(second, 25)) == [("W1", "1003")]
    assert not r.offers_deferred
