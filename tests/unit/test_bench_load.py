"""The load benchmark's message counts, read from Asterisk's `core show taskprocessors`."""

from __future__ import annotations

from bench.center import taskprocessor_counts

# As Asterisk 22 prints it (the last columns cut off here).
TASKPROCESSORS = """
Processor                                                  Processed In Queue Max Depth
stasis/m:ari:application/hotline-00000052                      15500        0       712
stasis/m:ari:application/test-observer-00000060                  900        0         3
stasis/m:manager:core-00000006                                 20000        0        40
stasis/p:channel:all-00000001                                    100        0         1

4 taskprocessors
"""


def test_the_application_and_ami_messages_are_counted_apart_from_the_rest() -> None:
    counts = taskprocessor_counts(TASKPROCESSORS, "hotline")
    assert counts == {"application": 15500, "manager": 20000, "all": 36500}


def test_no_output_counts_nothing() -> None:
    assert taskprocessor_counts("", "hotline") == {"application": 0, "manager": 0, "all": 0}
