"""A report as tables: JSON, CSV, XLSX (openpyxl), and the ministry's fixed daily file.

Rates are fractions (0.8 = 80 %) with 4 decimals, times are seconds with 1 decimal; a figure
with nothing to divide by (no call answered: no ASA) is empty, never 0.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from acd.quality import AgentQuality, QualityMonth
from acd.report_figures import AgentFigures, CallFigures, Report
from acd.survey import AgentRatings
from hotline.reports import Staffing

Cell = str | int | float | None


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _secs(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


CALL_COLUMNS: list[tuple[str, Callable[[CallFigures], Cell]]] = [
    ("calls", lambda f: f.calls),
    ("self_service", lambda f: f.self_service),
    ("refused", lambda f: f.refused),
    ("offered", lambda f: f.offered),
    ("offered_in_hours", lambda f: f.offered_in_hours),
    ("answered", lambda f: f.answered),
    ("answered_in_hours", lambda f: f.answered_in_hours),
    ("answered_on_line", lambda f: f.answered_on_line),
    ("answered_by_callback", lambda f: f.answered_by_callback),
    ("abandoned", lambda f: f.abandoned),
    ("short_abandoned", lambda f: f.short_abandoned),
    ("answer_rate", lambda f: _rate(f.answer_rate)),
    ("answer_rate_in_hours", lambda f: _rate(f.answer_rate_in_hours)),
    ("service_level", lambda f: _rate(f.service_level)),
    ("service_level_2", lambda f: _rate(f.service_level_2)),
    ("asa_seconds", lambda f: _secs(f.asa)),
    ("aht_seconds", lambda f: _secs(f.aht)),
    ("talk_seconds", lambda f: _secs(f.talk_seconds)),
    ("wrapup_seconds", lambda f: _secs(f.wrapup_seconds)),
    ("legs_answered", lambda f: f.handled),
    ("transfers", lambda f: f.transfers),
    ("callbacks_booked", lambda f: f.callbacks_booked),
    ("callbacks_reached", lambda f: f.callbacks_reached),
    ("callbacks_failed", lambda f: f.callbacks_failed),
    ("callbacks_expired", lambda f: f.callbacks_expired),
    ("callbacks_pending", lambda f: f.callbacks_pending),
    ("callback_duplicates", lambda f: f.callback_duplicates),
    ("survey_answers", lambda f: f.survey_answers),
    ("satisfaction", lambda f: _rate(f.satisfaction)),
    ("survey_response_rate", lambda f: _rate(f.survey_response_rate)),
    ("resolved_directly", lambda f: f.resolved_directly),
    ("direct_resolution_rate", lambda f: _rate(f.direct_resolution_rate)),
    ("resolved_on_call_rate", lambda f: _rate(f.resolved_on_call_rate)),
    ("work_orders", lambda f: f.work_orders),
    ("consults_asked", lambda f: f.consults_asked),
    ("consults_answered", lambda f: f.consults_answered),
    ("consults_no_expert", lambda f: f.consults_no_expert),
    ("consults_completed", lambda f: f.consults_completed),
    ("consults_three_way", lambda f: f.consults_three_way),
    ("consults_cancelled", lambda f: f.consults_cancelled),
]

AGENT_COLUMNS: list[tuple[str, Callable[[AgentFigures], Cell]]] = [
    ("offered", lambda a: a.offered),
    ("answered", lambda a: a.answered),
    ("no_answer", lambda a: a.no_answer),
    ("transfers", lambda a: a.transfers),
    ("talk_seconds", lambda a: _secs(a.talk_seconds)),
    ("wrapup_seconds", lambda a: _secs(a.wrapup_seconds)),
    ("aht_seconds", lambda a: _secs(a.aht)),
    ("survey_answers", lambda a: a.survey_answers),
    ("satisfaction", lambda a: _rate(a.satisfaction)),
    ("resolved_directly", lambda a: a.resolved_directly),
    ("direct_resolution_rate", lambda a: _rate(a.direct_resolution_rate)),
    ("logins", lambda a: a.logins),
    ("logged_in_seconds", lambda a: _secs(a.time.logged_in)),
    ("ready_seconds", lambda a: _secs(a.time.ready)),
    ("ringing_seconds", lambda a: _secs(a.time.offered)),
    ("on_call_seconds", lambda a: _secs(a.time.on_call)),
    ("wrap_up_seconds", lambda a: _secs(a.time.wrap_up)),
    ("paused_seconds", lambda a: _secs(a.time.paused)),
    (
        "paused_by_reason",
        lambda a: ";".join(
            f"{reason or 'none'}={round(s, 1)}"
            for reason, s in sorted(a.time.paused_by_reason.items())
        ),
    ),
    ("occupancy", lambda a: _rate(a.time.occupancy)),
    # Added last (as the consults of CALL_COLUMNS): the older columns keep their places.
    ("consults", lambda a: a.consults),
]


def rules_lines(report: Report) -> list[tuple[str, Cell]]:
    """What the figures mean: period, time zone and thresholds, stated with every export."""
    r = report.rules
    return [
        ("period", report.period.label),
        ("from", report.period.start.isoformat()),
        ("to_exclusive", report.period.end.isoformat()),
        ("timezone", r.timezone),
        ("calls_counted_by", "arrival time (local), also when they end after midnight"),
        ("service_level", f"variant 1: answered within {r.service_seconds:g} s / answered"),
        (
            "service_level_2",
            f"variant 2: (answered + abandoned within {r.service_seconds:g} s)"
            " / (answered + abandoned)",
        ),
        ("short_abandon", f"abandoned within {r.short_abandon_seconds:g} s (in abandoned)"),
        ("answer_rate", "answered / offered; _in_hours: offered in staffed hours only"),
        ("aht", "(talk + wrap-up) / answered; experts' consult legs are talk, not calls"),
        (
            "consults",
            "asked of an expert queue, by how they ended; counted for the call and the"
            " expert queue asked, never as a call offered or answered",
        ),
        (
            "direct_resolution_rate",
            "answered, not handed to an expert (transfer) and no work order / answered",
        ),
        ("resolved_on_call_rate", "answered without a work order / answered"),
    ]


def call_table(report: Report) -> tuple[list[str], list[list[Cell]]]:
    """Call figures of the whole period, each day, each hour of day and each queue."""
    header = ["group", "key", "day_kind", *(name for name, _ in CALL_COLUMNS)]
    groups: list[tuple[str, str, str, CallFigures]] = [
        ("center", report.period.label, "", report.center)
    ]
    groups += [
        ("day", day.isoformat(), report.day_kinds[day], fig) for day, fig in report.by_day.items()
    ]
    groups += [("hour", f"{hour:02d}", "", fig) for hour, fig in report.by_hour.items()]
    groups += [("queue", queue, "", fig) for queue, fig in report.by_queue.items()]
    rows = [[g, k, kind, *(get(fig) for _, get in CALL_COLUMNS)] for g, k, kind, fig in groups]
    return header, rows


def agent_table(
    report: Report, quality: AgentQuality | None = None
) -> tuple[list[str], list[list[Cell]]]:
    """Each agent's part of the calls and their time by state; with `quality` (the agents'
    report), their quality samples scored and average score beside the satisfaction."""
    header = ["agent", *(name for name, _ in AGENT_COLUMNS)]
    rows = [[agent, *(get(a) for _, get in AGENT_COLUMNS)] for agent, a in report.by_agent.items()]
    if quality is None:
        return header, rows
    at = header.index("satisfaction") + 1
    header[at:at] = QUALITY_COLUMNS
    for row in rows:
        cell = quality.period.get(str(row[0]), QualityMonth())
        row[at:at] = [cell.samples, cell.scored, cell.average]
    return header, rows


QUALITY_COLUMNS = ["quality_samples", "quality_scored", "quality_score"]


def quality_table(quality: AgentQuality) -> tuple[list[str], list[list[Cell]]]:
    """Quality scores (质检) per agent per month: samples drawn, scored, average (0–100)."""
    header = ["agent", "month", *QUALITY_COLUMNS]
    rows: list[list[Cell]] = [
        [agent, month, cell.samples, cell.scored, cell.average]
        for agent, months in sorted(quality.by_month.items())
        for month, cell in sorted(months.items())
    ]
    return header, rows


def abandon_table(report: Report) -> tuple[list[str], list[list[Cell]]]:
    """Abandoned calls by weekday (a 调休 day as the weekday it is worked as) and hour."""
    header = ["weekday", *(f"{h:02d}" for h in range(24))]
    order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
    rows: list[list[Cell]] = [
        [day, *(report.abandoned_by_hour[day][h] for h in range(24))]
        for day in order
        if day in report.abandoned_by_hour
    ]
    return header, rows


def ratings_table(ratings: AgentRatings) -> tuple[list[str], list[list[Cell]]]:
    """Satisfaction per agent per quarter, and the three-low-quarters flag."""
    header = ["agent", "quarter", "answers", "satisfaction", "flagged"]
    rows: list[list[Cell]] = [
        [
            agent,
            q,
            r.answers,
            _rate(r.positive / r.answers if r.answers else None),
            "yes" if agent in ratings.flagged else "no",
        ]
        for agent, quarters in sorted(ratings.by_agent.items())
        for q, r in sorted(quarters.items())
    ]
    return header, rows


def staffing_table(staffing: Staffing) -> tuple[list[str], list[list[Cell]]]:
    """Erlang C: agents each hour needs beside those logged in and those not paused."""
    header = [
        "hour",
        "calls",
        "aht_seconds",
        "erlangs",
        "agents_needed",
        "agents_logged_in",
        "agents_staffed",
        "short",
        "expected_service_level",
        "expected_asa_seconds",
    ]
    rows: list[list[Cell]] = [
        [
            f"{h.hour:02d}",
            round(h.calls, 2),
            _secs(h.aht),
            round(h.traffic, 3),
            h.needed,
            round(h.logged_in, 2),
            round(h.staffed, 2),
            round(h.short, 2),
            _rate(h.service_level),
            _secs(h.asa),
        ]
        for h in staffing.hours
    ]
    return header, rows


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """One table as CSV (UTF-8, comma, LF line ends; empty cell: no figure)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue()


