"""The figures of a report (acd/figures.py computes them; its docstring states the rules):
counts and sums, and the ratios the ministry and KPI.md name, over calls, agents and voice
messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from acd.agent_activity import Activity
from acd.report_records import Period, ReportRules


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass
class CallFigures:
    """Counts and sums over a set of calls (or of stays in one queue)."""

    calls: int = 0  # every call that arrived (center, day, hour)
    self_service: int = 0  # never asked for a person
    refused: int = 0  # center full: told "all lines busy", never answered (lines_busy)
    offered: int = 0
    offered_in_hours: int = 0
    answered: int = 0
    answered_in_hours: int = 0
    answered_on_line: int = 0
    answered_by_callback: int = 0
    answered_within_t: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    abandoned_within_t: int = 0
    wait_seconds: float = 0.0  # of the calls answered on the line
    handled: int = 0  # legs answered by agents
    talk_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    transfers: int = 0
    callbacks_booked: int = 0
    callbacks_reached: int = 0
    callbacks_failed: int = 0
    callbacks_expired: int = 0
    callbacks_pending: int = 0
    callback_duplicates: int = 0
    survey_answers: int = 0
    survey_positive: int = 0
    resolved_directly: int = 0  # answered, not handed to an expert, no work order
    resolved_on_call: int = 0  # answered, no work order (experts included)
    work_orders: int = 0  # answered calls a work order was filed on
    # Consults asked of experts (by queue: of that expert queue), and how they ended.
    consults_asked: int = 0
    consults_answered: int = 0  # an expert picked up and stayed past the whisper
    consults_no_expert: int = 0  # none ready, none answering in time, or gone in the whisper
    consults_completed: int = 0  # the expert took the caller over
    consults_three_way: int = 0
    consults_cancelled: int = 0  # the agent went on alone (or the caller or agent left)

    @property
    def answer_rate(self) -> float | None:
        """接通率: answered / offered."""
        return _ratio(self.answered, self.offered)

    @property
    def answer_rate_in_hours(self) -> float | None:
        """Answered / offered, calls that entered the queue in staffed hours only."""
        return _ratio(self.answered_in_hours, self.offered_in_hours)

    @property
    def service_level(self) -> float | None:
        """Variant 1: answered within T / answered (on the line)."""
        return _ratio(self.answered_within_t, self.answered_on_line)

    @property
    def service_level_2(self) -> float | None:
        """Variant 2: (answered + abandoned within T) / (answered + abandoned)."""
        return _ratio(
            self.answered_within_t + self.abandoned_within_t,
            self.answered_on_line + self.abandoned,
        )

    @property
    def asa(self) -> float | None:
        """Average speed of answer, seconds."""
        return _ratio(self.wait_seconds, self.answered_on_line)

    @property
    def aht(self) -> float | None:
        """Average handle time (talk + wrap-up) per answered call, seconds."""
        return _ratio(self.talk_seconds + self.wrapup_seconds, self.answered)

    @property
    def satisfaction(self) -> float | None:
        """(满意 + 基本满意) / survey answers."""
        return _ratio(self.survey_positive, self.survey_answers)

    @property
    def survey_response_rate(self) -> float | None:
        """Survey answers / answered calls."""
        return _ratio(self.survey_answers, self.answered)

    @property
    def direct_resolution_rate(self) -> float | None:
        """直办率: answered calls neither handed to an expert nor made a work order /
        answered calls."""
        return _ratio(self.resolved_directly, self.answered)

    @property
    def resolved_on_call_rate(self) -> float | None:
        """Answered calls without a work order / answered calls (KPI.md's variant)."""
        return _ratio(self.resolved_on_call, self.answered)


@dataclass
class AgentFigures:
    """One agent's legs (their part of each call) and their time."""

    offered: int = 0
    answered: int = 0
    no_answer: int = 0
    talk_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    transfers: int = 0
    survey_answers: int = 0
    survey_positive: int = 0
    resolved_directly: int = 0  # legs answered, not transferred, no work order on the call
    consults: int = 0  # consult legs taken (an expert's; in answered, talk and AHT)
    logins: int = 0
    time: Activity = field(default_factory=Activity)

    @property
    def aht(self) -> float | None:
        """(talk + wrap-up) / legs answered, seconds."""
        return _ratio(self.talk_seconds + self.wrapup_seconds, self.answered)

    @property
    def satisfaction(self) -> float | None:
        """(满意 + 基本满意) / survey answers."""
        return _ratio(self.survey_positive, self.survey_answers)

    @property
    def direct_resolution_rate(self) -> float | None:
        """Legs resolved directly / legs answered."""
        return _ratio(self.resolved_directly, self.answered)


@dataclass
class VoiceMessageFigures:
    """Voice messages left in the period and their answer deadlines."""

    received: int = 0
    from_expired_callbacks: int = 0
    open: int = 0
    overdue: int = 0  # still open after their due day
    closed: int = 0
    met: int = 0  # closed by their due day (needs the closing day: see README)


@dataclass
class Report:
    """A period's figures, whole and by day, hour of day, queue and agent."""

    period: Period
    rules: ReportRules
    center: CallFigures
    by_day: dict[dt.date, CallFigures]
    by_hour: dict[int, CallFigures]
    by_queue: dict[str, CallFigures]
    by_agent: dict[str, AgentFigures]
    abandoned_by_hour: dict[str, dict[int, int]]  # weekday (调休 as its weekday) -> hour -> n
    day_kinds: dict[dt.date, str]
    voice_messages: VoiceMessageFigures
    staffed_by_hour: dict[int, float]  # agent-seconds logged in and not paused, per hour
    logged_in_by_hour: dict[int, float]  # agent-seconds logged in (paused too), per hour
    # Hot topics: menu node -> calls that reached it (each call once per node), most first.
    topics: dict[str, int] = field(default_factory=dict)
    # Work orders opened in the period by "type" and by "line" (of business), most first;
    # read fresh for the period (hotline/report_days.py), like its voice messages.
    order_topics: dict[str, dict[str, int]] = field(default_factory=dict)
    # Wrap-up topics: topic code -> calls an agent gave it (each call once per code).
    wrap_up_topics: dict[str, int] = field(default_factory=dict)
