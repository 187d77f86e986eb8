"""Exports: CSV, XLSX read back with openpyxl, JSON, and the ministry's fixed daily file."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from acd.figures import build_report
from acd.report_figures import Report
from acd.report_records import (
    AgentStateChange,
    CallRecord,
    Period,
    QueueEntry,
    Records,
    ReportRules,
    SegmentRecord,
)
from hotline import report_export as export
from hotline import reports, reports_web
from hotline.ministry_export import COLUMNS, ministry_csv
from hotline.report_render import BadRequest, check_format, parse_period
from hotline.reports import DEFAULT_AHT_SECONDS, staffing_plan
from hotline.roles import ROUTE_ROLES

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 1)


def at(clock: str) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time.fromisoformat(clock), ZONE)


def small_day() -> Report:
    answered = CallRecord(
        "A",
        at("09:00:00"),
        at("09:03:00"),
        "answered",
        entries=(QueueEntry("social_insurance", at("09:00:05")),),
        segments=(
            SegmentRecord(
                "social_insurance",
                "1001",
                at("09:00:06"),
                at("09:00:15"),
                at("09:02:15"),
                "agent_hangup",
            ),
        ),
        path=("main",),
    )
    abandoned = CallRecord(
        "B",
        at("09:10:00"),
        at("09:10:40"),
        "abandoned",
        entries=(QueueEntry("social_insurance", at("09:10:05")),),
        path=("main", "pension"),
    )
    records = Records(calls=[answered, abandoned])
    return build_report(records, Period.day(DAY), ReportRules(), at("23:00:00"))


def test_the_ministry_file_has_its_documented_columns_in_order() -> None:
    documented = [
        line.split("|")[2].strip().strip("`")
        for line in (Path(__file__).parents[2] / "docs" / "ministry-export.md")
        .read_text()
        .splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().isdigit()
    ]
    assert documented == COLUMNS and len(COLUMNS) == 24
    lines = ministry_csv(small_day(), "330483").splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert lines[1] == (
        "12333-daily-v1,330483,2026-12-01,workday,20,5,2,0,0,2,1,1,0,0.5000,0.5000,1.0000,"
        "10.0,120.0,0,0,0,0,0,"
    )
    assert len(lines) == 2


def test_csv_xlsx_and_json_say_the_same() -> None:
    report = small_day()
    header, rows = export.call_table(report)
    text = export.to_csv(header, rows)
    center = dict(zip(header, text.splitlines()[1].split(","), strict=True))
    assert (center["group"], center["key"], center["offered"], center["answer_rate"]) == (
        "center",
        "2026-12-01",
        "2",
        "0.5",
    )
    assert center["asa_seconds"] == "10.0" and center["satisfaction"] == ""
    book = load_workbook(io.BytesIO(export.to_xlsx(export.report_sheets(report))))
    assert book.sheetnames == [
        "summary",
        "calls",
        "agents",
        "abandoned_by_hour",
        "hot_topics",
        "work_order_topics",
        "wrap_up_topics",
    ]
    assert list(book["hot_topics"].iter_rows(values_only=True)) == [
        ("menu_node", "calls"),
        ("main", 2),
        ("pension", 1),
    ]
    calls = list(book["calls"].iter_rows(values_only=True))
    assert calls[0] == tuple(header) and calls[1][header.index("abandoned")] == 1
    assert calls[1][header.index("satisfaction")] is None
    summary = dict(book["summary"].iter_rows(values_only=True))
    assert summary["service_level"] == "variant 1: answered within 20 s / answered"
    agents = list(book["agents"].iter_rows(values_only=True))
    assert agents[1][:3] == ("1001", 1, 1)
    data = json.loads(export.dumps(export.to_json(report)))
    assert data["calls"][0]["answered"] == 1 and data["abandoned_by_hour"][0]["09"] == 1
    assert data["hot_topics"][0] == {"menu_node": "main", "calls": 2}


def test_a_bad_period_or_format_is_refused_with_a_reason() -> None:
    assert parse_period("weekly", "2026-12-03", None) == Period.week(dt.date(2026, 11, 30))
    assert parse_period("agents", None, "2026-02") == Period.month(2026, 2)
    for kind, date, month, error in [
        ("daily", None, None, "period_required"),
        ("daily", "2026-13-01", None, "bad_date"),
        ("monthly", None, "2026-13", "bad_month"),
        ("hourly", "2026-12-01", None, "unknown_report"),
    ]:
        with pytest.raises(BadRequest) as caught:
            parse_period(kind, date, month)
        assert caught.value.error_id == error
    with pytest.raises(BadRequest):
        check_format("ministry", "xlsx")


def test_staffing_from_a_days_arrivals_and_handle_time() -> None:
    # 200 calls between 09:00 and 10:00, 180 s each: the textbook's 10 erlangs, 14 agents
    # for 80/20. Two agents were logged in then, one of them paused half the hour.
    calls = [
        CallRecord(
            f"c{n}",
            at("09:00:00") + dt.timedelta(seconds=17 * n),
            None,
            "answered",
            entries=(QueueEntry("general", at("09:00:00") + dt.timedelta(seconds=17 * n)),),
            segments=(
                SegmentRecord(
                    "general",
                    "1001",
                    at("09:00:00") + dt.timedelta(seconds=17 * n),
                    at("09:00:00") + dt.timedelta(seconds=17 * n),
                    at("09:03:00") + dt.timedelta(seconds=17 * n),
                    "agent_hangup",
                ),
            ),
        )
        for n in range(200)
    ]
    states = [
        AgentStateChange("1001", "ready", at("09:00:00")),
        AgentStateChange("1002", "ready", at("09:00:00")),
        AgentStateChange("1002", "paused", at("09:30:00"), "meeting"),
        AgentStateChange("1001", "logged_out", at("10:00:00")),
        AgentStateChange("1002", "logged_out", at("10:00:00")),
    ]
    report = build_report(
        Records(calls=calls, states=states), Period.day(DAY), ReportRules(), at("23:00:00")
    )
    hours = {h.hour: h for h in staffing_plan(report).hours}
    nine = hours[9]
    assert (nine.calls, nine.aht, nine.needed, nine.logged_in, nine.staffed) == (
        200,
        180,
        14,
        2,
        1.5,
    )
    assert nine.short == 12.5 and hours[3].needed == 0
    header, rows = export.staffing_table(staffing_plan(report))
    assert rows[9][header.index("agents_needed")] == 14


def test_an_hour_with_offered_calls_but_none_answered_still_needs_agents() -> None:
    def abandoned(n: int, clock: str) -> CallRecord:
        return CallRecord(
            f"x{n}",
            at(clock),
            at(clock) + dt.timedelta(seconds=30),
            "abandoned",
            entries=(QueueEntry("general", at(clock)),),
        )

    answered = CallRecord(
        "a",
        at("09:00:00"),
        at("09:02:00"),
        "answered",
        entries=(QueueEntry("general", at("09:00:00")),),
        segments=(
            SegmentRecord("general", "1001", at("09:00:00"), at("09:00:00"), at("09:02:00"), "x"),
        ),
    )
    late = [abandoned(n, f"10:{n:02d}:00") for n in range(30)]
    hours = {h.hour: h for h in staffing_plan(_day([answered, *late])).hours}
    # No AHT of its own at 10: the period's whole-center AHT (120 s) stands in.
    assert (hours[10].aht, hours[10].calls) == (120, 30) and hours[10].needed > 0
    # No call answered in the whole period: the documented default.
    hours = {h.hour: h for h in staffing_plan(_day(late)).hours}
    assert hours[10].aht == DEFAULT_AHT_SECONDS == 300 and hours[10].needed > 0
    assert (hours[3].aht, hours[3].needed) == (0, 0)


def _day(calls: list[CallRecord]) -> Report:
    return build_report(Records(calls=calls), Period.day(DAY), ReportRules(), at("23:00:00"))


def test_the_agents_starting_states_are_read_by_one_index_probe_per_agent() -> None:
    # DISTINCT ON over the whole history before the period reads and sorts all of it (checked
    # on 200,000 changes: 370 ms, a sort on disk; per agent LATERAL ... LIMIT 1: 14 ms).
    sql = " ".join(reports._STATES.split())
    assert "DISTINCT ON" not in sql
    assert "CROSS JOIN LATERAL" in sql and "ORDER BY s.at DESC LIMIT 1" in sql


def test_the_documents_name_who_may_fetch_reports() -> None:
    # The route is for the supervisor and auditor roles and the instance's own token
    # (hotline/roles.py), not for "the bearer token" of any client.
    assert ROUTE_ROLES[("GET", "/reports/{kind}")] == {"supervisor", "auditor"}
    root = Path(__file__).parents[2]
    reports_section = (root / "README.md").read_text().split("## Reports", 1)[1].split("\n## ")[0]
    for text in (
        reports_web.__doc__ or "",
        reports_section,
        (root / "docs" / "ministry-export.md").read_text(),
    ):
        flat = " ".join(text.split())
        assert "bearer token" not in flat and "supervisor" in flat and "machine token" in flat