def to_xlsx(sheets: dict[str, tuple[Sequence[str], Sequence[Sequence[Cell]]]]) -> bytes:
    """Tables as sheets of one workbook."""
    from openpyxl import Workbook  # only when asked for: the CLI starts faster

    book = Workbook()
    default = book.active
    for title, (header, rows) in sheets.items():
        sheet = book.create_sheet(title[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
    if default is not None:
        book.remove(default)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def topics_table(report: Report) -> tuple[list[str], list[list[Cell]]]:
    """Hot topics: each menu node and the calls that reached it, most first."""
    return ["menu_node", "calls"], [[node, n] for node, n in report.topics.items()]


def order_topics_table(report: Report) -> tuple[list[str], list[list[Cell]]]:
    """Work orders opened in the period by type and by line of business, most first."""
    rows: list[list[Cell]] = [
        [category, value, n]
        for category in ("type", "line")
        for value, n in report.order_topics.get(category, {}).items()
    ]
    return ["category", "value", "work_orders"], rows


def wrap_up_table(report: Report) -> tuple[list[str], list[list[Cell]]]:
    """Hot topics by wrap-up: each topic code agents gave and its calls, most first."""
    return ["topic", "calls"], [[code, n] for code, n in report.wrap_up_topics.items()]


def report_sheets(
    report: Report, ratings: AgentRatings | None = None, quality: AgentQuality | None = None
) -> dict[str, tuple[Sequence[str], Sequence[Sequence[Cell]]]]:
    """Every table of a report (the XLSX workbook)."""
    vm = report.voice_messages
    summary: list[list[Cell]] = [[k, v] for k, v in rules_lines(report)]
    summary += [[f"voice_messages_{k}", v] for k, v in asdict(vm).items()]
    sheets: dict[str, tuple[Sequence[str], Sequence[Sequence[Cell]]]] = {
        "summary": (["item", "value"], summary),
        "calls": call_table(report),
        "agents": agent_table(report, quality),
        "abandoned_by_hour": abandon_table(report),
        "hot_topics": topics_table(report),
        "work_order_topics": order_topics_table(report),
        "wrap_up_topics": wrap_up_table(report),
    }
    if ratings is not None:
        sheets["quarterly_satisfaction"] = ratings_table(ratings)
    if quality is not None:
        sheets["quality_by_month"] = quality_table(quality)
    return sheets


def to_json(
    report: Report,
    ratings: AgentRatings | None = None,
    staffing: Staffing | None = None,
    quality: AgentQuality | None = None,
) -> dict[str, Any]:
    """The report as JSON-ready data: each table as a list of objects."""

    def objects(table: tuple[Sequence[str], Sequence[Sequence[Cell]]]) -> list[dict[str, Cell]]:
        header, rows = table
        return [dict(zip(header, row, strict=True)) for row in rows]

    out: dict[str, Any] = {
        "rules": dict(rules_lines(report)),
        # The numbers the rules state, for pages that say them in their own words.
        "thresholds": {
            "sl_seconds": report.rules.service_seconds,
            "short_abandon_seconds": report.rules.short_abandon_seconds,
        },
        "calls": objects(call_table(report)),
        "agents": objects(agent_table(report, quality)),
        "hot_topics": objects(topics_table(report)),
        "work_order_topics": objects(order_topics_table(report)),
        "wrap_up_topics": objects(wrap_up_table(report)),
        "abandoned_by_hour": objects(abandon_table(report)),
        "voice_messages": asdict(report.voice_messages),
    }
    if ratings is not None:
        out["quarterly_satisfaction"] = objects(ratings_table(ratings))
        out["flagged_agents"] = ratings.flagged
    if quality is not None:
        out["quality_by_month"] = objects(quality_table(quality))
    if staffing is not None:
        out["staffing"] = {
            "target": staffing.target,
            "seconds": staffing.seconds,
            "hours": objects(staffing_table(staffing)),
        }
    return out


def dumps(data: dict[str, Any]) -> str:
    """JSON text (Chinese kept readable)."""
    return json.dumps(data, ensure_ascii=False, indent=1)
