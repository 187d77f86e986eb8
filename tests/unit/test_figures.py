"""Report maths against hand-computed fixtures (KPI.md; rules in acd/figures.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pytest

from acd.agent_activity import Stretch, wrapups
from acd.figures import build_report, quarterly_satisfaction
from acd.report_figures import Report
from acd.report_records import (
    AgentStateChange,
    CallbackRecord,
    CallRecord,
    Period,
    QueueEntry,
    Records,
    ReportRules,
    SegmentRecord,
    SurveyRecord,
    VoiceMessageRecord,
)
from acd.survey import Thresholds
from ivr.hours import Block, BusinessHours

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 1)  # a Tuesday
BLOCKS = [
    Block(start=dt.time(8, 30), end=dt.time(11, 30)),
    Block(start=dt.time(13), end=dt.time(17)),
]
HOURS = BusinessHours(
    weekly={d: BLOCKS for d in ("mon", "tue", "wed", "thu", "fri")},
    holidays=[dt.date(2026, 12, 7)],
    workdays={dt.date(2026, 12, 5): "mon"},  # 调休: Saturday worked as a Monday
)
RULES = ReportRules(hours=HOURS)
LATER = dt.datetime(2026, 12, 31, tzinfo=ZONE)


def at(clock: str, day: dt.date = DAY) -> dt.datetime:
    """A local time on the center's clock."""
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), ZONE)


def leg(
    agent: str, offered: str, answered: str | None, ended: str | None, outcome: str, **kw: object
) -> SegmentRecord:
    day = kw.get("day", DAY)
    assert isinstance(day, dt.date)
    return SegmentRecord(
        queue=str(kw.get("queue", "social_insurance")),
        agent=agent,
        offered_at=at(offered, day),
        answered_at=at(answered, day) if answered else None,
        ended_at=at(ended, day) if ended else None,
        outcome=outcome,
    )


def state(
    agent: str, status: str, clock: str, reason: str = "", day: dt.date = DAY
) -> AgentStateChange:
    return AgentStateChange(agent, status, at(clock, day), reason)


def one_day(calls: list[CallRecord], states: Sequence[AgentStateChange] = ()) -> Report:
    return build_report(Records(calls=calls, states=list(states)), Period.day(DAY), RULES, LATER)


def queued(
    call_id: str,
    arrived: str,
    entered: str,
    disposition: str,
    ended: str,
    *legs: SegmentRecord,
    **kw: object,
) -> CallRecord:
    return CallRecord(
        call_id=call_id,
        started_at=at(arrived),
        ended_at=at(ended),
        disposition=disposition,
        entries=(QueueEntry("social_insurance", at(entered)),),
        segments=legs,
        **kw,  # type: ignore[arg-type]
    )


