"""Plain records the reports are computed from (what the store holds, nothing derived).

The adapter (`hotline/reports.py`) reads them from PostgreSQL for a period; tests write them
by hand. Times are aware datetimes; the rules say in which time zone a day and an hour are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ivr.hours import WEEKDAYS, BusinessHours

POSITIVE = frozenset({"satisfied", "fairly_satisfied"})  # KPI.md: 满意 + 基本满意


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """The caller entered a queue: the first time from the menu, then at each transfer."""

    queue: str
    at: dt.datetime
    transfer: bool = False


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """One leg with a person (`call_segments`): offered to an agent, maybe answered."""

    queue: str
    agent: str
    offered_at: dt.datetime
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    outcome: str | None = None  # agent_hangup, caller_hangup, transferred, no_answer, ...
    # Put through to the caller. An agent who picks up first hears a whisper (expert seats)
    # or "回拨电话" (a callback): a caller gone meanwhile, or an agent hanging up then, is
    # no answered call (the store has the `agent` event only once the two are bridged).
    connected: bool = True
    topic: str | None = None  # the agent's wrap-up topic code (dialplan/topics.yaml)
    # The agent's consult of an expert on this leg (acd/consult.py): complete, three_way,
    # cancelled, no_expert; None: no consult.
    consult: str | None = None
    # An expert's leg of a consult (rung for it): the agent who asked (`consulted_by`), and
    # how that consult ended (`consult_ended` events; None: not known, e.g. a restart).
    consulted_by: str | None = None
    served: str | None = None

    @property
    def expert_brought_in(self) -> bool:
        """An expert took the question over or joined it (a consult completed or three-way)."""
        return self.consult in ("complete", "three_way")

    @property
    def consult_leg(self) -> bool:
        """An expert's leg of a consult, not a leg of the call offered to its queue."""
        return self.consulted_by is not None

    @property
    def expert_took_part(self) -> bool:
        """A consult leg whose expert took the question over or joined the caller."""
        if self.served is None:  # not known: only a hand-over leaves a trace (`connected`)
            return self.answered
        return self.served in ("complete", "three_way")

    @property
    def worked(self) -> bool:
        """The agent's work on the call (talk, wrap-up, their legs answered): a leg answered
        and put through to the caller, or a consult leg the expert picked up, whatever the
        agent then chose (an expert hanging up in the whisper leaves the consult without
        an expert: no work of theirs)."""
        if not self.consult_leg:
            return self.answered
        return self.answered_at is not None and (self.answered or self.served != "no_expert")

    @property
    def answered(self) -> bool:
        """Answered by the agent and put through to the caller."""
        return self.answered_at is not None and self.connected


@dataclass(frozen=True, slots=True)
class ConsultRecord:
    """One consult an agent asked of an expert queue (`consult_asked`, `consult_ended`)."""

    queue: str  # the expert queue asked
    agent: str
    asked_at: dt.datetime
    expert: str | None = None  # the expert who picked up (None: none did)
    outcome: str | None = None  # complete, three_way, cancelled, no_expert; None: not ended

    @property
    def answered(self) -> bool:
        """An expert picked up and stayed past the whisper."""
        return self.expert is not None and self.outcome != "no_expert"


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """The call's virtual-hold booking (`callbacks`); status pending|done|failed|expired."""

    queue: str
    requested_at: dt.datetime
    status: str
    attempts: int = 0  # times the citizen's phone was dialled


@dataclass(frozen=True, slots=True)
class SurveyRecord:
    """The caller's rating of the agent who finished the call (`surveys`)."""

    agent: str
    score: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class WorkOrderLink:
    """The work order filed on the call (`work_orders.call_id`): its type and line."""

    kind: str
    line: str = ""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as stored (`calls`), with what belongs to it."""

    call_id: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    disposition: str | None = None
    entries: tuple[QueueEntry, ...] = ()  # empty: self-service only
    segments: tuple[SegmentRecord, ...] = ()
    callback: CallbackRecord | None = None
    survey: SurveyRecord | None = None
    adoptions: int = 0  # controller restarts the call lived through
    path: tuple[str, ...] = ()  # the menu nodes it went through (`calls.ivr_path`)
    work_order: WorkOrderLink | None = None  # what could not be answered on the call
    consults: tuple[ConsultRecord, ...] = ()  # the agents' consults of experts, in order


@dataclass(frozen=True, slots=True)
class AgentStateChange:
    """An agent's status from `at` on (`agent_state_changes`)."""

    agent: str
    status: str  # logged_out, ready, offered, on_call, wrap_up, paused
    at: dt.datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class VoiceMessageRecord:
    """A voice message (or an expired callback turned into one) and its answer deadline."""

    created_at: dt.datetime
    due_on: dt.date
    origin: str = "voicemail"
    status: str = "open"
    closed_on: dt.date | None = None  # not stored yet: see README (reports)


