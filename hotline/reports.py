"""Reports from PostgreSQL: the records of a period, read in a few indexed queries, then
the pure maths of acd/figures.py.

Every query starts from the calls that arrived in the period (`ix_calls_started_at`) and
joins what belongs to them by the call's id; agents' states and voice messages are read by
their own time (indexes of migration 0008). One query per table, no per-call round trips.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.erlang import HourLoad, HourPlan, plan
from acd.figures import quarterly_satisfaction
from acd.report_figures import Report
from acd.report_records import (
    AgentStateChange,
    CallbackRecord,
    CallRecord,
    ConsultRecord,
    Period,
    QueueEntry,
    Records,
    ReportRules,
    SegmentRecord,
    SurveyRecord,
    VoiceMessageRecord,
    WorkOrderLink,
)
from acd.survey import AgentRatings

T = TypeVar("T")

_IN_PERIOD = "c.started_at >= :start AND c.started_at < :end"

_CALLS = (
    "SELECT c.channel_id, c.started_at, c.ended_at, c.disposition, c.adoptions, c.ivr_path"
    f" FROM calls c WHERE {_IN_PERIOD} ORDER BY c.started_at, c.id"
)
# The first `queued` is the entry from the menu (a restarted controller, an overflow or an
# escalation record `queued` again; those are no new stay); each transfer starts a stay.
# `agent`: an agent was put through to the caller (after the whisper, if any).
# `consult_asked` and `consult_ended`: each consult of an expert (acd/consult.py), one at a
# time per call; the segment keeps only the last, the events keep them all.
_ENTRIES = (
    "SELECT e.channel_id, e.kind, e.at, e.data->>'queue' AS queue, e.data->>'agent' AS agent,"
    " e.data->>'expert' AS expert, e.data->>'outcome' AS outcome"
    " FROM calls c JOIN call_events e ON e.channel_id = c.channel_id"
    f" WHERE {_IN_PERIOD} AND e.kind IN ('queued', 'transferred_to_queue', 'agent',"
    " 'consult_asked', 'consult_ended')"
    " ORDER BY e.channel_id, e.at, e.id"
)
# The `agent` event is stored a moment after the leg's answer (same process, same clock).
_CONNECT_SLACK = dt.timedelta(seconds=1)
_SEGMENTS = (
    "SELECT s.channel_id, s.queue, s.agent, s.offered_at, s.answered_at, s.ended_at,"
    " s.outcome, s.topic, s.consult_outcome, s.consulted_by"
    " FROM calls c JOIN call_segments s ON s.channel_id = c.channel_id"
    f" WHERE {_IN_PERIOD} ORDER BY s.offered_at, s.id"
)
_CALLBACKS = (
    "SELECT b.channel_id, b.queue, b.requested_at, b.status, b.attempts"
    f" FROM calls c JOIN callbacks b ON b.channel_id = c.channel_id WHERE {_IN_PERIOD}"
)
_SURVEYS = (
    "SELECT s.channel_id, s.agent, s.score, s.at"
    f" FROM calls c JOIN surveys s ON s.channel_id = c.channel_id WHERE {_IN_PERIOD}"
)
# Each agent's state as the period begins, then every change until the last of the
# period's calls has ended and been wrapped up (a call that arrived before midnight is
# wrapped up after it; its wrap-up counts in its AHT, the agent's time where it was spent).
# The starting states: each agent's latest change before the period, one probe of the
# (agent, at) index per agent (LATERAL ... LIMIT 1), the agents themselves found by a skip
# scan of the same index (recursive: the next agent after the last one); DISTINCT ON over
# the whole history before the period would read and sort all of it.
_STATES = (
    "WITH RECURSIVE agent_ids(agent) AS ("
    " (SELECT agent FROM agent_state_changes ORDER BY agent LIMIT 1)"
    " UNION ALL SELECT (SELECT s.agent FROM agent_state_changes s WHERE s.agent > a.agent"
    " ORDER BY s.agent LIMIT 1) FROM agent_ids a WHERE a.agent IS NOT NULL)"
    " (SELECT latest.agent, latest.status, latest.reason, latest.at FROM agent_ids a"
    " CROSS JOIN LATERAL (SELECT s.agent, s.status, s.reason, s.at FROM agent_state_changes s"
    " WHERE s.agent = a.agent AND s.at < :start ORDER BY s.at DESC LIMIT 1) latest)"
    " UNION ALL (SELECT agent, status, reason, at FROM agent_state_changes"
    " WHERE at >= :start AND at < GREATEST(:end, (SELECT max(c.ended_at) FROM calls c"
    f" WHERE {_IN_PERIOD}) + interval '1 hour'))"
)
# Work orders filed on the period's calls (voice messages' orders name their message, `vm:`).
_WORK_ORDERS = (
    "SELECT w.call_id AS channel_id, w.kind, w.line"
    f" FROM calls c JOIN work_orders w ON w.call_id = c.channel_id WHERE {_IN_PERIOD}"
)
_VOICE_MESSAGES = (
    "SELECT created_at, due_on, origin, status FROM voice_messages"
    " WHERE created_at >= :start AND created_at < :end"
)
_RATINGS = "SELECT agent, score, at FROM surveys WHERE at >= :start AND at < :end"


async def _rows(conn: AsyncConnection, sql: str, bounds: dict[str, Any]) -> list[Any]:
    return list((await conn.execute(text(sql), bounds)).all())


async def in_thread(executor: Executor | None, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` in `executor`'s thread (None: asyncio's default executor)."""
    return await asyncio.get_running_loop().run_in_executor(executor, work, *args)


