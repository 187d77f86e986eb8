"""The ministry's daily file: the center's figures of each day in a fixed, versioned format.

The columns are documented in docs/ministry-export.md; any change to them is a new
FORMAT (the monitoring platform reads by position and name), tested in
tests/unit/test_report_export.py.
"""

from __future__ import annotations

from collections.abc import Callable

from acd.report_figures import CallFigures, Report
from hotline.report_export import Cell, to_csv

FORMAT = "12333-daily-v1"


def _rate(value: float | None) -> Cell:
    return None if value is None else f"{value:.4f}"


def _secs(value: float | None) -> Cell:
    return None if value is None else f"{value:.1f}"


# (column, value of one day's figures); the order is part of the format.
_FIGURES: list[tuple[str, Callable[[CallFigures], Cell]]] = [
    ("calls_received", lambda f: f.calls),
    ("self_service_calls", lambda f: f.self_service),
    ("refused_calls", lambda f: f.refused),
    ("offered_to_agents", lambda f: f.offered),
    ("answered", lambda f: f.answered),
    ("abandoned", lambda f: f.abandoned),
    ("short_abandoned", lambda f: f.short_abandoned),
    ("answer_rate", lambda f: _rate(f.answer_rate)),
    ("answer_rate_in_hours", lambda f: _rate(f.answer_rate_in_hours)),
    ("service_level", lambda f: _rate(f.service_level)),
    ("asa_seconds", lambda f: _secs(f.asa)),
    ("aht_seconds", lambda f: _secs(f.aht)),
    ("transfers", lambda f: f.transfers),
    ("callbacks_booked", lambda f: f.callbacks_booked),
    ("callbacks_reached", lambda f: f.callbacks_reached),
    ("callbacks_failed", lambda f: f.callbacks_failed + f.callbacks_expired),
    ("survey_answers", lambda f: f.survey_answers),
    ("satisfaction_rate", lambda f: _rate(f.satisfaction)),
]

COLUMNS = [
    "format",
    "center",
    "date",
    "day_kind",
    "service_level_seconds",
    "short_abandon_seconds",
    *(name for name, _ in _FIGURES),
]


def ministry_csv(report: Report, center: str) -> str:
    """One line per day of the report, after the header line."""
    rules = report.rules
    rows: list[list[Cell]] = [
        [
            FORMAT,
            center,
            day.isoformat(),
            report.day_kinds[day],
            f"{rules.service_seconds:g}",
            f"{rules.short_abandon_seconds:g}",
            *(get(fig) for _, get in _FIGURES),
        ]
        for day, fig in report.by_day.items()
    ]
    return to_csv(COLUMNS, rows)