def test_a_day_of_answered_abandoned_and_self_service_calls() -> None:
    calls = [
        queued(
            "A",
            "09:00:00",
            "09:00:10",
            "answered",
            "09:03:40",
            leg("1001", "09:00:12", "09:00:25", "09:03:25", "agent_hangup"),
            survey=SurveyRecord("1001", "satisfied", at("09:03:35")),
        ),
        queued(
            "B",
            "09:10:00",
            "09:10:05",
            "answered",
            "09:12:40",
            leg("1001", "09:10:06", None, "09:10:21", "no_answer"),
            leg("1002", "09:10:21", "09:10:35", "09:12:35", "agent_hangup"),
            survey=SurveyRecord("1002", "dissatisfied", at("09:12:40")),
        ),
        queued("C", "09:20:00", "09:20:10", "abandoned", "09:20:13"),  # short abandon
        queued("D", "09:30:00", "09:30:05", "abandoned", "09:31:05"),
        CallRecord("E", at("10:00:00"), at("10:01:00"), "self_service"),
        queued("F", "18:00:00", "18:00:05", "abandoned", "18:00:35"),  # out of hours
    ]
    states = [
        state("1001", "logged_out", "17:00:00", day=DAY - dt.timedelta(days=1)),
        state("1001", "ready", "08:30:00"),
        state("1001", "offered", "09:00:12"),
        state("1001", "on_call", "09:00:25"),
        state("1001", "wrap_up", "09:03:25"),
        state("1001", "ready", "09:03:35"),
        state("1001", "offered", "09:10:06"),
        state("1001", "paused", "09:10:21", "no_answer"),
        state("1001", "ready", "09:15:21"),
        state("1001", "logged_out", "12:00:00"),
        state("1002", "ready", "08:30:00"),
        state("1002", "on_call", "09:10:35"),
        state("1002", "wrap_up", "09:12:36"),  # stored a second after the leg ended
        state("1002", "ready", "09:12:46"),
    ]
    report = one_day(calls, states)
    c = report.center
    assert (c.calls, c.self_service, c.offered, c.offered_in_hours) == (6, 1, 5, 4)
    assert (c.answered, c.abandoned, c.short_abandoned) == (2, 3, 1)
    assert c.answer_rate == pytest.approx(2 / 5)
    assert c.answer_rate_in_hours == pytest.approx(2 / 4)
    assert c.service_level == pytest.approx(1 / 2)  # A waited 15 s, B 30 s; T = 20 s
    assert c.service_level_2 == pytest.approx((1 + 1) / (2 + 3))  # C abandoned in 3 s
    assert c.asa == pytest.approx((15 + 30) / 2)
    assert c.aht == pytest.approx((180 + 10 + 120 + 10) / 2)
    assert (c.survey_answers, c.satisfaction, c.survey_response_rate) == (2, 0.5, 1.0)
    assert report.by_hour[9].offered == 4 and report.by_hour[18].abandoned == 1
    assert report.abandoned_by_hour["tue"][9] == 2
    assert report.abandoned_by_hour["tue"][18] == 1
    a1, a2 = report.by_agent["1001"], report.by_agent["1002"]
    assert (a1.offered, a1.answered, a1.no_answer, a1.aht, a1.satisfaction) == (2, 1, 1, 190, 1.0)
    assert (a2.offered, a2.answered, a2.aht, a2.satisfaction) == (1, 1, 130, 0.0)
    t = a1.time
    assert (t.logged_in, t.paused, t.on_call, t.wrap_up, t.offered) == (12600, 300, 180, 10, 28)
    assert t.ready == 12600 - 300 - 180 - 10 - 28
    assert t.paused_by_reason == {"no_answer": 300}
    assert t.occupancy == pytest.approx(190 / 12300)
    assert a1.logins == 1
    # Staffed (logged in, not paused) agent-seconds per hour: 1001 until noon, 1002 all day.
    assert report.staffed_by_hour[8] == 1800 + 1800
    assert report.staffed_by_hour[9] == 3300 + 3600 and report.staffed_by_hour[23] == 3600
    assert report.logged_in_by_hour[9] == 3600 + 3600