async def load_records(
    engine: AsyncEngine, period: Period, rules: ReportRules, executor: Executor | None = None
) -> Records:
    """The records of the calls that arrived in the period, agents' states and voice
    messages, read in one snapshot (REPEATABLE READ: the queries agree with each other).
    The rows are decoded on the event loop (asyncpg); they become records in `executor`'s
    thread."""
    async with engine.connect() as conn:
        return await read_records(conn, period, rules, executor)


async def read_records(
    conn: AsyncConnection, period: Period, rules: ReportRules, executor: Executor | None = None
) -> Records:
    """`load_records` on a connection outside any transaction (it runs one and ends it)."""
    start, end = period.bounds(rules.zone)
    bounds = {"start": start, "end": end}
    await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    rows = [
        await _rows(conn, sql, bounds)
        for sql in (
            _CALLS,
            _ENTRIES,
            _SEGMENTS,
            _CALLBACKS,
            _SURVEYS,
            _STATES,
            _VOICE_MESSAGES,
            _WORK_ORDERS,
        )
    ]
    await conn.commit()
    return await in_thread(executor, _assemble, *rows)


def _assemble(
    calls: list[Any],
    entry_rows: list[Any],
    segment_rows: list[Any],
    callback_rows: list[Any],
    survey_rows: list[Any],
    state_rows: list[Any],
    voice_rows: list[Any],
    order_rows: list[Any],
) -> Records:
    """Rows of each table → records, each call with what belongs to it."""
    entries: dict[str, list[QueueEntry]] = defaultdict(list)
    connects: dict[tuple[str, str], list[dt.datetime]] = defaultdict(list)
    consults: dict[str, list[ConsultRecord]] = defaultdict(list)
    for row in entry_rows:
        mine = entries[row.channel_id]
        if row.kind in ("consult_asked", "consult_ended"):
            _consult_event(consults[row.channel_id], row)
        elif row.kind == "agent":
            connects[(row.channel_id, row.agent)].append(row.at)
        elif row.kind == "transferred_to_queue":
            mine.append(QueueEntry(row.queue, row.at, transfer=True))
        elif not mine:
            mine.append(QueueEntry(row.queue, row.at))
    segments: dict[str, list[SegmentRecord]] = defaultdict(list)
    for row in segment_rows:
        segments[row.channel_id].append(
            SegmentRecord(
                row.queue,
                row.agent,
                row.offered_at,
                row.answered_at,
                row.ended_at,
                row.outcome,
                connected=_connected(row, connects),
                topic=row.topic,
                consult=row.consult_outcome,
                consulted_by=row.consulted_by,
                served=_served(row, consults) if row.consulted_by else None,
            )
        )
    callbacks = {
        row.channel_id: CallbackRecord(row.queue, row.requested_at, row.status, row.attempts)
        for row in callback_rows
    }
    surveys = {row.channel_id: SurveyRecord(row.agent, row.score, row.at) for row in survey_rows}
    orders = {row.channel_id: WorkOrderLink(row.kind, row.line) for row in order_rows}
    return Records(
        calls=[
            CallRecord(
                call_id=row.channel_id,
                started_at=row.started_at,
                ended_at=row.ended_at,
                disposition=row.disposition,
                entries=tuple(_in_order(entries.get(row.channel_id, []))),
                segments=tuple(segments.get(row.channel_id, ())),
                callback=callbacks.get(row.channel_id),
                survey=surveys.get(row.channel_id),
                adoptions=row.adoptions,
                path=tuple(row.ivr_path or ()),
                work_order=orders.get(row.channel_id),
                consults=tuple(consults.get(row.channel_id, ())),
            )
            for row in calls
        ],
        states=[AgentStateChange(r.agent, r.status, r.at, r.reason) for r in state_rows],
        voice_messages=[
            VoiceMessageRecord(r.created_at, r.due_on, r.origin, r.status) for r in voice_rows
        ],
    )