@dataclass(frozen=True)
class ReportRules:
    """The thresholds and calendar a report is computed with (all stated in the output)."""

    timezone: str = "Asia/Shanghai"
    service_seconds: float = 20.0  # SL's T
    short_abandon_seconds: float = 5.0
    hours: BusinessHours | None = None  # staffed hours, holidays, 调休
    wrapup_match_seconds: float = 5.0  # a wrap-up starting this soon after a leg ended is its

    @property
    def zone(self) -> ZoneInfo:
        """The center's time zone."""
        return ZoneInfo(self.timezone)

    def local(self, moment: dt.datetime) -> dt.datetime:
        """The moment on the center's clock."""
        return moment.astimezone(self.zone)

    def in_hours(self, moment: dt.datetime) -> bool:
        """Whether people answer then (always, when no hours are given)."""
        return self.hours is None or self.hours.is_open(moment)

    def day_kind(self, day: dt.date) -> str:
        """workday, rest_day, holiday or make_up_workday (调休)."""
        if self.hours is None:
            return "workday" if day.weekday() < 5 else "rest_day"
        if day in self.hours.holidays:
            return "holiday"
        if day in self.hours.workdays:
            return "make_up_workday"
        return "workday" if self.hours.blocks_on(day) else "rest_day"

    def weekday_as(self, day: dt.date) -> str:
        """The weekday a day counts as: a 调休 day as the weekday whose hours apply, a
        public holiday as "holiday" (so abandons by hour compare like with like)."""
        if self.hours is not None:
            if day in self.hours.holidays:
                return "holiday"
            like = self.hours.workdays.get(day)
            if like is not None:
                return like
        return WEEKDAYS[day.weekday()]


@dataclass(frozen=True)
class Period:
    """[start, end) in local days: a day, an ISO week (Monday on), a month or any run of
    days ("range"); or one hour of a day (the unit reports are stored in,
    hotline/report_days.py)."""

    kind: str
    start: dt.date
    end: dt.date
    hour: int | None = None  # kind "hour": this hour of `start`

    @classmethod
    def one_hour(cls, day: dt.date, hour: int) -> Period:
        """One hour of a day, on the center's clock."""
        if not 0 <= hour < 24:
            raise ValueError(f"hour {hour} is not 0-23")
        return cls("hour", day, day + dt.timedelta(days=1), hour)

    @classmethod
    def day(cls, day: dt.date) -> Period:
        """One calendar day."""
        return cls("day", day, day + dt.timedelta(days=1))

    @classmethod
    def week(cls, day: dt.date) -> Period:
        """The ISO week (Monday to Sunday) holding `day`."""
        monday = day - dt.timedelta(days=day.weekday())
        return cls("week", monday, monday + dt.timedelta(days=7))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """A calendar month."""
        start = dt.date(year, month, 1)
        end = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls("month", start, end)

    @classmethod
    def between(cls, first: dt.date, last: dt.date) -> Period:
        """The days from `first` to `last`, both included."""
        if last < first:
            raise ValueError(f"{last} is before {first}")
        return cls("range", first, last + dt.timedelta(days=1))

    @property
    def label(self) -> str:
        """2026-12-01, 2026-W49, 2026-12 or 2026-12-01_2026-12-09 (a range, both included)."""
        if self.kind == "range":
            return f"{self.start.isoformat()}_{(self.end - dt.timedelta(days=1)).isoformat()}"
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return self.start.strftime("%Y-%m")
        if self.hour is not None:
            return f"{self.start.isoformat()}T{self.hour:02d}"
        return self.start.isoformat()

    def bounds(self, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """The period's first and last instant (exclusive) in the center's time zone."""
        if self.hour is not None:
            first = dt.datetime.combine(self.start, dt.time(self.hour), zone)
            return first, first + dt.timedelta(hours=1)
        return (
            dt.datetime.combine(self.start, dt.time(), zone),
            dt.datetime.combine(self.end, dt.time(), zone),
        )

    def days(self) -> list[dt.date]:
        """Every day of the period."""
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days)]


@dataclass
class Records:
    """Everything a report over a period needs."""

    calls: list[CallRecord] = field(default_factory=list)  # arrived in the period
    states: list[AgentStateChange] = field(default_factory=list)  # incl. the last before it
    voice_messages: list[VoiceMessageRecord] = field(default_factory=list)
