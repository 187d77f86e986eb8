"""Offers wait while a (re)connected controller adopts the calls Asterisk kept.

Each adopted call is put back in its queue by its own mailbox consumer, once its channel
variables are read: in no set order (a few milliseconds apart). An agent ready meanwhile
would be offered whichever caller came back first, not the one who waited longest. So the
router makes no offers (Router.defer_offers) from the controller's start, and from each
reconcile, until every call it posted for adoption is back, or `GRACE_SECONDS` have passed
(an adoption stuck on a slow Asterisk must not keep every agent idle).

Pure bookkeeping: the controller calls it and applies the decisions it returns.
"""

from __future__ import annotations

from acd.router import Decision, Router

GRACE_SECONDS = 5.0


class Adoptions:
    """The calls being adopted, and whether the router's offers wait for them."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.pending: set[str] = set()
        self.reconciling = False
        self.round = 0  # reconciles so far: a late grace timer of an earlier one is moot
        self.begin()  # the calls of a run before ours are not back yet

    def begin(self) -> int:
        """A reconcile starts: offers wait until the calls it adopts are back in place.
        Returns the round, for `overdue`."""
        self.round += 1
        self.reconciling = True
        self.router.defer_offers()
        return self.round

    def expect(self, call_id: str) -> None:
        """This call is posted for adoption."""
        self.pending.add(call_id)

    def adopted(self, call_id: str, now: float) -> list[Decision]:
        """This call's adoption is over (back in its queue, or anywhere else)."""
        self.pending.discard(call_id)
        return self._settled(now)

    def posted(self, now: float) -> list[Decision]:
        """The reconcile posted every call it adopts (or stopped, failing)."""
        self.reconciling = False
        return self._settled(now)

    def overdue(self, round_: int, now: float) -> list[Decision]:
        """`GRACE_SECONDS` after the reconcile of `round_` began: offers resume whatever is
        still adopting (unless a later reconcile began since: its own timer says)."""
        if round_ != self.round:
            return []
        self.pending.clear()
        return self.posted(now)

    def _settled(self, now: float) -> list[Decision]:
        if self.reconciling or self.pending or not self.router.offers_deferred:
            return []
        return self.router.resume_offers(now)
