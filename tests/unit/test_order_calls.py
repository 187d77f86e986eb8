"""The center's calls about work orders, pure: the owner's call-back machine, when a
follow-up is due, and what an attempt makes of the order."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd.channel_events import ChannelAnswered, ChannelHangup, KeyPressed
from acd.order_calls import (
    CallBack,
    DialCitizen,
    Finished,
    FollowUpAttempt,
    FollowUpPolicy,
    FollowUpState,
    HangUp,
    PutThrough,
    SavedCallBack,
    SavedFollowUp,
    after_attempt,
    call_back_refusal,
    follow_up_due,
    resumable,
    saved_order_call,
)
from acd.state import AgentStatus
from acd.work_order_config import load_work_orders
from acd.work_orders import DeadlinePolicy, Status, WorkOrder, advance, noted, open_order
from hotline.config_files import ConfigError
from ivr.hours import load_hours

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
HOURS = load_hours(Path(__file__).parents[2] / "dialplan")
OPENED = dt.datetime(2026, 12, 1, 9, tzinfo=SHANGHAI)
ANSWERED = OPENED + dt.timedelta(hours=3)
POLICY = FollowUpPolicy(after_minutes=60, without_callback_hours=24, retry_after_minutes=120)


def answered_order(number: str = "13900000001") -> WorkOrder:
    order = open_order(
        number="202600000001",
        caller_number=number,
        callback_number="",
        id_number="",
        question="失业金何时到账",
        line="employment",
        kind="standard",
        owner="1001",
        by="1001",
        at=OPENED,
        policy=DeadlinePolicy(),
        hours=HOURS,
    )
    order = advance(order, Status.SENT, by="1001", at=OPENED, office="employment")
    return advance(order, Status.ANSWERED, by="office:employment", at=ANSWERED, answer="已到账")


def test_a_call_back_rings_the_agent_then_the_citizen_then_puts_them_through() -> None:
    call = CallBack()
    assert call.on("agent", ChannelAnswered("wo-a"), 10.0) == [DialCitizen()]
    assert call.on("citizen", ChannelAnswered("wo-c"), 14.0) == [PutThrough()]
    assert call.on("citizen", KeyPressed("wo-c", "1"), 15.0) == []
    assert call.on("agent", ChannelHangup("wo-a", 16), 56.0) == [
        HangUp("citizen"),
        Finished("talked", 42.0),
    ]
    # The citizen's own hang-up (and the second event of each channel) change nothing.
    assert call.on("citizen", ChannelHangup("wo-c", 16), 57.0) == []
    assert call.outcome == "talked"


@pytest.mark.parametrize(
    ("events", "outcome", "detail", "last"),
    [
        ([("agent", ChannelHangup("a", 17))], "agent_unreached", "busy", []),
        ([("agent", ChannelHangup("a", 0))], "agent_unreached", "no_answer", []),
        (
            [("agent", ChannelAnswered("a")), ("citizen", ChannelHangup("c", 17))],
            "not_reached",
            "busy",
            [HangUp("agent")],
        ),
        (
            [("agent", ChannelAnswered("a")), ("agent", ChannelHangup("a", 16))],
            "agent_hangup",
            "",
            [HangUp("citizen")],
        ),
    ],
)
def test_a_call_back_that_reaches_nobody_ends_without_a_conversation(
    events: list[tuple[str, ChannelAnswered | ChannelHangup]],
    outcome: str,
    detail: str,
    last: list[HangUp],
) -> None:
    call = CallBack()
    out: list[object] = []
    for side, event in events:
        out = list(call.on(side, event, 5.0))  # type: ignore[arg-type]
    assert out == [*last, Finished(outcome, 0.0)]  # type: ignore[arg-type]
    assert (call.phase, call.detail) == ("done", detail)


def test_a_citizen_number_the_trunk_refuses_frees_the_agent() -> None:
    call = CallBack()
    call.on("agent", ChannelAnswered("a"), 1.0)
    assert call.dial_failed(2.0) == [HangUp("agent"), Finished("not_reached", 0.0)]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["agent", "citizen"]),
            st.sampled_from(["answer", "hangup", "key"]),
        ),
        max_size=12,
    )
)
def test_a_call_back_ends_once_and_never_bridges_before_both_answered(
    steps: list[tuple[str, str]],
) -> None:
    call = CallBack()
    answered: set[str] = set()
    finished = 0
    for n, (side, what) in enumerate(steps):
        event = {
            "answer": ChannelAnswered(side),
            "hangup": ChannelHangup(side, 16),
            "key": KeyPressed(side, "5"),
        }[what]
        for action in call.on(side, event, float(n)):  # type: ignore[arg-type]
            if isinstance(action, PutThrough):
                assert "agent" in answered and side == "citizen"
            finished += isinstance(action, Finished)
        if what == "answer":
            answered.add(side)
    assert finished == (1 if call.phase == "done" else 0)


READY = (AgentStatus.ready, "")
WRAP_UP = (AgentStatus.wrap_up, "")
OUT = (AgentStatus.logged_out, "")
MEETING = (AgentStatus.paused, "meeting")


@pytest.mark.parametrize(
    ("asked", "now", "calling_back", "refusal"),
    [
        (READY, READY, False, None),
        (READY, WRAP_UP, False, None),  # wrap-up ends by itself
        (WRAP_UP, READY, False, None),
        (OUT, OUT, False, None),  # an owner not at the ACD calls from their own phone
        (MEETING, MEETING, False, None),  # a pause chosen before asking
        (READY, (AgentStatus.offered, ""), False, "agent_busy"),  # took a caller
        (READY, (AgentStatus.on_call, ""), False, "agent_busy"),
        (READY, READY, True, "agent_busy"),  # another call-back of theirs is on
        (READY, OUT, False, "agent_logged_out"),
        (MEETING, OUT, False, "agent_logged_out"),
        (READY, MEETING, False, "agent_paused"),
        (MEETING, (AgentStatus.paused, "no_answer"), False, "agent_paused"),
    ],
)
def test_a_call_back_starts_only_if_the_agent_is_as_free_as_when_they_asked(
    asked: tuple[AgentStatus, str],
    now: tuple[AgentStatus, str],
    calling_back: bool,
    refusal: str | None,
) -> None:
    found = call_back_refusal(now, asked, calling_back)
    assert (found[0] if found else None) == refusal


def test_a_call_back_that_did_not_start_is_over_without_an_ending() -> None:
    call = CallBack()
    call.refused()
    assert call.phase == "done" and call.outcome is None
    assert call.on("agent", ChannelAnswered("wo-a"), 1.0) == []


def test_a_call_back_put_through_before_a_restart_is_carried_on_to_its_end() -> None:
    """The citizen answered at 14 (kept on the channels); the new controller finds both
    still bridged: the conversation goes on, and either hang-up ends it as before."""
    call = CallBack.after_restart(14.0)
    assert resumable(call.phase == "talking", True, True, True)
    assert call.on("citizen", ChannelHangup("wo-c", 16), 56.0) == [
        HangUp("agent"),
        Finished("talked", 42.0),
    ]
    assert call.on("agent", ChannelHangup("wo-a", 16), 57.0) == []


@pytest.mark.parametrize(
    ("answered_at", "agent_up", "citizen_up", "bridged", "outcome", "detail"),
    [
        (0.0, False, False, False, "interrupted", "controller_restart"),  # desk phone ringing
        (0.0, True, False, False, "interrupted", "controller_restart"),  # citizen ringing
        (14.0, True, False, True, "talked", ""),  # the citizen hung up while we were away
        (14.0, False, True, True, "talked", ""),
        (14.0, True, True, False, "talked", ""),  # answered, never bridged: nobody hears
    ],
)
def test_a_call_back_a_restart_cannot_carry_on_ends_and_frees_both_sides(
    answered_at: float,
    agent_up: bool,
    citizen_up: bool,
    bridged: bool,
    outcome: str,
    detail: str,
) -> None:
    call = CallBack.after_restart(answered_at)
    assert not resumable(call.phase == "talking", agent_up, citizen_up, bridged)
    talked = 56.0 - answered_at if answered_at else 0.0
    assert call.interrupted(56.0) == [
        HangUp("agent"),
        HangUp("citizen"),
        Finished(outcome, talked),  # type: ignore[arg-type]
    ]
    assert (call.phase, call.detail) == ("done", detail)
    assert call.interrupted(57.0) == []  # once


def test_what_a_call_back_keeps_on_its_channels_reads_back() -> None:
    ringing = SavedCallBack("202600000001", "1002", "13900000561", (AgentStatus.ready, ""))
    assert saved_order_call(ringing.encode()) == ringing
    talking = dataclasses.replace(
        ringing,
        paused_from=(AgentStatus.paused, "meeting"),
        answered_at=1764662400.5,
        citizen_name="PJSIP/trunk-0000002a",
        recording="/var/spool/asterisk/recording/x.wav",
    )
    assert saved_order_call(talking.encode()) == talking
    logged_out = dataclasses.replace(ringing, paused_from=None)
    assert saved_order_call(logged_out.encode()) == logged_out
    follow_up = SavedFollowUp("202600000001", 2)
    assert saved_order_call(follow_up.encode()) == follow_up
    for garbled in ("", "callback|x", "followup|202600000001|two", "callback|||||||||"):
        assert saved_order_call(garbled) is None
    assert saved_order_call(ringing.encode().replace("|ready|", "|dancing|")) is None


def test_a_follow_up_comes_after_the_call_back_within_staffed_hours() -> None:
    order = answered_order()
    called = ANSWERED + dt.timedelta(hours=1)
    state = FollowUpState(called_back_at=called)
    assert not follow_up_due(order, state, POLICY, called + dt.timedelta(minutes=59), True)
    assert follow_up_due(order, state, POLICY, called + dt.timedelta(minutes=60), True)
    assert not follow_up_due(order, state, POLICY, called + dt.timedelta(minutes=60), False)
    # Answered and only texted: a day later.
    texted = FollowUpState()
    assert not follow_up_due(order, texted, POLICY, ANSWERED + dt.timedelta(hours=23), True)
    assert follow_up_due(order, texted, POLICY, ANSWERED + dt.timedelta(hours=24), True)


def test_follow_up_attempts_are_spaced_and_bounded() -> None:
    order = answered_order()
    last = ANSWERED + dt.timedelta(days=1)
    tried = FollowUpState(attempts=1, last_attempt=last, called_back_at=ANSWERED)
    assert not follow_up_due(order, tried, POLICY, last + dt.timedelta(minutes=119), True)
    assert follow_up_due(order, tried, POLICY, last + dt.timedelta(minutes=120), True)
    spent = dataclasses.replace(tried, attempts=POLICY.attempts)
    assert not follow_up_due(order, spent, POLICY, last + dt.timedelta(days=2), True)


def test_only_answered_orders_with_a_number_are_followed_up() -> None:
    order = answered_order()
    later = ANSWERED + dt.timedelta(days=3)
    done = advance(order, Status.FOLLOWED_UP, by="system", at=later, satisfaction=5)
    assert not follow_up_due(done, FollowUpState(), POLICY, later, True)
    nowhere = dataclasses.replace(order, callback_number="")
    assert not follow_up_due(nowhere, FollowUpState(), POLICY, later, True)
    off = dataclasses.replace(POLICY, enabled=False)
    assert not follow_up_due(order, FollowUpState(), off, later, True)


def test_an_attempt_stores_the_rating_or_tries_again_until_the_last() -> None:
    rated = FollowUpAttempt()
    rated.answered()
    rated.rated("fairly_satisfied")
    assert (rated.result, rated.satisfaction) == ("rated", 3)
    assert after_attempt(rated.result, 1, POLICY) == "followed_up"
    silent = FollowUpAttempt()
    silent.answered()
    assert after_attempt(silent.result, 1, POLICY) == "followed_up"  # asked: no key is an answer
    assert after_attempt("not_reached", 1, POLICY) == "retry"
    assert after_attempt("not_reached", POLICY.attempts, POLICY) == "no_answer"


def test_a_note_keeps_the_status_and_says_what_happened() -> None:
    order = answered_order()
    later = ANSWERED + dt.timedelta(hours=1)
    after = noted(order, "call-back wo1 by 1001: talked, 42 s", by="agent:1001", at=later)
    assert after.status is Status.ANSWERED
    assert after.history[-1].note == "call-back wo1 by 1001: talked, 42 s"


def test_the_follow_up_config_is_validated_with_its_line(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[2] / "dialplan" / "work_orders.yaml").read_text()
    assert load_work_orders(Path(__file__).parents[2] / "dialplan").follow_up.attempts == 3
    (tmp_path / "work_orders.yaml").write_text(shipped.replace("  attempts: 3", "  attempts: 0"))
    with pytest.raises(ConfigError) as bad:
        load_work_orders(tmp_path)
    (problem,) = bad.value.problems
    assert "follow_up.attempts" in problem and "work_orders.yaml:" in problem, problem
