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
    book.restore("13900001111", "a", MON, pending=True)
    book.restore("13900003333", "x", MON, pending=False)
    book.restore("13900003333", "y", MON, pending=False)
    assert book.book("13900001111", "z", MON) == "exists"
    assert book.book("13900003333", "z", MON) == "limit"
    book.closed("13900001111", "someone-else")  # only its own call closes a booking
    assert book.pending == {"13900001111": "a"}


def test_reading_the_database_again_counts_nothing_twice() -> None:
    """A late restore (the database was away at start) sees this run's bookings too."""
    book = CallbackBook(max_per_day=2)
    assert book.book("13900001111", "a", MON) == "booked"
    book.restore("13900001111", "a", MON, pending=True)
    book.restore("13900001111", "old", MON, pending=False)
    assert book.pending == {"13900001111": "a"}
    book.closed("13900001111", "a")
    assert book.book("13900001111", "b", MON) == "limit"  # a and old: two today


def test_a_new_day_forgets_the_old_counts() -> None:
    book = CallbackBook(max_per_day=1)
    assert book.book("13900001111", "a", MON) == "booked"
    book.closed("13900001111", "a")
    assert book.book("13900001111", "b", TUE) == "booked"
    assert all(day == TUE for _, day in book._booked)
