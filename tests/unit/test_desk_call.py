"""The call on an agent's desk (acd/desk_call.py): what is shown of it, and which call it is."""

from __future__ import annotations

from acd.desk_call import CallContext, DeskCalls

CALL = CallContext(
    "c1",
    "13812345678",
    "pension",
    verified_id="11010519491231002X",
    path=("welcome", "main", "svc:pension"),
    entered=1000.0,
    answered_at=1042.5,
)


def test_the_desk_shows_the_call_masked_with_its_path_and_wait() -> None:
    assert CALL.view() == {
        "caller": "138****5678",
        "queue": "pension",
        "verified_id": "110105********002X",
        "ivr_path": ["welcome", "main", "svc:pension"],
        "topic": None,
        "wait_seconds": 42.5,
    }
    unverified = CallContext("c2", "66668", "general").view()
    assert (unverified["verified_id"], "wait_seconds" in unverified) == (None, False)


def test_the_desk_call_is_the_current_one_then_the_last_taken_until_the_next() -> None:
    calls = DeskCalls()
    assert calls.of("1001", None) is None and calls.chose("1001", "other") is None
    calls.put_through("1001", CALL)
    assert calls.of("1001", "c1") == CALL
    assert calls.of("1001", None) == CALL  # after-call work: the last call taken
    assert calls.of("1001", "c9") is None  # on another call, not yet put through
    assert calls.of("1002", None) is None  # nobody else's
    chosen = calls.chose("1001", "pension_payment")
    assert chosen is not None and calls.of("1001", None) == chosen
    assert chosen.view()["topic"] == "pension_payment"
