"""Self-service steps of the menu session: identity, queries, referral, voice message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hotline import REPO_ROOT
from hotline.instance import load_center
from ivr.actions import (
    Action,
    CallbackBooked,
    DigitPressed,
    DiscardRecording,
    Hangup,
    IdentityChecked,
    Lookup,
    LookupDone,
    Play,
    PlaybackFinished,
    RecordingDone,
    RequestCallback,
    ResumeWaiting,
    SaveVoicemail,
    StartRecording,
    StartTimer,
    TimerExpired,
    VerifyIdentity,
    Visit,
    VoicemailSaved,
)
from ivr.session import MenuSession
from ivr.speech import date

DEMO_ID = "990101195102020015"


@pytest.fixture
def session() -> MenuSession:
    menu = load_center(REPO_ROOT / "dialplan").menu
    s = MenuSession(menu=menu, caller_number="13800138000")
    s.start()
    return s


def keys(s: MenuSession, text: str) -> list[Action]:
    actions: list[Action] = []
    for key in text:
        actions = s.handle(DigitPressed(key))
    return actions


def played(actions: list[Action]) -> tuple[str, ...]:
    plays = [a for a in actions if isinstance(a, Play)]
    return plays[-1].prompts if plays else ()


def finish_play(s: MenuSession) -> list[Action]:
    assert s.playback is not None
    return s.handle(PlaybackFinished(s.playback))


def test_pension_query_after_identity(session: MenuSession) -> None:
    s = session
    assert played(keys(s, "1")) == ("menu-selfservice",)
    actions = keys(s, "1")
    assert Visit("svc:pension", resumable=False) in actions
    assert played(actions) == ("enter-id",)
    assert s.collecting_secret
    assert played(keys(s, DEMO_ID)) == ("enter-password",)
    actions = keys(s, "123456")
    assert actions == [VerifyIdentity(DEMO_ID, "123456")]
    assert "123456" not in repr(actions[0])  # passwords never appear in logs
    assert s.handle(IdentityChecked("ok")) == [Lookup("pension", DEMO_ID)]
    answer = s.handle(LookupDone("pension", {"months": 180, "balance": "12034.50"}))
    assert played(answer) == (
        "pension-months",
        "d1",
        "u100",
        "d8",
        "u10",
        "months",
        "pension-balance",
        "d1",
        "u1e4",
        "d2",
        "u1000",
        "d0",
        "d3",
        "u10",
        "d4",
        "yuan",
        "d5",
        "jiao",
    )
    back = finish_play(s)
    assert Visit("selfservice") in back


def test_verified_caller_is_not_asked_again(session: MenuSession) -> None:
    s = session
    keys(s, "11")
    keys(s, DEMO_ID)
    keys(s, "123456#")
    s.handle(IdentityChecked("ok"))
    s.handle(LookupDone("pension", {"months": 1, "balance": 1}))
    finish_play(s)
    actions = keys(s, "2")
    assert actions[-1] == Lookup("medical", DEMO_ID)


def test_star_stands_for_x_and_a_bad_id_is_asked_again(session: MenuSession) -> None:
    s = session
    keys(s, "11")
    assert played(keys(s, "110105194912310021")) == ("id-invalid", "enter-id")
    assert played(keys(s, "11010519491231002*")) == ("enter-password",)
    assert s.pending_id == "11010519491231002X"


def test_wrong_password_then_lock(session: MenuSession) -> None:
    s = session
    keys(s, "11")
    keys(s, DEMO_ID)
    keys(s, "000000")
    assert played(s.handle(IdentityChecked("wrong"))) == ("password-wrong", "enter-password")
    keys(s, "000001")
    assert played(s.handle(IdentityChecked("locked"))) == ("id-locked",)
    assert Visit("selfservice") in finish_play(s)


def test_silence_during_entry_gives_up_after_retries(session: MenuSession) -> None:
    s = session
    keys(s, "11")
    for _ in range(3):
        actions = finish_play(s)
        timer = actions[-1]
        assert isinstance(timer, StartTimer)
        actions = s.handle(TimerExpired(timer.token))
    assert Visit("selfservice") in actions


def test_case_progress_by_number(session: MenuSession) -> None:
    """A work order with the office: its status, the office, and the deadline's date."""
    s = session
    keys(s, "15")
    assert keys(s, "202600000002#") == [Lookup("case", "202600000002")]
    data = {
        "number": "202600000002",
        "status": "sent_to_office",
        "office_prompt": "office-pension",
        "due": dt.date(2026, 12, 8),
    }
    said = played(s.handle(LookupDone("case", data)))
    assert said[:13] == ("case-number", *(f"d{c}" for c in "202600000002"))
    assert said[13:16] == ("case-sent_to_office", "case-office", "office-pension")
    assert said[16:] == ("case-due", *date(dt.date(2026, 12, 8)))


