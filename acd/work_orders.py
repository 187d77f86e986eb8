"""Work orders: questions answered later by a responsible office, tracked to their deadline.

The "third answer" of the seeds (DOMAIN.md, "Agents, skills and experts"): what neither the
first agent nor an expert can answer on the call becomes a work order. The first agent owns
it to its end (first-question responsibility); the deadline counts WORKING days by type over
the menu's own calendar (dialplan/hours.yaml: holidays and 调休 make-up workdays); orders
near their deadline, past it, or without an owner are escalated to supervisors (督办).

Pure and synchronous: the store (hotline/work_orders_store.py) loads and saves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from ivr.hours import BusinessHours, closing_time
from ivr.resident_id import mask


class Status(StrEnum):
    """Where an order stands; the history keeps every step."""

    OPEN = "open"  # taken on the call, not yet with an office
    SENT = "sent_to_office"
    ANSWERED = "answered"  # the office answered; the owner calls the citizen back
    FOLLOWED_UP = "followed_up"  # the follow-up call asked the satisfaction question
    CLOSED = "closed"


# Which step may follow which. Besides the main line: an office may send an order back
# (wrong office: the owner re-routes it), an answer the owner finds insufficient goes back
# to the office, and an order resolved without an office (the citizen withdrew, or the
# owner found the answer) may be closed while still open.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.SENT, Status.CLOSED}),
    Status.SENT: frozenset({Status.ANSWERED, Status.OPEN}),
    Status.ANSWERED: frozenset({Status.FOLLOWED_UP, Status.SENT}),
    Status.FOLLOWED_UP: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
# The deadline is for the citizen's answer: once answered, the clock stops.
AWAITING_ANSWER = frozenset({Status.OPEN, Status.SENT})

KIND_DAYS = {"standard": 5, "complex": 15, "labour_inspection": 60, "voice_message": 5}
SATISFACTION = range(1, 6)  # the follow-up question's scale, 1 (very unhappy) to 5


class WorkOrderError(ValueError):
    """A refused request; error_id is what the API and the CLI show (stable)."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class DeadlinePolicy:
    """Working days allowed per type of order, and how early an order counts as near due."""

    days_by_kind: dict[str, int] = field(default_factory=lambda: dict(KIND_DAYS))
    near_due_working_days: int = 1  # escalated on the last working day(s) before the deadline

    def __post_init__(self) -> None:
        for kind, days in self.days_by_kind.items():
            if days < 1:
                raise ValueError(f"type {kind!r}: a deadline is at least 1 working day")
        if self.near_due_working_days < 0:
            raise ValueError("near_due_working_days cannot be negative")

    def due_at(self, kind: str, opened_at: dt.datetime, hours: BusinessHours) -> dt.datetime:
        """When the answer is due: the end of staffed hours on the n-th working day after
        the day the order was opened (holidays skipped, 调休 make-up workdays counted)."""
        days = self.days_by_kind.get(kind)
        if days is None:
            known = ", ".join(sorted(self.days_by_kind))
            raise WorkOrderError("unknown_type", f"unknown type {kind!r} (known: {known})")
        return closing_time(opened_at, days, hours)


@dataclass(frozen=True)
class Change:
    """One step of an order's history."""

    status: Status
    at: dt.datetime
    by: str  # account, `token:<client>`, `office:<code>` or `system`
    note: str = ""


@dataclass(frozen=True)
class WorkOrder:
    """A deferred answer. `id_number` is the verified resident ID (or ""): never shown whole,
    see `id_masked`."""

    number: str
    caller_number: str
    callback_number: str
    id_number: str
    question: str
    line: str  # line of business (queue/skill name, e.g. "pension")
    kind: str
    office: str  # the responsible office's code; "" until the owner routes it
    owner: str | None  # the first agent's 工号; None: nobody (escalated)
    opened_at: dt.datetime
    due_at: dt.datetime
    history: tuple[Change, ...]
    recording: str | None = None
    answer: str = ""
    satisfaction: int | None = None

    @property
    def status(self) -> Status:
        """The current status (the last step of the history)."""
        return self.history[-1].status

    @property
    def id_masked(self) -> str:
        """The ID as it may be shown: first 6 and last 4 characters."""
        return mask(self.id_number) if len(self.id_number) > 10 else ""

    def public(self) -> dict[str, object]:
        """The order as the API, the CLI and logs show it (ID masked)."""
        return {
            "number": self.number,
            "status": self.status.value,
            "caller_number": self.caller_number,
            "callback_number": self.callback_number,
            "id_masked": self.id_masked,
            "question": self.question,
            "line": self.line,
            "type": self.kind,
            "office": self.office,
            "owner": self.owner,
            "opened_at": self.opened_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "recording": self.recording,
            "answer": self.answer,
            "satisfaction": self.satisfaction,
            "history": [
                {"status": c.status.value, "at": c.at.isoformat(), "by": c.by, "note": c.note}
                for c in self.history
            ],
        }


def open_order(
    *,
    number: str,
    caller_number: str,
    callback_number: str,
    id_number: str,
    question: str,
    line: str,
    kind: str,
    owner: str | None,
    by: str,
    at: dt.datetime,
    policy: DeadlinePolicy,
    hours: BusinessHours,
    office: str = "",
    recording: str | None = None,
) -> WorkOrder:
    """A new order, open, with its deadline; `by` is who took it."""
    if at.tzinfo is None:
        raise ValueError("opened_at must be an aware datetime")
    if not question.strip():
        raise WorkOrderError("question_required", "a work order needs the citizen's question")
    # A voice message from an anonymous caller who keyed no number is still a question to
    # answer (its recording may say how to reach them): it must not be lost.
    if not (callback_number or caller_number) and kind != "voice_message":
        raise WorkOrderError("callback_number_required", "no number to call the citizen back")
    return WorkOrder(
        number=number,
        caller_number=caller_number,
        callback_number=callback_number or caller_number,
        id_number=id_number,
        question=question.strip(),
        line=line,
        kind=kind,
        office=office,
        owner=owner or None,
        opened_at=at,
        due_at=policy.due_at(kind, at, hours),
        history=(Change(Status.OPEN, at, by),),
        recording=recording,
    )