def test_a_transfer_counts_the_call_once_and_each_agent_their_part() -> None:
    expert = "expert_social_insurance"
    transferred = CallRecord(
        "T",
        at("10:00:00"),
        at("10:06:00"),
        "answered",
        entries=(
            QueueEntry("social_insurance", at("10:00:05")),
            QueueEntry(expert, at("10:02:10"), transfer=True),
        ),
        segments=(
            leg("1001", "10:00:06", "10:00:10", "10:02:10", "transferred"),
            leg("2001", "10:02:20", "10:02:40", "10:05:40", "agent_hangup", queue=expert),
        ),
        survey=SurveyRecord("2001", "satisfied", at("10:06:00")),
    )
    gave_up_at_expert = CallRecord(
        "U",
        at("11:00:00"),
        at("11:01:20"),
        "abandoned",
        entries=(
            QueueEntry("social_insurance", at("11:00:00")),
            QueueEntry(expert, at("11:01:02"), transfer=True),
        ),
        segments=(
            leg("1001", "11:00:01", "11:00:02", "11:01:02", "transferred"),
            leg("2001", "11:01:05", None, "11:01:20", "caller_hangup", queue=expert),
        ),
    )
    states = [
        state("1001", "wrap_up", "10:02:10"),
        state("1001", "ready", "10:02:20"),
        state("2001", "wrap_up", "10:05:40"),
        state("2001", "ready", "10:05:55"),
        state("1001", "wrap_up", "11:01:02"),
        state("1001", "ready", "11:01:07"),
    ]
    report = one_day([transferred, gave_up_at_expert], states)
    c = report.center
    assert (c.offered, c.answered, c.abandoned, c.transfers, c.handled) == (2, 2, 0, 2, 3)
    assert c.asa == pytest.approx((5 + 2) / 2)  # to the first answer, from the first entry
    assert c.aht == pytest.approx((120 + 10 + 180 + 15 + 60 + 5) / 2)
    first, second = report.by_queue["social_insurance"], report.by_queue[expert]
    assert (first.offered, first.answered, first.transfers, first.abandoned) == (2, 2, 2, 0)
    assert first.aht == pytest.approx((130 + 65) / 2) and first.survey_answers == 0
    assert (second.offered, second.answered, second.abandoned) == (2, 1, 1)
    assert second.asa == 30 and second.aht == 195 and second.survey_answers == 1
    a1, a2 = report.by_agent["1001"], report.by_agent["2001"]
    assert (a1.answered, a1.transfers, a1.talk_seconds, a1.wrapup_seconds) == (2, 2, 180, 15)
    assert (a2.offered, a2.answered, a2.talk_seconds, a2.wrapup_seconds) == (2, 1, 180, 15)
    assert a2.survey_answers == 1 and a1.survey_answers == 0
    assert report.abandoned_by_hour == {}  # U was answered


def test_callbacks_are_never_abandons() -> None:
    def booked(status: str, attempts: int, requested: str) -> CallbackRecord:
        return CallbackRecord("social_insurance", at(requested), status, attempts)

    calls = [
        queued(
            "V",
            "08:59:50",
            "09:00:00",
            "answered",
            "09:33:30",
            leg("1001", "09:30:00", "09:30:20", "09:33:20", "agent_hangup"),
            callback=booked("done", 1, "09:01:00"),
        ),
        queued(
            "W",
            "09:04:00",
            "09:05:00",
            "callback_failed",
            "10:10:40",
            leg("1001", "10:00:00", None, "10:00:40", "not_reached"),
            leg("1001", "10:05:00", None, "10:05:40", "not_reached"),
            leg("1001", "10:10:00", None, "10:10:40", "not_reached"),
            callback=booked("failed", 3, "09:06:00"),
        ),
        queued(
            "X",
            "09:09:00",
            "09:10:00",
            "callback_expired",
            "17:00:00",
            callback=booked("expired", 0, "09:10:30"),
        ),
        queued("Y", "09:19:00", "09:20:00", "callback_duplicate", "09:20:40"),
        queued(
            "Z",
            "09:39:00",
            "09:40:00",
            "answered",
            "09:45:00",
            leg("1002", "09:40:08", "09:40:10", "09:44:10", "agent_hangup"),
            callback=booked("done", 0, "09:40:05"),
        ),  # their turn came while still on
    ]
    c = one_day(calls).center
    assert (c.offered, c.answered, c.abandoned, c.answer_rate) == (5, 2, 0, 0.4)
    assert (c.answered_by_callback, c.answered_on_line, c.asa) == (1, 1, 10)
    assert (c.callbacks_booked, c.callbacks_reached, c.callbacks_failed) == (4, 2, 1)
    assert (c.callbacks_expired, c.callback_duplicates) == (1, 1)
    assert c.service_level == 1.0 and c.service_level_2 == 1.0