def _connected(leg: Any, connects: dict[tuple[str, str], list[dt.datetime]]) -> bool:
    """Whether the agent of an answered leg was put through to the caller during it."""
    if leg.answered_at is None:
        return False
    start = leg.answered_at - _CONNECT_SLACK
    return any(
        start <= moment and (leg.ended_at is None or moment <= leg.ended_at + _CONNECT_SLACK)
        for moment in connects.get((leg.channel_id, leg.agent), ())
    )


def _consult_event(mine: list[ConsultRecord], row: Any) -> None:
    """A consult asked, or the end of the call's consult still open (one at a time)."""
    if row.kind == "consult_asked":
        mine.append(ConsultRecord(row.queue, row.agent, row.at))
        return
    if mine and mine[-1].outcome is None:
        asked = mine.pop()
        mine.append(dataclasses.replace(asked, expert=row.expert, outcome=row.outcome))
    else:  # its `consult_asked` is not in the records (never seen; a journal gap)
        mine.append(ConsultRecord(row.queue, row.agent, row.at, row.expert, row.outcome))


def _served(leg: Any, consults: dict[str, list[ConsultRecord]]) -> str | None:
    """How the consult an expert's leg was rung for ended: the call's consult the expert
    answered that was asked while the leg rang (None: not known)."""
    outcome = None
    for c in consults.get(leg.channel_id, ()):
        if c.expert == leg.agent and c.asked_at <= leg.offered_at + _CONNECT_SLACK:
            outcome = c.outcome  # the latest such: the expert may be consulted twice
    return outcome


def _in_order(entries: list[QueueEntry]) -> list[QueueEntry]:
    """The entry from the menu first (a transfer recorded before it is impossible, but a
    journal replay must not reorder the stays)."""
    return sorted(entries, key=lambda e: (e.transfer, e.at))


def quarters_back(period: Period, quarters: int = 4) -> dt.date:
    """The first day of the `quarters` quarters up to the period's end (the window of the
    satisfaction per quarter, and of the quality scores per month beside it)."""
    last = period.end - dt.timedelta(days=1)
    first_month = (last.year * 12 + last.month - 1) // 3 * 3 - 3 * (quarters - 1)
    return dt.date(first_month // 12, first_month % 12 + 1, 1)


async def agent_ratings(
    engine: AsyncEngine,
    period: Period,
    rules: ReportRules,
    quarters: int = 4,
    executor: Executor | None = None,
) -> AgentRatings:
    """Quarterly satisfaction per agent over the `quarters` quarters up to the period's end,
    and the agents rated low three quarters in a row."""
    start = quarters_back(period, quarters)
    bounds = {
        "start": dt.datetime.combine(start, dt.time(), rules.zone),
        "end": period.bounds(rules.zone)[1],
    }
    async with engine.connect() as conn:
        rows = await _rows(conn, _RATINGS, bounds)
    answers = [SurveyRecord(r.agent, r.score, r.at) for r in rows]
    return await in_thread(executor, quarterly_satisfaction, answers, rules)


@dataclass(frozen=True)
class Staffing:
    """The planner's hours and the target they were planned for."""

    target: float
    seconds: float
    hours: list[HourPlan]


# An hour with offered calls but none answered has no AHT of its own; nor has a period in
# which no call was answered. Planning it with 0 s would say no agent is needed: the
# period's whole-center AHT stands in, or else this (5 minutes, a typical 12333 call).
DEFAULT_AHT_SECONDS = 300.0


def staffing_plan(report: Report, target: float = 0.8, seconds: float = 20.0) -> Staffing:
    """Agents needed per hour of day for the period's average day (its arrivals and AHT per
    hour), beside the agents logged in then on average, and those of them not paused. An
    hour with offered calls but none answered is planned with the period's AHT (or
    DEFAULT_AHT_SECONDS when no call of the period was answered)."""
    days = max(1, len(report.by_day))
    fallback = report.center.aht or DEFAULT_AHT_SECONDS
    loads = [
        HourLoad(
            hour=hour,
            calls=fig.offered / days,
            aht=fig.aht or (fallback if fig.offered else 0.0),
            logged_in=report.logged_in_by_hour.get(hour, 0.0) / 3600.0 / days,
            staffed=report.staffed_by_hour.get(hour, 0.0) / 3600.0 / days,
        )
        for hour, fig in sorted(report.by_hour.items())
    ]
    return Staffing(target, seconds, plan(loads, target, seconds))
