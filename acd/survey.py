"""The post-call satisfaction keypress, and its quarterly aggregation per agent."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ivr.actions import (
    Action,
    DigitPressed,
    Hangup,
    Play,
    PlaybackFinished,
    StartTimer,
    StopPlayback,
    TimerExpired,
)

SCORES = {"1": "satisfied", "2": "fairly_satisfied", "3": "dissatisfied"}


@dataclass(frozen=True)
class SurveyAnswered:
    """Store the caller's rating of the agent."""

    score: str


@dataclass
class SurveySession:
    """满意按1，基本满意按2，不满意按3 — asked once more on a wrong key or silence."""

    language: str = "zh"
    tries: int = 0
    phase: str = "new"
    playback: str | None = None
    timer: str | None = None
    answer: str | None = None
    _seq: int = 0

    def _next(self, kind: str) -> str:
        self._seq += 1
        return f"sv{kind}{self._seq}"

    def start(self) -> list[Action]:
        """Ask the question."""
        self.phase = "asking"
        self.playback = self._next("pb")
        return [Play(self.playback, ("survey",), self.language, barge_in=True)]

    def handle(self, event: object) -> list[Action | SurveyAnswered]:
        """Keys, playbacks and timers in; the answer and the goodbye out."""
        if self.phase == "done":
            return []
        if isinstance(event, PlaybackFinished) and event.playback_id == self.playback:
            self.playback = None
            if self.phase == "asking":
                self.phase = "waiting"
                self.timer = self._next("t")
                return [StartTimer(self.timer, 8)]
            if self.phase == "thanking":
                self.phase = "done"
                return [Hangup("answered")]
        if isinstance(event, DigitPressed) and self.phase in ("asking", "waiting"):
            # A key stops the question (as dialplan Read() does): otherwise what comes next
            # waits behind the whole of it, and the caller holds a line seconds longer.
            stop: list[Action | SurveyAnswered] = []
            if self.phase == "asking" and self.playback is not None:
                stop.append(StopPlayback(self.playback))
                self.playback = None
            if event.digit in SCORES:
                self.answer = SCORES[event.digit]
                return [*stop, SurveyAnswered(self.answer), *self._thank()]
            return [*stop, *self._again()]
        if isinstance(event, TimerExpired) and event.token == self.timer:
            return self._again()
        return []

    def _again(self) -> list[Action | SurveyAnswered]:
        self.tries += 1
        self.timer = None
        if self.tries >= 2:
            return list(self._thank())
        self.phase = "asking"
        self.playback = self._next("pb")
        return [Play(self.playback, ("survey",), self.language, barge_in=True)]

    def _thank(self) -> list[Action]:
        self.phase = "thanking"
        self.timer = None
        self.playback = self._next("pb")
        return [Play(self.playback, ("survey-thanks",), self.language, barge_in=False)]


def quarter(day: dt.date) -> str:
    """2026Q4."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


@dataclass
class QuarterRating:
    """One agent's answers in one quarter."""

    answers: int = 0
    positive: int = 0  # 满意 + 基本满意

    @property
    def satisfaction(self) -> float:
        """(满意 + 基本满意) / answers (KPI.md)."""
        return self.positive / self.answers if self.answers else 1.0


@dataclass(frozen=True)
class Thresholds:
    """Low means under `low_rate` with at least `min_answers` answers in the quarter."""

    low_rate: float = 0.8
    min_answers: int = 10
    quarters_in_a_row: int = 3


@dataclass
class AgentRatings:
    """Quarterly satisfaction per agent, and who is flagged."""

    by_agent: dict[str, dict[str, QuarterRating]] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)


def aggregate(
    answers: Iterable[tuple[str, dt.date, str]], thresholds: Thresholds = Thresholds()
) -> AgentRatings:
    """(agent, day, score) rows → ratings per quarter; flag agents low N quarters in a row."""
    table: dict[str, dict[str, QuarterRating]] = defaultdict(dict)
    for agent, day, score in answers:
        rating = table[agent].setdefault(quarter(day), QuarterRating())
        rating.answers += 1
        rating.positive += score in ("satisfied", "fairly_satisfied")
    result = AgentRatings(by_agent=dict(table))
    for agent, quarters in sorted(table.items()):
        streak = 0
        for q in sorted(quarters):
            r = quarters[q]
            low = r.answers >= thresholds.min_answers and r.satisfaction < thresholds.low_rate
            streak = streak + 1 if low and _follows(q, quarters, streak) else (1 if low else 0)
            if streak >= thresholds.quarters_in_a_row:
                result.flagged.append(agent)
                break
    return result


def _follows(q: str, quarters: dict[str, QuarterRating], streak: int) -> bool:
    """Whether quarter q directly follows the previous one of the streak."""
    if streak == 0:
        return True
    year, n = int(q[:4]), int(q[5])
    previous = f"{year}Q{n - 1}" if n > 1 else f"{year - 1}Q4"
    return previous in quarters
