"""Direct-resolution rate (直办率) against a hand-computed day (rules in acd/figures.py),
work-order categories among the hot topics, and custom periods (a run of days)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from acd.figures import build_report, work_order_topics
from acd.report_records import (
    CallRecord,
    Period,
    QueueEntry,
    Records,
    WorkOrderLink,
)
from acd.report_rollup import combine, day_from_json, day_to_json
from hotline import report_export as export
from hotline.report_render import BadRequest, parse_period
from tests.unit.test_figures import DAY, LATER, RULES, at, leg, one_day, queued

SI, EXPERT = "social_insurance", "expert_social_insurance"
ORDER = WorkOrderLink("standard", "social_insurance")


def handed_to_expert(call_id: str, clock: str, order: WorkOrderLink | None) -> CallRecord:
    """Answered by 1001 in 5 s, transferred at +2 min; the expert 2001 answers it."""
    h = clock[:3]
    return CallRecord(
        call_id,
        at(f"{h}00:00"),
        at(f"{h}06:00"),
        "answered",
        entries=(QueueEntry(SI, at(f"{h}00:05")), QueueEntry(EXPERT, at(f"{h}02:10"), True)),
        segments=(
            leg("1001", f"{h}00:06", f"{h}00:10", f"{h}02:10", "transferred"),
            leg("2001", f"{h}02:20", f"{h}02:40", f"{h}05:40", "agent_hangup", queue=EXPERT),
        ),
        work_order=order,
    )


def a_day() -> list[CallRecord]:
    """D1 answered and done; D2 answered, a work order filed; T handed to the expert who
    answers it; TO handed to the expert and still a work order; A abandoned; X answered at
    14:00 by 1002."""
    return [
        queued(
            "D1",
            "10:00:00",
            "10:00:05",
            "answered",
            "10:03:00",
            leg("1001", "10:00:06", "10:00:10", "10:03:00", "agent_hangup"),
        ),
        queued(
            "D2",
            "10:10:00",
            "10:10:05",
            "answered",
            "10:13:00",
            leg("1001", "10:10:06", "10:10:10", "10:13:00", "agent_hangup"),
            work_order=ORDER,
        ),
        handed_to_expert("T", "10:20", None),
        handed_to_expert("TO", "10:30", WorkOrderLink("complex", "labour_relations")),
        queued("A", "10:40:00", "10:40:05", "abandoned", "10:41:00"),
        queued(
            "X",
            "14:00:00",
            "14:00:05",
            "answered",
            "14:03:00",
            leg("1002", "14:00:06", "14:00:10", "14:03:00", "agent_hangup"),
        ),
    ]


def test_a_call_handed_to_an_expert_or_made_a_work_order_is_not_resolved_directly() -> None:
    report = one_day(a_day())
    c = report.center
    # Answered: D1 D2 T TO X. Directly: D1 X. Without a work order: D1 T X.
    assert (c.answered, c.resolved_directly, c.resolved_on_call, c.work_orders) == (5, 2, 3, 2)
    assert c.direct_resolution_rate == pytest.approx(2 / 5)
    assert c.resolved_on_call_rate == pytest.approx(3 / 5)
    first, expert = report.by_queue[SI], report.by_queue[EXPERT]
    # The first queue's stays of T and TO were handed on; the expert resolved T directly.
    assert (first.answered, first.resolved_directly, first.resolved_on_call) == (5, 2, 3)
    assert (expert.answered, expert.resolved_directly, expert.work_orders) == (2, 1, 1)
    assert report.by_hour[10].direct_resolution_rate == pytest.approx(1 / 4)
    assert report.by_hour[14].direct_resolution_rate == 1.0
    agents = {a: (f.answered, f.resolved_directly) for a, f in report.by_agent.items()}
    assert agents == {"1001": (4, 1), "2001": (2, 1), "1002": (1, 1)}
    assert report.by_agent["1001"].direct_resolution_rate == pytest.approx(1 / 4)


def test_a_consult_completed_or_three_way_brought_an_expert_in() -> None:
    """C: 1001 consulted an expert and handed over; W: made it three-way; N: the consult was
    cancelled; O: handed to another department. Only N was resolved directly (by 1001)."""

    def consulted(call_id: str, clock: str, outcome: str) -> CallRecord:
        h = clock[:3]
        seg = leg("1001", f"{h}00:06", f"{h}00:10", f"{h}03:00", "agent_hangup")
        return queued(
            call_id,
            f"{h}00:00",
            f"{h}00:05",
            "answered",
            f"{h}05:00",
            dataclasses.replace(seg, consult=outcome),
        )

    out = queued(
        "O",
        "11:30:00",
        "11:30:05",
        "answered",
        "11:35:00",
        leg("1001", "11:30:06", "11:30:10", "11:31:00", "transferred"),
    )  # handed to another department (no queue entry follows)
    report = one_day(
        [
            consulted("C", "11:00", "complete"),
            consulted("W", "11:10", "three_way"),
            consulted("N", "11:20", "cancelled"),
            out,
        ]
    )
    assert (report.center.answered, report.center.resolved_directly) == (4, 1)
    assert report.center.resolved_on_call == 4  # no work order on any
    assert report.by_agent["1001"].resolved_directly == 1


def test_no_answered_call_no_rate() -> None:
    report = one_day([queued("A", "10:40:00", "10:40:05", "abandoned", "10:41:00")])
    assert report.center.direct_resolution_rate is None
    assert report.center.resolved_on_call_rate is None


def test_the_rate_is_exported_and_survives_a_stored_day() -> None:
    report = one_day(a_day())
    header, rows = export.call_table(report)
    center = dict(zip(header, rows[0], strict=True))
    assert (center["direct_resolution_rate"], center["resolved_on_call_rate"]) == (0.4, 0.6)
    assert center["work_orders"] == 2
    back = day_from_json(DAY, RULES, day_to_json(report))
    assert back.center == report.center and back.by_agent == report.by_agent
    agents = export.to_json(report)["agents"]
    assert [a["direct_resolution_rate"] for a in agents] == [0.25, 1.0, 0.5]


def test_a_custom_run_of_days_is_the_sum_of_its_days() -> None:
    second = DAY + dt.timedelta(days=1)
    moved = [
        CallRecord(
            "Y",
            at("09:00:00", second),
            at("09:03:00", second),
            "answered",
            entries=(QueueEntry(SI, at("09:00:05", second)),),
            segments=(leg("1002", "09:00:06", "09:00:10", "09:03:00", "agent_hangup", day=second),),
        )
    ]
    period = Period.between(DAY, second)
    assert (period.label, period.days()) == ("2026-12-01_2026-12-02", [DAY, second])
    days = [
        build_report(Records(calls=a_day()), Period.day(DAY), RULES, LATER),
        build_report(Records(calls=moved), Period.day(second), RULES, LATER),
    ]
    whole = combine(period, RULES, days, days[0].voice_messages)
    assert (whole.center.answered, whole.center.resolved_directly) == (6, 3)
    assert whole.by_day[second].direct_resolution_rate == 1.0
    assert export.rules_lines(whole)[0] == ("period", "2026-12-01_2026-12-02")


def test_custom_periods_are_parsed_and_bounded() -> None:
    one = parse_period("custom", None, None, "2026-12-01", "2026-12-01")
    assert one == Period("range", dt.date(2026, 12, 1), dt.date(2026, 12, 2))
    for first, last, error in (
        (None, "2026-12-01", "period_required"),
        ("2026-12-02", "2026-12-01", "bad_range"),
        ("2026-01-01", "2027-01-02", "bad_range"),  # 367 days
        ("2026-12-1x", "2026-12-02", "bad_from"),
    ):
        with pytest.raises(BadRequest) as caught:
            parse_period("custom", None, None, first, last)
        assert caught.value.error_id == error
    with pytest.raises(ValueError):
        Period.between(dt.date(2026, 12, 2), dt.date(2026, 12, 1))


def test_work_order_categories_by_type_and_by_line_most_first() -> None:
    rows = [("standard", "pension", 3), ("complex", "pension", 1), ("standard", "employment", 2)]
    assert work_order_topics(rows) == {
        "type": {"standard": 5, "complex": 1},
        "line": {"pension": 4, "employment": 2},
    }
    report = one_day([])
    report.order_topics = work_order_topics(rows)
    assert export.order_topics_table(report)[1][:2] == [
        ["type", "standard", 5],
        ["type", "complex", 1],
    ]


def test_the_rules_say_what_direct_resolution_means() -> None:
    lines = dict(export.rules_lines(one_day([])))
    assert "expert" in str(lines["direct_resolution_rate"])
    assert "work order" in str(lines["resolved_on_call_rate"])