def test_a_closed_case_has_no_deadline_to_read(session: MenuSession) -> None:
    s = session
    keys(s, "15")
    keys(s, "202600000003#")
    data = {"number": "202600000003", "status": "closed", "office_prompt": None, "due": None}
    said = played(s.handle(LookupDone("case", data)))
    assert said[-1] == "case-closed" and "case-due" not in said and "case-office" not in said


def test_unknown_case_and_dead_system(session: MenuSession) -> None:
    s = session
    keys(s, "15")
    keys(s, "1#")
    assert played(s.handle(LookupDone("case", None))) == ("no-record",)
    finish_play(s)
    keys(s, "5")
    keys(s, "1#")
    assert played(s.handle(LookupDone("case", None, ok=False))) == ("service-unavailable",)


def test_referral_reads_the_directory(session: MenuSession) -> None:
    s = session
    prompts = played(keys(s, "16"))
    assert prompts[:2] == ("referral-intro", "referral-12345")
    assert prompts[2:7] == ("d1", "d2", "d3", "d4", "d5")


def test_voicemail_record_confirm_rerecord_cancel(session: MenuSession) -> None:
    s = session
    assert played(keys(s, "3")) == ("voicemail-intro",)
    start = finish_play(s)
    assert isinstance(start[0], StartRecording) and start[0].max_seconds == 120
    first = start[0].name
    assert played(s.handle(RecordingDone(first, 6.5))) == ("voicemail-confirm",)
    actions = keys(s, "2")  # record again
    assert DiscardRecording(first) in actions
    second = finish_play(s)[0]
    assert isinstance(second, StartRecording) and second.name != first
    s.handle(RecordingDone(second.name, 4.0))
    confirm = keys(s, "1")
    assert played(confirm) == (
        "callback-number",
        *[f"d{c}" for c in "13800138000"],
        "callback-confirm",
    )
    assert keys(s, "1")[-1] == SaveVoicemail(second.name, 4.0, "13800138000")
    assert played(s.handle(VoicemailSaved(True))) == ("voicemail-saved",)
    assert s.disposition == "voicemail"


def test_voicemail_cancel_and_too_short(session: MenuSession) -> None:
    s = session
    keys(s, "3")
    rec = finish_play(s)[0]
    assert isinstance(rec, StartRecording)
    actions = s.handle(RecordingDone(rec.name, 0.2))
    assert actions[0] == DiscardRecording(rec.name) and played(actions) == ("voicemail-too-short",)
    finish_play(s)
    keys(s, "3")
    rec = finish_play(s)[0]
    assert isinstance(rec, StartRecording)
    s.handle(RecordingDone(rec.name, 3))
    actions = keys(s, "3")
    assert DiscardRecording(rec.name) in actions and played(actions) == ("voicemail-cancelled",)


def test_config_is_shipped_valid() -> None:
    center = load_center(Path(REPO_ROOT / "dialplan"))
    assert center.menu.nodes["selfservice"].options["1"].service == "pension"


def test_hash_after_a_full_length_entry_is_not_a_new_key(session: MenuSession) -> None:
    s = session
    keys(s, "11")
    assert played(keys(s, DEMO_ID)) == ("enter-password",)
    assert keys(s, "#") == []  # the habitual # after 18 digits
    assert keys(s, "123456")[-1] == VerifyIdentity(DEMO_ID, "123456")
    s.handle(IdentityChecked("ok"))
    answer = s.handle(LookupDone("pension", {"months": 5, "balance": 5}))
    assert keys(s, "#") == []  # does not cut the answer short
    assert s.phase == "telling" and played(answer)[0] == "pension-months"


def test_voicemail_callback_to_another_number_or_by_silence(session: MenuSession) -> None:
    s = session
    keys(s, "3")
    rec = finish_play(s)[0]
    assert isinstance(rec, StartRecording)
    s.handle(RecordingDone(rec.name, 5))
    keys(s, "1")
    assert played(keys(s, "2")) == ("enter-callback",)
    assert keys(s, "02588776655#")[-1] == SaveVoicemail(rec.name, 5, "02588776655")
    s.handle(VoicemailSaved(True))
    finish_play(s)
    keys(s, "3")
    rec = finish_play(s)[0]
    assert isinstance(rec, StartRecording)
    s.handle(RecordingDone(rec.name, 5))
    keys(s, "1")
    timer = finish_play(s)[-1]
    assert isinstance(timer, StartTimer)
    assert s.handle(TimerExpired(timer.token)) == [SaveVoicemail(rec.name, 5, "13800138000")]


