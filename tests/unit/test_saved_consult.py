"""What a caller's channel keeps of a consult for a restarted controller (CONSULT_VAR)."""

from __future__ import annotations

from hotline.bridging import SavedConsult


def test_a_consult_ringing_then_talking_survives_the_round_trip() -> None:
    ringing = SavedConsult("c1~x2", "expert_social_insurance", 1764570000.125, offered=("1004",))
    assert SavedConsult.decode(ringing.encode()) == ringing
    talking = SavedConsult(
        "c1~x2",
        "expert_social_insurance",
        1764570000.125,
        expert="1004",
        channel="c1-1004-3",
        channel_name="PJSIP/1004-00000007",
        answered_at=1764570009.5,
        recording="/var/spool/asterisk/recording/x-c1-1004.wav",
    )
    assert SavedConsult.decode(talking.encode()) == talking


def test_nothing_kept_or_garbage_is_no_consult() -> None:
    assert SavedConsult.decode("") is None
    assert SavedConsult.decode("a|b|c") is None
    assert SavedConsult.decode("r|q|soon||||0||") is None