def test_a_call_adopted_after_a_controller_restart_is_one_call() -> None:
    # The controller died mid-conversation: the leg was never closed, the agent's states
    # were stored again by the next controller.
    adopted = queued(
        "R",
        "13:59:50",
        "14:00:00",
        "answered",
        "14:05:10",
        leg("1001", "14:00:02", "14:00:10", None, None),  # type: ignore[arg-type]
        adoptions=1,
    )
    states = [
        state("1001", "ready", "13:00:00"),
        state("1001", "on_call", "14:00:10"),
        state("1001", "on_call", "14:02:00"),  # restored by the new controller
        state("1001", "wrap_up", "14:05:10"),
        state("1001", "wrap_up", "14:05:12"),
        state("1001", "ready", "14:05:20"),
    ]
    report = one_day([adopted], states)
    c = report.center
    assert (c.offered, c.answered, c.handled, c.asa) == (1, 1, 1, 10)
    assert c.aht == 300 + 10
    assert report.by_agent["1001"].time.on_call == 300
    assert report.by_agent["1001"].time.wrap_up == 10


def test_a_call_across_midnight_counts_on_the_day_it_arrived() -> None:
    next_day = DAY + dt.timedelta(days=1)
    late = CallRecord(
        "M",
        at("23:59:50"),
        at("00:02:10", next_day),
        "answered",
        entries=(QueueEntry("social_insurance", at("23:59:55")),),
        segments=(
            SegmentRecord(
                "social_insurance",
                "1001",
                at("23:59:56"),
                at("00:00:05", next_day),
                at("00:02:05", next_day),
                "agent_hangup",
            ),
        ),
    )
    states = [
        state("1001", "ready", "23:00:00"),
        state("1001", "offered", "23:59:56"),
        state("1001", "on_call", "00:00:05", day=next_day),
        state("1001", "wrap_up", "00:02:05", day=next_day),
        state("1001", "ready", "00:02:15", day=next_day),
        state("1001", "logged_out", "00:30:00", day=next_day),
    ]
    records = Records(calls=[late], states=states)
    first = build_report(records, Period.day(DAY), RULES, LATER)
    second = build_report(records, Period.day(next_day), RULES, LATER)
    assert (first.center.offered, first.center.answered, first.center.asa) == (1, 1, 10)
    assert first.by_hour[23].answered == 1 and first.center.aht == 120 + 10
    assert second.center.offered == 0
    assert (first.by_agent["1001"].time.logged_in, first.by_agent["1001"].time.offered) == (3600, 4)
    t = second.by_agent["1001"].time
    assert (t.logged_in, t.offered, t.on_call, t.wrap_up) == (1800, 5, 120, 10)


def test_a_week_with_a_make_up_workday_and_a_month_with_a_holiday() -> None:
    saturday, sunday, holiday = dt.date(2026, 12, 5), dt.date(2026, 12, 6), dt.date(2026, 12, 7)

    def gave_up(call_id: str, day: dt.date) -> CallRecord:
        return CallRecord(
            call_id,
            at("10:00:00", day),
            at("10:00:45", day),
            "abandoned",
            entries=(QueueEntry("social_insurance", at("10:00:05", day)),),
        )

    calls = [gave_up("S", saturday), gave_up("U", sunday), gave_up("H", holiday)]
    week = build_report(Records(calls=calls), Period.week(DAY), RULES, LATER)
    assert week.period.label == "2026-W49"
    assert (week.center.offered, week.center.offered_in_hours) == (2, 1)  # Saturday is staffed
    assert week.day_kinds[saturday] == "make_up_workday" and week.day_kinds[sunday] == "rest_day"
    assert week.day_kinds[DAY] == "workday"
    assert week.abandoned_by_hour["mon"][10] == 1  # the 调休 Saturday counts as a Monday
    assert week.abandoned_by_hour["sun"][10] == 1 and "sat" not in week.abandoned_by_hour
    month = build_report(Records(calls=calls), Period.month(2026, 12), RULES, LATER)
    assert month.period.label == "2026-12" and len(month.by_day) == 31
    assert month.day_kinds[holiday] == "holiday" and month.abandoned_by_hour["holiday"][10] == 1
    assert (month.center.offered, month.center.offered_in_hours) == (3, 1)
    assert month.by_day[saturday].abandoned == 1


