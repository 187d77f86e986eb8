"""Who may book a callback: one pending per number, and a daily cap per number.

Pure bookkeeping for the whole center. Without it one phone pressing 1 again and again
(a prank, a stuck auto-dialler, a harassment campaign) fills the queue with callbacks that
agents must dial one by one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["booked", "exists", "limit"]


@dataclass
class CallbackBook:
    """Pending callbacks by number and today's bookings by number."""

    max_per_day: int
    pending: dict[str, str] = field(default_factory=dict)  # number -> call id
    _booked: Counter[tuple[str, dt.date]] = field(default_factory=Counter)

    def book(self, number: str, call_id: str, day: dt.date) -> Verdict:
        """Book for `call_id` if this number may have one more callback today."""
        if self.pending.get(number, call_id) != call_id:
            return "exists"
        if self._booked[(number, day)] >= self.max_per_day:
            return "limit"
        self.pending[number] = call_id
        self._booked[(number, day)] += 1
        return "booked"

    def restore(self, number: str, call_id: str | None, day: dt.date, count: int = 1) -> None:
        """What the database says was booked (`call_id`: still pending) after a restart."""
        if call_id is not None:
            self.pending[number] = call_id
        self._booked[(number, day)] += count

    def closed(self, number: str, call_id: str) -> None:
        """The callback ended (done, failed, expired): the number may book again."""
        if self.pending.get(number) == call_id:
            del self.pending[number]

    def forget_before(self, day: dt.date) -> None:
        """Drop counts of earlier days (called once a day or so: bounded memory)."""
        for key in [k for k in self._booked if k[1] < day]:
            del self._booked[key]
