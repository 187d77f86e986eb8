"""Who may book a callback: one pending per number, and a daily cap per number.

Pure bookkeeping for the whole center. Without it one phone pressing 1 again and again
(a prank, a stuck auto-dialler, a harassment campaign) fills the queue with callbacks that
agents must dial one by one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["booked", "exists", "limit"]


@dataclass
class CallbackBook:
    """Pending callbacks by number and each day's bookings by number (as call ids, so that
    what a restart reads back from the database is never counted twice)."""

    max_per_day: int
    pending: dict[str, str] = field(default_factory=dict)  # number -> call id
    _booked: defaultdict[tuple[str, dt.date], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    _today: dt.date = dt.date.min

    def book(self, number: str, call_id: str, day: dt.date) -> Verdict:
        """Book for `call_id` if this number may have one more callback today."""
        if day > self._today:  # a new day: yesterday's counts are done with
            self._today = day
            self.forget_before(day)
        if self.pending.get(number, call_id) != call_id:
            return "exists"
        booked = self._booked[(number, day)]
        if call_id not in booked and len(booked) >= self.max_per_day:
            return "limit"
        self.pending[number] = call_id
        booked.add(call_id)
        return "booked"

    def restore(self, number: str, call_id: str, day: dt.date, pending: bool) -> None:
        """A booking the database knows of (after a restart, or read again later)."""
        self._booked[(number, day)].add(call_id)
        if pending:
            self.pending.setdefault(number, call_id)  # a booking of this run stays

    def closed(self, number: str, call_id: str) -> None:
        """The callback ended (done, failed, expired): the number may book again."""
        if self.pending.get(number) == call_id:
            del self.pending[number]

    def forget_before(self, day: dt.date) -> None:
        """Drop counts of earlier days (bounded memory)."""
        for key in [k for k in self._booked if k[1] < day]:
            del self._booked[key]