def test_voice_messages_and_their_deadlines() -> None:
    rows = [
        VoiceMessageRecord(at("10:00:00"), dt.date(2026, 12, 8)),
        VoiceMessageRecord(at("17:00:00"), dt.date(2026, 12, 20), origin="callback_expired"),
        VoiceMessageRecord(
            at("11:00:00"), dt.date(2026, 12, 8), status="closed", closed_on=dt.date(2026, 12, 5)
        ),
        VoiceMessageRecord(at("10:00:00", DAY - dt.timedelta(days=1)), dt.date(2026, 12, 7)),
    ]
    now = dt.datetime(2026, 12, 10, 9, tzinfo=ZONE)
    vm = build_report(Records(voice_messages=rows), Period.day(DAY), RULES, now).voice_messages
    assert (vm.received, vm.from_expired_callbacks, vm.open, vm.overdue) == (3, 1, 2, 1)
    assert (vm.closed, vm.met) == (1, 1)


def test_quarterly_satisfaction_by_local_date_flags_three_low_quarters() -> None:
    def rated(score: str, utc: dt.datetime) -> SurveyRecord:
        return SurveyRecord("1001", score, utc)

    # 2026-03-31 17:00 UTC is 2026-04-01 01:00 in Shanghai: the second quarter.
    rows = [
        rated("dissatisfied", dt.datetime(2025, 12, 1, tzinfo=dt.UTC)),
        rated("dissatisfied", dt.datetime(2026, 3, 31, 17, tzinfo=dt.UTC)),
        rated("dissatisfied", dt.datetime(2026, 7, 1, 1, tzinfo=dt.UTC)),
    ]
    ratings = quarterly_satisfaction(rows, RULES, Thresholds(min_answers=1))
    assert sorted(ratings.by_agent["1001"]) == ["2025Q4", "2026Q2", "2026Q3"]
    assert ratings.flagged == []  # 2026Q1 has no answers: not three in a row
    rows.append(rated("dissatisfied", dt.datetime(2026, 3, 1, tzinfo=dt.UTC)))
    assert quarterly_satisfaction(rows, RULES, Thresholds(min_answers=1)).flagged == ["1001"]


def test_a_caller_gone_during_the_experts_whisper_was_not_answered() -> None:
    # The expert picked up (the leg has its answer time) but hears the whisper first; the
    # caller hung up before being put through: an abandon, not an answered call.
    whisper = SegmentRecord(
        "social_insurance",
        "2001",
        at("10:00:06"),
        at("10:00:08"),
        at("10:00:12"),
        "caller_hangup",
        connected=False,
    )
    gone = queued("G", "10:00:00", "10:00:05", "abandoned", "10:00:12", whisper)
    report = one_day([gone])
    c = report.center
    assert (c.offered, c.answered, c.abandoned, c.short_abandoned, c.talk_seconds) == (
        1,
        0,
        1,
        0,
        0,
    )
    assert (report.by_agent["2001"].offered, report.by_agent["2001"].answered) == (1, 0)
    assert report.abandoned_by_hour["tue"][10] == 1


def test_calls_refused_as_lines_busy_are_a_figure_of_their_own() -> None:
    calls = [
        CallRecord("R", at("09:00:00"), at("09:00:06"), "lines_busy"),
        CallRecord("S", at("09:01:00"), at("09:02:00"), "self_service"),
        queued("Q", "09:02:00", "09:02:10", "abandoned", "09:03:00"),
    ]
    c = one_day(calls).center
    assert (c.calls, c.refused, c.self_service, c.offered, c.abandoned) == (3, 1, 1, 1, 1)
    assert one_day(calls).by_hour[9].refused == 1


class _CountedTime(dt.datetime):
    """A leg's end that counts how often it is compared (a measure of work, not of time)."""

    comparisons = 0

    def __lt__(self, other: object) -> bool:
        _CountedTime.comparisons += 1
        return super().__lt__(other)  # type: ignore[operator]

    def __le__(self, other: object) -> bool:
        _CountedTime.comparisons += 1
        return super().__le__(other)  # type: ignore[operator]

    def __gt__(self, other: object) -> bool:
        _CountedTime.comparisons += 1
        return super().__gt__(other)  # type: ignore[operator]

    def __ge__(self, other: object) -> bool:
        _CountedTime.comparisons += 1
        return super().__ge__(other)  # type: ignore[operator]


