"""One pending callback per number, and a daily cap per number."""

from __future__ import annotations

import datetime as dt

from acd.callbacks import CallbackBook

MON, TUE = dt.date(2026, 12, 7), dt.date(2026, 12, 8)


def test_a_number_with_a_pending_callback_keeps_it() -> None:
    book = CallbackBook(max_per_day=3)
    assert book.book("13900001111", "a", MON) == "booked"
    assert book.book("13900001111", "b", MON) == "exists"
    assert book.pending == {"13900001111": "a"}
    assert book.book("13900002222", "b", MON) == "booked"  # another number is another matter


def test_the_daily_cap_counts_bookings_not_pending_ones() -> None:
    book = CallbackBook(max_per_day=2)
    for call in ("a", "b"):
        assert book.book("13900001111", call, MON) == "booked"
        book.closed("13900001111", call)
    assert book.book("13900001111", "c", MON) == "limit"
    assert book.pending == {}
    assert book.book("13900001111", "c", TUE) == "booked"  # a new day
    book.forget_before(TUE)
    assert book.book("13900001111", "d", MON) == "exists"  # c is still pending


def test_what_the_database_says_is_put_back_after_a_restart() -> None:
    book = CallbackBook(max_per_day=2)
    book.restore("13900001111", "a", MON)
    book.restore("13900003333", None, MON, count=2)
    assert book.book("13900001111", "z", MON) == "exists"
    assert book.book("13900003333", "z", MON) == "limit"
    book.closed("13900001111", "someone-else")  # only its own call closes a booking
    assert book.pending == {"13900001111": "a"}
