"""What a waiting caller's channel keeps for a restarted controller (QUEUE_VAR)."""

from __future__ import annotations

from hotline.desk import QueueEntry, queue_value, read_queue


def test_place_priority_and_a_transfers_new_wait_survive_the_round_trip() -> None:
    entry = QueueEntry(1764570000.125, 15, waiting_since=1764570600.5)
    assert QueueEntry.decode(entry.encode()) == entry
    plain = QueueEntry(1764570000.125, 10)
    assert QueueEntry.decode(plain.encode()) == plain


def test_an_older_releases_value_or_garbage_keeps_what_can_be_read() -> None:
    assert QueueEntry.decode("1764570000.125") == QueueEntry(1764570000.125, 0, None)
    assert QueueEntry.decode("") == QueueEntry(0.0, 0, None)
    assert QueueEntry.decode("x|y|z") == QueueEntry(0.0, 0, None)


def test_the_queue_and_the_place_in_it_are_one_value() -> None:
    entry = QueueEntry(1764570000.125, 15, waiting_since=1764570600.5)
    assert read_queue(queue_value("pension", entry)) == ("pension", entry)


def test_an_older_release_kept_the_queue_alone_and_its_entry_apart() -> None:
    assert read_queue("pension") == ("pension", None)  # ENTERED_VAR is read then
    assert read_queue("") == ("", None)