def test_a_month_of_wrap_ups_finds_each_leg_without_walking_all_of_them() -> None:
    # One agent, 2,000 calls (a month's worth for a busy seat), each followed by a wrap-up:
    # matching must not walk the agent's legs from the first for every wrap-up.
    n = 2000
    first = at("08:00:00")
    calls, stretches_ = [], []
    for i in range(n):
        offered = first + dt.timedelta(minutes=5 * i)
        ended = offered + dt.timedelta(minutes=3)
        leg_ = SegmentRecord("q", "1001", offered, offered, ended, "agent_hangup")
        leg_ = dataclasses.replace(leg_, ended_at=_CountedTime.fromisoformat(ended.isoformat()))
        calls.append(CallRecord(f"c{i}", offered, ended, "answered", segments=(leg_,)))
        stretches_.append(
            Stretch("1001", "wrap_up", "", ended, ended + dt.timedelta(seconds=30 + i % 7))
        )
    _CountedTime.comparisons = 0
    wraps = wrapups(calls, stretches_, 2.0)
    assert len(wraps) == n
    assert wraps[("c5", "1001", first + dt.timedelta(minutes=25))] == 30 + 5
    # Sorting and a binary search per wrap-up: ~n·log n, far below n²/2 (2,000,000).
    assert _CountedTime.comparisons < 60 * n


def test_hot_topics_count_each_call_once_per_menu_node_most_first() -> None:
    calls = [
        CallRecord("A", at("09:00:00"), at("09:01:00"), "self_service", path=("main", "pension")),
        CallRecord("B", at("09:05:00"), at("09:06:00"), "self_service", path=("main", "medical")),
        CallRecord(
            "C", at("10:00:00"), at("10:02:00"), "self_service", path=("main", "pension", "main")
        ),
    ]
    report = one_day(calls)
    assert list(report.topics.items()) == [("main", 3), ("pension", 2), ("medical", 1)]


def test_wrap_up_topics_count_each_call_once_per_topic_beside_the_menu_nodes() -> None:
    def answered(agent: str, offered: str, topic: str | None) -> SegmentRecord:
        ends = at(offered) + dt.timedelta(minutes=1)
        return dataclasses.replace(
            leg(agent, offered, offered, ends.strftime("%H:%M:%S"), "agent_hangup"), topic=topic
        )

    entry = (QueueEntry("social_insurance", at("09:00:00")),)
    pension = answered("1001", "09:00:10", "pension_payment")
    calls = [
        CallRecord(
            "A", at("09:00:00"), at("09:05:00"), "answered", entry, (pension,), path=("main",)
        ),
        # Transferred: both agents said pension; the call counts once for it.
        CallRecord(
            "B",
            at("09:00:00"),
            at("09:05:00"),
            "answered",
            entry,
            (pension, answered("1002", "09:02:00", "pension_payment")),
        ),
        CallRecord(
            "C",
            at("09:00:00"),
            at("09:05:00"),
            "answered",
            entry,
            (answered("1002", "09:00:10", "complaint"),),
        ),
        CallRecord(
            "D",
            at("09:00:00"),
            at("09:05:00"),
            "answered",
            entry,
            (answered("1001", "09:00:10", None),),
        ),
        # Picked, but the agent was never put through: no answered call, no topic.
        CallRecord(
            "E",
            at("09:00:00"),
            at("09:05:00"),
            "abandoned",
            entry,
            (dataclasses.replace(answered("1001", "09:00:10", "other"), connected=False),),
        ),
    ]
    report = one_day(calls)
    assert list(report.wrap_up_topics.items()) == [("pension_payment", 2), ("complaint", 1)]
    assert report.topics == {"main": 1}
