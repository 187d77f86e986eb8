"""The small decisions of a conversation (acd/conversation_rules.py) and the typed ARI events
they are fed (hotline/telephony/events.py)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from acd.channel_events import ChannelAnswered, ChannelHangup, KeyPressed, PlaybackDone
from acd.conversation_rules import (
    AgentKeys,
    announcement_prompts,
    caller_priority,
    disposition_when_caller_left,
    offer_outcome,
    repeat_priority,
    whisper_prompts,
)
from hotline.telephony.events import channel_event, lost_channel

TRANSFERS = {"1": "pension", "#": "general"}


def test_offer_outcome_from_the_hangup_cause() -> None:
    assert offer_outcome(17) == "busy"  # user busy
    assert offer_outcome(19) == "no_answer"  # no answer (ring timeout)
    assert offer_outcome(16) == "no_answer"  # normal clearing before Stasis: declined
    assert offer_outcome(0) == "no_answer"
    assert offer_outcome(3) == "unreachable"  # no route
    assert offer_outcome(17, lost=True) == "lost"  # ended unseen: the cause means nothing


def test_whisper_says_the_queue_and_the_wait_in_whole_minutes_at_least_one() -> None:
    assert whisper_prompts("pension", 10) == (
        "queue-name-pension",
        "whisper-waited",
        "d1",
        "minutes",
    )
    assert whisper_prompts("pension", 170)[2:] == ("d3", "minutes")


def test_announcement_position_and_wait_then_callback_offer() -> None:
    assert announcement_prompts(2, 100, offer_callback=True) == [
        "queue-position",
        "d2",
        "queue-position-unit",
        "queue-wait",
        "d2",
        "minutes",
        "callback-offer",
    ]
    # No estimate yet (position 0): only the offer, or nothing.
    assert announcement_prompts(0, 0, offer_callback=True) == ["callback-offer"]
    assert announcement_prompts(0, 0, offer_callback=False) == []


def test_star_then_key_transfers_other_keys_do_not() -> None:
    keys = AgentKeys()
    keys, target = keys.press("1", TRANSFERS)
    assert target is None  # no star first
    keys, target = keys.press("*", TRANSFERS)
    assert target is None and keys.pending == "*"
    keys, target = keys.press("1", TRANSFERS)
    assert target == "pension" and keys == AgentKeys()
    keys, target = keys.press("*", TRANSFERS)
    keys, target = keys.press("7", TRANSFERS)  # not a transfer key: the star is used up
    assert target is None
    keys, target = keys.press("1", TRANSFERS)
    assert target is None


@given(st.lists(st.sampled_from(list("0123456789*#")), max_size=30))
def test_a_transfer_only_ever_follows_a_star(presses: list[str]) -> None:
    keys = AgentKeys()
    previous = ""
    for digit in presses:
        keys, target = keys.press(digit, TRANSFERS)
        if target is not None:
            assert previous == "*" and TRANSFERS[digit] == target
        previous = digit


def test_seniors_from_the_verified_id_go_first() -> None:
    today = dt.date(2026, 12, 1)
    born_1966_12_01 = "110101196612010012"
    born_1966_12_02 = "110101196612020012"
    assert caller_priority(born_1966_12_01, today, senior_age=60, bonus=10) == 10
    assert caller_priority(born_1966_12_02, today, senior_age=60, bonus=10) == 0  # tomorrow
    assert caller_priority(None, today, senior_age=60, bonus=10) == 0


def test_missed_callback_beats_repeat_caller() -> None:
    assert repeat_priority(1, 3, callback=20, repeat=5) == 20
    assert repeat_priority(0, 1, callback=20, repeat=5) == 5
    assert repeat_priority(0, 0, callback=20, repeat=5) == 0


def test_answered_only_when_put_through() -> None:
    assert disposition_when_caller_left("waiting") == "abandoned"
    assert disposition_when_caller_left("arranging") == "abandoned"
    assert disposition_when_caller_left("whisper") == "abandoned"  # never put through
    assert disposition_when_caller_left("talking") == "answered"
    assert disposition_when_caller_left("survey") is None


def test_ari_events_read_into_typed_values() -> None:
    start = {"type": "StasisStart", "channel": {"id": "c1-1001-1", "name": "PJSIP/1001-0001"}}
    assert channel_event(start) == ChannelAnswered("c1-1001-1", "PJSIP/1001-0001")
    destroyed = {"type": "ChannelDestroyed", "channel": {"id": "c1-1001-1"}, "cause": 17}
    assert channel_event(destroyed) == ChannelHangup("c1-1001-1", 17)
    assert channel_event({"type": "StasisEnd", "channel": {"id": "x"}}) == ChannelHangup("x")
    dtmf = {"type": "ChannelDtmfReceived", "channel": {"id": "x"}, "digit": "*"}
    assert channel_event(dtmf) == KeyPressed("x", "*")
    # A playback carries no channel: its target says which.
    played = {
        "type": "PlaybackFinished",
        "playback": {"id": "x.whisper", "target_uri": "channel:x"},
    }
    assert channel_event(played) == PlaybackDone("x", "x.whisper")
    assert channel_event({"type": "ChannelHangupRequest", "channel": {"id": "x"}}) is None
    assert lost_channel("x") == ChannelHangup("x", None, lost=True)
