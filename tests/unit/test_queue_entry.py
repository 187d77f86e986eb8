"""What a waiting caller's channel keeps for a restarted controller (ENTERED_VAR)."""

from __future__ import annotations

from hotline.desk import QueueEntry


def test_place_priority_and_a_transfers_new_wait_survive_the_round_trip() -> None:
    entry = QueueEntry(1764570000.125, 15, waiting_since=1764570600.5)
    assert QueueEntry.decode(entry.encode()) == entry
    plain = QueueEntry(1764570000.125, 10)
    assert QueueEntry.decode(plain.encode()) == plain


def test_an_older_releases_value_or_garbage_keeps_what_can_be_read() -> None:
    assert QueueEntry.decode("1764570000.125") == QueueEntry(1764570000.125, 0, None)
    assert QueueEntry.decode("") == QueueEntry(0.0, 0, None)
    assert QueueEntry.decode("x|y|z") == QueueEntry(0.0, 0, None)