def advance(
    order: WorkOrder,
    to: Status,
    *,
    by: str,
    at: dt.datetime,
    note: str = "",
    office: str | None = None,
    answer: str | None = None,
    satisfaction: int | None = None,
) -> WorkOrder:
    """The order after one step; raises WorkOrderError for a step that may not follow the
    current one, or that lacks what it needs (an office to send to, an answer's text)."""
    if to not in TRANSITIONS[order.status]:
        raise WorkOrderError(
            "transition_not_allowed",
            f"order {order.number} is {order.status.value}: it cannot become {to.value}"
            f" (allowed: {', '.join(sorted(s.value for s in TRANSITIONS[order.status])) or '-'})",
        )
    changes: dict[str, object] = {}
    if to is Status.SENT:
        target = office if office is not None else order.office
        if not target:
            raise WorkOrderError("office_required", "sending needs the responsible office")
        changes["office"] = target
    if to is Status.ANSWERED:
        if not answer or not answer.strip():
            raise WorkOrderError("answer_required", "an answer needs its text")
        changes["answer"] = answer.strip()
    if to is Status.FOLLOWED_UP and satisfaction is not None:
        if satisfaction not in SATISFACTION:
            raise WorkOrderError("bad_satisfaction", "satisfaction is 1 to 5")
        changes["satisfaction"] = satisfaction
    step = Change(to, at, by, note)
    return dataclasses.replace(order, history=(*order.history, step), **changes)  # type: ignore[arg-type]


def take_over(
    order: WorkOrder,
    owner: str,
    *,
    by: str,
    at: dt.datetime,
    agents: frozenset[str] | None = None,
) -> WorkOrder:
    """A new owner (the first agent left, or nobody had it); the history notes it.

    `agents`: the roster's 工号 (None: not checked); a closed order keeps its owner.
    """
    if not owner:
        raise WorkOrderError("owner_required", "the new owner's 工号 is needed")
    if agents is not None and owner not in agents:
        raise WorkOrderError("unknown_agent", f"owner: no agent {owner!r} in the roster")
    if order.status is Status.CLOSED:
        raise WorkOrderError("order_closed", "a closed order keeps its owner")
    note = f"owner {order.owner or '-'} -> {owner}"
    step = Change(order.status, at, by, note)
    return dataclasses.replace(order, owner=owner, history=(*order.history, step))


def noted(order: WorkOrder, note: str, *, by: str, at: dt.datetime) -> WorkOrder:
    """The order with a step that keeps its status and says what happened (a call-back to
    the citizen, a follow-up attempt that did not reach them)."""
    if not note.strip():
        raise WorkOrderError("note_required", "a note needs its text")
    step = Change(order.status, at, by, note.strip())
    return dataclasses.replace(order, history=(*order.history, step))


Reason = Literal["overdue", "near_due", "no_owner"]


@dataclass(frozen=True)
class Escalation:
    """One line of the supervisors' 督办 list."""

    number: str
    reason: Reason
    due_at: dt.datetime
    owner: str | None
    office: str
    status: Status


def working_days_left(today: dt.date, due: dt.date, hours: BusinessHours) -> int:
    """Working days after today up to and including the due date (0: due today or past)."""
    left, day = 0, today
    while day < due:
        day += dt.timedelta(days=1)
        if hours.blocks_on(day):
            left += 1
    return left


def escalations(
    orders: Iterable[WorkOrder],
    now: dt.datetime,
    hours: BusinessHours,
    policy: DeadlinePolicy,
    agents: frozenset[str] | None = None,
) -> list[Escalation]:
    """What supervisors must chase now: answers past their deadline, answers due within
    `near_due_working_days`, and unfinished orders whose owner is missing (or, given the
    known `agents`, is no longer one of them: "no case waits overnight"). Most urgent first."""
    tz = ZoneInfo(hours.timezone)
    today = now.astimezone(tz).date()
    found: list[Escalation] = []
    for order in orders:
        if order.status is Status.CLOSED:
            continue
        reasons: list[Reason] = []
        if order.status in AWAITING_ANSWER:
            if now > order.due_at:
                reasons.append("overdue")
            else:
                due_day = order.due_at.astimezone(tz).date()
                if working_days_left(today, due_day, hours) <= policy.near_due_working_days:
                    reasons.append("near_due")
        if order.owner is None or (agents is not None and order.owner not in agents):
            reasons.append("no_owner")
        for reason in reasons:
            found.append(
                Escalation(
                    order.number, reason, order.due_at, order.owner, order.office, order.status
                )
            )
    rank = {"overdue": 0, "no_owner": 1, "near_due": 2}
    return sorted(found, key=lambda e: (rank[e.reason], e.due_at, e.number))


def order_number(year: int, sequence: int) -> str:
    """The number the citizen is texted and keys in: the year, then 8 digits (keypad only)."""
    if not 0 < sequence < 10**8:
        raise ValueError("sequence out of range")
    return f"{year:04d}{sequence:08d}"
