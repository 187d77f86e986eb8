"""Quality sampling (质检): the scoring form, a score sheet's weighted score, the daily
sample of each agent's recorded calls, and each agent's average per month. Pure.

The form is a list of items ops define, each with a weight and a scale: a supervisor gives
an item 0..`points` (`points: 1` is pass/fail). The score of a sheet is
100 × Σ(weight × given / points) / Σ weight, so 0–100 whatever the weights add up to
(with weights adding up to 100 each item's weight is the most it can add).

The sample: of each agent's recorded calls of a day, ceil(share × calls) of them, at least
`minimum` (never more than there are), chosen at random with a seed: the same seed, calls
and share always give the same choice, and without the seed nobody can tell in advance
which calls will be heard.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class SheetError(ValueError):
    """A score sheet that does not fit the form; `error_id` says how."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class FormItem:
    """One thing the supervisor judges: weight in the total, and the scale (0..points)."""

    item: str
    weight: int
    points: int = 1  # 1: pass/fail
    zh: str = ""
    en: str = ""


@dataclass(frozen=True)
class Form:
    """The items, in the order the form shows them."""

    items: tuple[FormItem, ...]

    def digest(self) -> str:
        """Names the form a sheet was scored on (kept with the score)."""
        shape = [(i.item, i.weight, i.points) for i in self.items]
        return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]


def check_sheet(form: Form, given: Mapping[str, object]) -> dict[str, int]:
    """The points given per item, checked: every item of the form, no other, each a whole
    number 0..points. Raises SheetError (missing_item, unknown_item, bad_points)."""
    known = {i.item for i in form.items}
    unknown = sorted(str(k) for k in given if k not in known)
    if unknown:
        raise SheetError("unknown_item", f"not on the form: {', '.join(unknown)[:120]}")
    sheet: dict[str, int] = {}
    for item in form.items:
        if item.item not in given:
            raise SheetError("missing_item", f"{item.item}: not scored")
        value = given[item.item]
        if isinstance(value, bool) or not isinstance(value, int):
            raise SheetError("bad_points", f"{item.item}: a whole number 0..{item.points}")
        if not 0 <= value <= item.points:
            raise SheetError("bad_points", f"{item.item}: between 0 and {item.points}")
        sheet[item.item] = value
    return sheet


def weighted_score(form: Form, sheet: Mapping[str, int]) -> float:
    """100 × Σ(weight × given / points) / Σ weight, to 2 decimals (a checked sheet)."""
    total = sum(i.weight for i in form.items)
    earned = sum(i.weight * sheet[i.item] / i.points for i in form.items)
    return round(100 * earned / total, 2) if total else 0.0


@dataclass(frozen=True)
class RecordedCall:
    """A recording of an agent's part of a call, a candidate for the day's sample."""

    recording: int
    agent: str
    call: str = ""


def sample_size(calls: int, share: float, minimum: int) -> int:
    """ceil(share × calls), at least `minimum`, at most `calls` (0 without calls)."""
    if calls <= 0:
        return 0
    # round first: 0.05 × 20 is 1.0000000000000002 in floating point, and must give 1
    wanted = math.ceil(round(calls * share, 9))
    return min(calls, max(minimum, wanted))


def draw(
    calls: Iterable[RecordedCall], share: float, minimum: int, seed: str
) -> list[RecordedCall]:
    """The day's sample: per agent `sample_size` of their recordings, at random from
    `seed` (each agent's own stream: one agent's calls do not change another's choice).
    Sorted by agent, then recording."""
    by_agent: dict[str, list[RecordedCall]] = defaultdict(list)
    for call in calls:
        by_agent[call.agent].append(call)
    chosen: list[RecordedCall] = []
    for agent, mine in sorted(by_agent.items()):
        mine.sort(key=lambda c: c.recording)
        # A str seed is hashed with SHA-512 by random: the same in every process and release.
        rng = random.Random(f"{seed}/{agent}")
        picked = rng.sample(mine, sample_size(len(mine), share, minimum))
        chosen += sorted(picked, key=lambda c: c.recording)
    return chosen


@dataclass
class QualityMonth:
    """One agent's samples of one month, and the scores of those scored."""

    samples: int = 0
    scores: list[float] = field(default_factory=list)

    @property
    def scored(self) -> int:
        """How many of the samples were scored."""
        return len(self.scores)

    @property
    def average(self) -> float | None:
        """Mean score of the scored samples (None: none scored)."""
        return round(sum(self.scores) / len(self.scores), 2) if self.scores else None


def month(day: dt.date) -> str:
    """2026-12."""
    return f"{day.year:04d}-{day.month:02d}"


def monthly(
    samples: Iterable[tuple[str, dt.date, float | None]],
) -> dict[str, dict[str, QualityMonth]]:
    """(agent, day of the call, score or None if not scored yet) → per agent per month.
    A score counts in the month of the call it judged, not of the day it was given."""
    table: dict[str, dict[str, QualityMonth]] = defaultdict(dict)
    for agent, day, score in samples:
        cell = table[agent].setdefault(month(day), QualityMonth())
        cell.samples += 1
        if score is not None:
            cell.scores.append(score)
    return dict(table)


def overall(months: Mapping[str, QualityMonth]) -> QualityMonth:
    """The months of one agent taken together (the period's figure)."""
    total = QualityMonth()
    for cell in months.values():
        total.samples += cell.samples
        total.scores += cell.scores
    return total


@dataclass(frozen=True)
class AgentQuality:
    """The agents' report's quality figures: each agent's samples and scores in the
    period, and per month over the satisfaction's quarters (the months beside them)."""

    period: dict[str, QualityMonth]
    by_month: dict[str, dict[str, QualityMonth]]
