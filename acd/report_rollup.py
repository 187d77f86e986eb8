"""A long period's report as the sum of its days (rollups).

Every figure of a `Report` is a count or a sum over the calls that arrived on a day, or
agents' time clipped to that day: a week or a month is exactly the sum of its days. A day
that can no longer change is computed once and stored (hotline/report_days.py), so a month
reads thirty small rows instead of a million calls. Voice messages are the exception (open
and overdue depend on today): they are computed for the whole period each time.

`day_to_json` and `day_from_json` carry a day's figures through the store; the period and
the rules are not stored (the store keys each day by a digest of the rules).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

from acd.agent_activity import Activity
from acd.figures import hot_topics
from acd.report_figures import AgentFigures, CallFigures, Report, VoiceMessageFigures
from acd.report_records import Period, ReportRules

# Bump when a figure is added or computed anew: stored days of an older format are
# recomputed. 6: consults counted, and experts' consult legs in their talk and AHT.
FORMAT = 6


def rules_key(rules: ReportRules) -> str:
    """A digest of everything a day's figures depend on besides the records."""
    # Numbers as floats: 20 and 20.0 are the same threshold (the API's and the keeper's).
    numbers = (rules.service_seconds, rules.short_abandon_seconds, rules.wrapup_match_seconds)
    said = f"{FORMAT}:{rules.timezone}:{[float(n) for n in numbers]}:{rules.hours!r}"
    return hashlib.sha256(said.encode()).hexdigest()[:32]


def _add_fields(into: Any, part: Any, skip: tuple[str, ...] = ()) -> None:
    for f in fields(into):
        if f.name not in skip:
            setattr(into, f.name, getattr(into, f.name) + getattr(part, f.name))


def _add_activity(into: Activity, part: Activity) -> None:
    _add_fields(into, part, skip=("paused_by_reason",))
    for reason, seconds in part.paused_by_reason.items():
        into.paused_by_reason[reason] = into.paused_by_reason.get(reason, 0.0) + seconds


def _add_agent(into: AgentFigures, part: AgentFigures) -> None:
    _add_fields(into, part, skip=("time",))
    _add_activity(into.time, part.time)


def _add_hours(into: dict[int, float], part: dict[int, float]) -> None:
    for hour, value in part.items():
        into[hour] = into.get(hour, 0.0) + value


def combine(
    period: Period, rules: ReportRules, days: Sequence[Report], voice: VoiceMessageFigures
) -> Report:
    """The period's report from the reports of each of its days and the period's voice
    messages (each day once; a day missing from `days` counts as a day without calls)."""
    center = CallFigures()
    by_day = {day: CallFigures() for day in period.days()}
    by_hour = {hour: CallFigures() for hour in range(24)}
    by_queue: dict[str, CallFigures] = defaultdict(CallFigures)
    agents: dict[str, AgentFigures] = defaultdict(AgentFigures)
    abandoned: dict[str, dict[int, int]] = defaultdict(lambda: dict.fromkeys(range(24), 0))
    staffed: dict[int, float] = {}
    logged_in: dict[int, float] = {}
    topics: Counter[str] = Counter()
    wrap_up: Counter[str] = Counter()
    for part in days:
        topics.update(part.topics)
        wrap_up.update(part.wrap_up_topics)
        _add_fields(center, part.center)
        for day, fig in part.by_day.items():
            _add_fields(by_day[day], fig)
        for hour, fig in part.by_hour.items():
            _add_fields(by_hour[hour], fig)
        for queue, fig in part.by_queue.items():
            _add_fields(by_queue[queue], fig)
        for agent, figures in part.by_agent.items():
            _add_agent(agents[agent], figures)
        for weekday, hours in part.abandoned_by_hour.items():
            for hour, n in hours.items():
                abandoned[weekday][hour] += n
        _add_hours(staffed, part.staffed_by_hour)
        _add_hours(logged_in, part.logged_in_by_hour)
    return Report(
        period=period,
        rules=rules,
        center=center,
        by_day=by_day,
        by_hour=by_hour,
        by_queue=dict(sorted(by_queue.items())),
        by_agent=dict(sorted(agents.items())),
        abandoned_by_hour=dict(abandoned),
        day_kinds={day: rules.day_kind(day) for day in period.days()},
        voice_messages=voice,
        staffed_by_hour=dict(sorted(staffed.items())),
        logged_in_by_hour=dict(sorted(logged_in.items())),
        topics=hot_topics(topics),
        wrap_up_topics=hot_topics(wrap_up),
    )


def day_to_json(report: Report) -> dict[str, Any]:
    """A day's figures as JSON (no voice messages: they are never taken from a stored day)."""
    return {
        "format": FORMAT,
        "center": asdict(report.center),
        "by_hour": {str(h): asdict(f) for h, f in report.by_hour.items()},
        "by_queue": {q: asdict(f) for q, f in report.by_queue.items()},
        "by_agent": {a: asdict(f) for a, f in report.by_agent.items()},
        "abandoned_by_hour": {
            w: {str(h): n for h, n in hours.items()}
            for w, hours in report.abandoned_by_hour.items()
        },
        "staffed_by_hour": {str(h): s for h, s in report.staffed_by_hour.items()},
        "logged_in_by_hour": {str(h): s for h, s in report.logged_in_by_hour.items()},
        "topics": report.topics,
        "wrap_up_topics": report.wrap_up_topics,
    }


def _agent(data: dict[str, Any]) -> AgentFigures:
    return AgentFigures(**{**data, "time": Activity(**data["time"])})


def day_from_json(day: dt.date, rules: ReportRules, data: dict[str, Any]) -> Report:
    """The day's report back from `day_to_json` (voice messages empty)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"stored day {day} has format {data.get('format')}, not {FORMAT}")
    center = CallFigures(**data["center"])
    return Report(
        period=Period.day(day),
        rules=rules,
        center=center,
        by_day={day: CallFigures(**data["center"])},
        by_hour={int(h): CallFigures(**f) for h, f in data["by_hour"].items()},
        by_queue={q: CallFigures(**f) for q, f in data["by_queue"].items()},
        by_agent={a: _agent(f) for a, f in data["by_agent"].items()},
        abandoned_by_hour={
            w: {int(h): n for h, n in hours.items()}
            for w, hours in data["abandoned_by_hour"].items()
        },
        day_kinds={day: rules.day_kind(day)},
        voice_messages=VoiceMessageFigures(),
        staffed_by_hour={int(h): s for h, s in data["staffed_by_hour"].items()},
        logged_in_by_hour={int(h): s for h, s in data["logged_in_by_hour"].items()},
        topics=data["topics"],
        wrap_up_topics=data["wrap_up_topics"],
    )
