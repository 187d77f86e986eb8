"""Work orders: steps, deadlines in working days over the real 2026 calendar, and 督办."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.work_order_config import load_work_orders
from acd.work_orders import (
    TRANSITIONS,
    DeadlinePolicy,
    Status,
    WorkOrder,
    WorkOrderError,
    advance,
    escalations,
    open_order,
    order_number,
    take_over,
    working_days_left,
)
from hotline.config_files import ConfigError
from ivr.hours import BusinessHours, load_hours

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# The calendar the voice menu uses, as shipped (2026 holidays and 调休 make-up workdays).
HOURS = load_hours(Path(__file__).parents[2] / "dialplan")
POLICY = DeadlinePolicy()
ID = "110101199003074477"


def at(y: int, m: int, d: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, hour, tzinfo=SHANGHAI)


def order(when: dt.datetime, kind: str = "standard", owner: str | None = "1001") -> WorkOrder:
    return open_order(
        number="202600000001",
        caller_number="13900000001",
        callback_number="",
        id_number=ID,
        question="退休金为何少发",
        line="pension",
        kind=kind,
        owner=owner,
        by="agent1",
        at=when,
        policy=POLICY,
        hours=HOURS,
    )


@pytest.mark.parametrize(
    ("opened", "kind", "due"),
    [
        # Before 中秋 and 国庆: Sep 25-27 and Oct 1-7 are skipped (calendar days would give Sep 30).
        (at(2026, 9, 23), "standard", dt.date(2026, 10, 8)),
        # Sunday Sep 20 is a make-up workday (调休): it counts (without it: Sep 25).
        (at(2026, 9, 18), "standard", dt.date(2026, 9, 24)),
        # Complex, across 国庆 with the Saturday Oct 10 make-up workday.
        (at(2026, 9, 29), "complex", dt.date(2026, 10, 26)),
        # Labour-inspection report: 60 working days across both holidays and both make-ups.
        (at(2026, 9, 14), "labour_inspection", dt.date(2026, 12, 11)),
        # Across New Year 2027 (Jan 1, a Friday).
        (at(2026, 12, 29), "standard", dt.date(2027, 1, 6)),
        # Opened on a holiday: counting starts from the next working day (Oct 10 counts).
        (at(2026, 10, 3), "standard", dt.date(2026, 10, 13)),
    ],
)
def test_deadline_counts_working_days_over_the_holiday_calendar(
    opened: dt.datetime, kind: str, due: dt.date
) -> None:
    o = order(opened, kind)
    assert o.due_at == dt.datetime(due.year, due.month, due.day, 17, 0, tzinfo=SHANGHAI)


def test_deadlines_are_configurable_and_unknown_types_refused() -> None:
    policy = DeadlinePolicy(days_by_kind={"standard": 3})
    assert policy.due_at("standard", at(2026, 9, 23), HOURS).date() == dt.date(2026, 9, 29)
    with pytest.raises(WorkOrderError) as err:
        policy.due_at("complex", at(2026, 9, 23), HOURS)
    assert err.value.error_id == "unknown_type"
    with pytest.raises(ValueError, match="at least 1"):
        DeadlinePolicy(days_by_kind={"standard": 0})


def test_the_main_line_and_what_each_step_needs() -> None:
    o = order(at(2026, 11, 2))
    assert o.status is Status.OPEN and o.callback_number == "13900000001"
    with pytest.raises(WorkOrderError) as err:
        advance(o, Status.SENT, by="agent1", at=at(2026, 11, 2, 11))
    assert err.value.error_id == "office_required"
    o = advance(o, Status.SENT, by="agent1", at=at(2026, 11, 2, 11), office="pension-office")
    with pytest.raises(WorkOrderError) as err:
        advance(o, Status.ANSWERED, by="office:pension-office", at=at(2026, 11, 3), answer=" ")
    assert err.value.error_id == "answer_required"
    o = advance(o, Status.ANSWERED, by="office:pension-office", at=at(2026, 11, 3), answer="已补发")
    o = advance(o, Status.FOLLOWED_UP, by="agent1", at=at(2026, 11, 4), satisfaction=5)
    o = advance(o, Status.CLOSED, by="agent1", at=at(2026, 11, 4, 11))
    assert [c.status for c in o.history] == list(Status)
    assert (o.office, o.answer, o.satisfaction) == ("pension-office", "已补发", 5)


def test_refused_steps_say_why() -> None:
    o = order(at(2026, 11, 2))
    with pytest.raises(WorkOrderError, match="open: it cannot become answered") as err:
        advance(o, Status.ANSWERED, by="x", at=at(2026, 11, 2), answer="a")
    assert err.value.error_id == "transition_not_allowed"
    sent = advance(o, Status.SENT, by="a", at=at(2026, 11, 2), office="o")
    answered = advance(sent, Status.ANSWERED, by="o", at=at(2026, 11, 2), answer="a")
    with pytest.raises(WorkOrderError) as err:
        advance(answered, Status.FOLLOWED_UP, by="a", at=at(2026, 11, 2), satisfaction=9)
    assert err.value.error_id == "bad_satisfaction"
    with pytest.raises(WorkOrderError) as err:
        open_order(
            number="1",
            caller_number="1",
            callback_number="",
            id_number="",
            question=" ",
            line="x",
            kind="standard",
            owner=None,
            by="a",
            at=at(2026, 11, 2),
            policy=POLICY,
            hours=HOURS,
        )
    assert err.value.error_id == "question_required"


def test_the_id_is_masked_wherever_shown() -> None:
    shown = order(at(2026, 11, 2)).public()
    assert shown["id_masked"] == "110101********4477"
    assert ID not in str(shown)


def test_escalation_before_national_day_counts_working_days() -> None:
    """Due Oct 8: on Sep 29 two working days are left (Sep 30, Oct 8), on Sep 30 one (near
    due, though 8 calendar days remain), and after 17:00 on Oct 8 it is overdue."""
    o = order(at(2026, 9, 23))
    assert escalations([o], at(2026, 9, 29), HOURS, POLICY) == []
    (near,) = escalations([o], at(2026, 9, 30), HOURS, POLICY)
    assert near.reason == "near_due"
    assert escalations([o], at(2026, 10, 8, 16), HOURS, POLICY)[0].reason == "near_due"
    (late,) = escalations([o], at(2026, 10, 8, 18), HOURS, POLICY)
    assert late.reason == "overdue"
    answered = advance(
        advance(o, Status.SENT, by="a", at=at(2026, 9, 24), office="o"),
        Status.ANSWERED,
        by="o",
        at=at(2026, 10, 9),
        answer="a",
    )
    assert escalations([answered], at(2026, 10, 9, 18), HOURS, POLICY) == []


def test_orders_without_an_owner_are_escalated_most_urgent_first() -> None:
    mine = order(at(2026, 11, 2), owner="1001")
    nobodys = order(at(2026, 11, 2), owner=None)
    late = order(at(2026, 10, 12), owner="1002")
    found = escalations([mine, nobodys, late], at(2026, 11, 3), HOURS, POLICY, frozenset({"1001"}))
    assert [(e.owner, e.reason) for e in found] == [
        ("1002", "overdue"),
        ("1002", "no_owner"),
        (None, "no_owner"),
    ]
    taken = take_over(nobodys, "1001", by="sup1", at=at(2026, 11, 3))
    assert escalations([taken], at(2026, 11, 3), HOURS, POLICY, frozenset({"1001"})) == []
    assert taken.history[-1].note == "owner - -> 1001" and taken.status is Status.OPEN
    with pytest.raises(WorkOrderError, match="roster"):
        take_over(nobodys, "9999", by="sup1", at=at(2026, 11, 3), agents=frozenset({"1001"}))
    closed = advance(taken, Status.CLOSED, by="1001", at=at(2026, 11, 4))
    with pytest.raises(WorkOrderError, match="closed"):
        take_over(closed, "1002", by="sup1", at=at(2026, 11, 3))


def test_order_numbers_are_keypad_digits() -> None:
    assert order_number(2026, 42) == "202600000042"
    with pytest.raises(ValueError):
        order_number(2026, 10**8)


days = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31))


@settings(max_examples=150, deadline=None)
@given(day=days, hour=st.integers(0, 23), kind=st.sampled_from(sorted(POLICY.days_by_kind)))
def test_the_due_day_is_a_working_day_exactly_n_working_days_on(
    day: dt.date, hour: int, kind: str
) -> None:
    opened = dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
    due = POLICY.due_at(kind, opened, HOURS)
    assert HOURS.blocks_on(due.date())
    assert working_days_left(day, due.date(), HOURS) == POLICY.days_by_kind[kind]
    later = POLICY.due_at(kind, opened + dt.timedelta(days=1), HOURS)
    assert later >= due  # opened later, never due earlier


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(st.sampled_from(list(Status)), max_size=12))
def test_any_sequence_of_requests_follows_the_transition_table(steps: list[Status]) -> None:
    o = order(at(2026, 11, 2))
    for n, to in enumerate(steps):
        before = o.status
        when = at(2026, 11, 2) + dt.timedelta(minutes=n)
        try:
            o = advance(o, to, by="x", at=when, office="o", answer="a", satisfaction=3)
        except WorkOrderError:
            assert to not in TRANSITIONS[before]
            continue
        assert to in TRANSITIONS[before] and o.status is to
    pairs = zip(o.history, o.history[1:], strict=False)
    assert all(b.status in TRANSITIONS[a.status] for a, b in pairs)
    assert o.history[0].status is Status.OPEN


def test_a_calendar_without_working_days_is_an_error() -> None:
    never = BusinessHours(weekly={})
    with pytest.raises(ValueError, match="no working days"):
        DeadlinePolicy().due_at("standard", at(2026, 11, 2), never)


def test_the_config_file_names_its_problems(tmp_path: Path) -> None:
    shipped = load_work_orders(Path(__file__).parents[2] / "dialplan", None)
    assert shipped.policy().days_by_kind["labour_inspection"] == 60
    assert shipped.offices["pension"].name == "养老保险科"
    (tmp_path / "work_orders.yaml").write_text(
        "deadlines: {standard: 0, voice_message: 5}\n"
        "offices:\n  pension: {name: 养老保险科, prompt: office-nowhere}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_work_orders(tmp_path, {"office-pension"})
    assert "work_orders.yaml:1: deadlines" in str(err.value)
    (tmp_path / "work_orders.yaml").write_text(
        "offices:\n  pension: {name: 养老保险科, prompt: office-nowhere}\n"
    )
    with pytest.raises(ConfigError, match=r"work_orders.yaml:2: offices.pension.prompt: no prompt"):
        load_work_orders(tmp_path, {"office-pension"})
    empty = tmp_path / "none"
    empty.mkdir()
    assert load_work_orders(empty).policy() == DeadlinePolicy()


def test_a_voice_message_without_any_number_is_an_order_other_questions_are_not() -> None:
    def anonymous(kind: str) -> WorkOrder:
        return open_order(
            number="202600000099",
            caller_number="",
            callback_number="",
            id_number="",
            question="语音留言（12秒），请听录音后回电。",
            line="voicemail",
            kind=kind,
            owner=None,
            by="system",
            at=at(2026, 11, 2),
            policy=POLICY,
            hours=HOURS,
        )

    assert anonymous("voice_message").callback_number == ""
    with pytest.raises(WorkOrderError) as err:
        anonymous("standard")
    assert err.value.error_id == "callback_number_required"