def test_a_waiting_caller_books_a_callback_on_this_or_another_number(
    session: MenuSession,
) -> None:
    s = session
    keys(s, "00")  # a person, anything else: the session hands over to the queue
    assert s.phase == "done"
    asked = s.ask_queue_callback()
    assert played(asked)[0] == "callback-number" and played(asked)[-1] == "callback-confirm"
    assert keys(s, "1")[-1] == RequestCallback("13800138000")
    assert played(s.handle(CallbackBooked("booked"))) == ("callback-registered",)
    assert finish_play(s) == [Hangup("callback")]
    other = MenuSession(menu=s.menu, caller_number="13800138000")
    other.start()
    keys(other, "00")
    other.ask_queue_callback()
    assert played(keys(other, "2")) == ("enter-callback",)
    assert RequestCallback("02112345678") in keys(other, "02112345678#")


def waiting_for_callback(caller: str) -> MenuSession:
    s = MenuSession(menu=load_center(REPO_ROOT / "dialplan").menu, caller_number=caller)
    s.start()
    keys(s, "00")
    s.ask_queue_callback()
    return s


@pytest.mark.parametrize(
    "typed",
    ["0014155550100", "95588", "4008123123", "16888", "1390000111", "139000011112", "0"],
)
def test_a_callback_number_outside_the_plan_is_refused_and_asked_again(typed: str) -> None:
    """International, short service, 400 and malformed numbers are never dialled back."""
    s = waiting_for_callback("13800138000")
    keys(s, "2")
    again = keys(s, typed + "#")
    assert not any(isinstance(a, RequestCallback) for a in again)
    assert played(again) == ("callback-invalid", "enter-callback")


@pytest.mark.parametrize("number", ["13912345678", "057187654321", "02112345678", "87654321"])
def test_mobile_and_fixed_line_numbers_are_accepted(number: str) -> None:
    s = waiting_for_callback("13800138000")
    keys(s, "2")
    assert keys(s, number + "#") == [RequestCallback(number)]


def test_a_caller_id_outside_the_plan_is_not_offered_and_failures_return_to_the_queue() -> None:
    """An international caller id is not read back; three bad numbers: back to waiting."""
    s = waiting_for_callback("0044207946000")
    assert s.entry is not None and s.entry.purpose == "callback"
    keys(s, "0044207946000#")
    keys(s, "95588#")
    assert keys(s, "123#") == [ResumeWaiting()]
    assert s.phase == "done" and s.disposition == "queued"


def test_star_while_typing_a_callback_number_keeps_waiting_instead() -> None:
    s = waiting_for_callback("13800138000")
    keys(s, "2")
    assert keys(s, "139*") == [ResumeWaiting()]


def test_a_number_with_a_pending_callback_keeps_it_and_is_told_so() -> None:
    s = waiting_for_callback("13800138000")
    keys(s, "1")
    assert played(s.handle(CallbackBooked("exists"))) == ("callback-exists",)
    assert finish_play(s) == [Hangup("callback_duplicate")]


def test_a_number_over_its_daily_bookings_keeps_waiting_on_the_line() -> None:
    s = waiting_for_callback("13800138000")
    keys(s, "1")
    limit = s.handle(CallbackBooked("limit"))
    assert played(limit) == ("callback-limit",)
    assert keys(s, "1") == []  # nothing to choose while it is said
    assert finish_play(s) == [ResumeWaiting()]


def test_an_id_with_no_record_sounds_exactly_like_a_wrong_password(session: MenuSession) -> None:
    """Whether an ID number is on file must not be told to whoever calls."""
    heard = {}
    for outcome in ("wrong", "unknown"):
        s = MenuSession(menu=session.menu, caller_number="13800138000")
        s.start()
        keys(s, "11")
        keys(s, DEMO_ID)
        keys(s, "000000")
        first = played(s.handle(IdentityChecked(outcome)))  # type: ignore[arg-type]
        keys(s, "000001")
        second = played(s.handle(IdentityChecked(outcome)))  # type: ignore[arg-type]
        heard[outcome] = (first, second)
    assert heard["unknown"] == heard["wrong"]
    assert heard["wrong"][0] == ("password-wrong", "enter-password")
