"""Consults of experts in the reports (rules in acd/figures.py), against a hand-computed day:
an expert's consult leg is the expert's work (talk, AHT, their consults), never a second
call of the center; consults are counted by how they ended, for the call and the expert
queue asked. Also: the store's events paired into consults (hotline/reports.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from types import SimpleNamespace

import pytest

from acd.report_records import CallRecord, ConsultRecord, Period, SegmentRecord
from acd.report_rollup import combine, day_from_json, day_to_json
from hotline import report_export as export
from hotline.reports import _assemble
from tests.unit.test_figures import DAY, RULES, at, leg, one_day, queued, state

SI, EXPERT = "social_insurance", "expert_social_insurance"


def expert_leg(
    offered: str, answered: str | None, ended: str, outcome: str, served: str | None, **kw: bool
) -> SegmentRecord:
    """2001 rung for 1001's consult; `connected` only once handed the caller (complete)."""
    seg = leg("2001", offered, answered, ended, outcome, queue=EXPERT)
    connected = kw.get("connected", False)
    return dataclasses.replace(seg, consulted_by="1001", served=served, connected=connected)


def consulted(
    call_id: str,
    h: str,
    agent_end: str,
    agent_outcome: str,
    outcome: str,
    expert: SegmentRecord,
    call_end: str,
    answered_by: str | None = "2001",
) -> CallRecord:
    """Arrived hh:m0:00, in the queue at :05, 1001 answers at :10 (5 s wait) and asks the
    expert queue at +1 min."""
    mine = leg("1001", f"{h}0:06", f"{h}0:10", agent_end, agent_outcome)
    asked = ConsultRecord(EXPERT, "1001", at(f"{h}1:00"), answered_by, outcome)
    return queued(
        call_id,
        f"{h}0:00",
        f"{h}0:05",
        "answered",
        call_end,
        dataclasses.replace(mine, consult=outcome),
        expert,
        consults=(asked,),
    )


def a_day() -> list[CallRecord]:
    """C completed (2001 talks 10:01:05-10:05:00, 235 s, and keeps the caller); W three-way
    (2001 10:11:05-10:13:00, 115 s); N cancelled (2001 10:21:05-10:21:45, 40 s, then 30 s
    of wrap-up); X no expert (2001 rung, withdrawn at the timeout); Y the caller hung up
    while the expert queue rang; H 2001 picked up and hung up in the whisper (no expert)."""
    return [
        consulted(
            "C",
            "10:0",
            "10:02:00",
            "handed_over",
            "complete",
            expert_leg(
                "10:01:00", "10:01:05", "10:05:00", "caller_hangup", "complete", connected=True
            ),
            "10:05:00",
        ),
        consulted(
            "W",
            "10:1",
            "10:15:00",
            "agent_hangup",
            "three_way",
            expert_leg("10:11:00", "10:11:05", "10:13:00", "consult_ended", "three_way"),
            "10:15:00",
        ),
        consulted(
            "N",
            "10:2",
            "10:25:00",
            "agent_hangup",
            "cancelled",
            expert_leg("10:21:00", "10:21:05", "10:21:45", "consult_cancel", "cancelled"),
            "10:25:00",
        ),
        consulted(
            "X",
            "10:3",
            "10:33:00",
            "caller_hangup",
            "no_expert",
            expert_leg("10:31:00", None, "10:31:30", "cancelled", None),
            "10:33:00",
            answered_by=None,
        ),
        consulted(
            "Y",
            "10:4",
            "10:41:20",
            "caller_hangup",
            "cancelled",
            expert_leg("10:41:00", None, "10:41:20", "cancelled", None),
            "10:41:20",
            answered_by=None,
        ),
        consulted(
            "H",
            "10:5",
            "10:53:00",
            "agent_hangup",
            "no_expert",
            expert_leg("10:51:00", "10:51:02", "10:51:04", "agent_hangup", "no_expert"),
            "10:53:00",
        ),
    ]


EXPERT_STATES = [
    state("2001", "ready", "09:00:00"),
    state("2001", "on_call", "10:21:05"),
    state("2001", "wrap_up", "10:21:45"),
    state("2001", "ready", "10:22:15"),
    state("2001", "logged_out", "11:00:00"),
]


def test_a_consult_is_the_experts_work_and_never_a_call_of_its_own() -> None:
    report = one_day(a_day(), EXPERT_STATES)
    c = report.center
    # Six calls, each offered and answered once (by 1001, 5 s after entering): a consult
    # with no expert, or a caller gone while it rang, is no abandon.
    assert (c.offered, c.answered, c.abandoned, c.answer_rate) == (6, 6, 0, 1.0)
    assert (c.answered_on_line, c.answered_within_t, c.asa) == (6, 6, 5.0)
    # Legs: 1001's six, 2001's consults C W N. Talk: 1001 110+290+290+170+70+170 = 1100,
    # 2001 235+115+40 = 390; wrap-up: N's 30 s.
    assert (c.handled, c.talk_seconds, c.wrapup_seconds) == (9, 1490, 30)
    assert c.aht == pytest.approx(1520 / 6)
    # Resolved directly: N X Y H (C and W brought the expert in).
    assert (c.resolved_directly, c.resolved_on_call) == (4, 6)
    consults = (
        c.consults_asked,
        c.consults_answered,
        c.consults_no_expert,
        c.consults_completed,
        c.consults_three_way,
        c.consults_cancelled,
    )
    assert consults == (6, 3, 2, 1, 1, 2)
    assert report.by_hour[10].consults_asked == 6
    # The expert queue: its consults, and no stay (nobody was offered to it as a call).
    e = report.by_queue[EXPERT]
    assert (e.offered, e.answered, e.abandoned, e.handled) == (0, 0, 0, 0)
    assert (e.consults_asked, e.consults_answered, e.consults_no_expert) == (6, 3, 2)
    assert (e.consults_completed, e.consults_three_way, e.consults_cancelled) == (1, 1, 2)
    first = report.by_queue[SI]
    assert (first.offered, first.answered, first.consults_asked) == (6, 6, 0)
    assert (first.handled, first.talk_seconds) == (9, 1490)


def test_the_expert_has_each_consult_taken_in_talk_aht_and_occupancy() -> None:
    report = one_day(a_day(), EXPERT_STATES)
    expert, agent = report.by_agent["2001"], report.by_agent["1001"]
    # Rung six times; took C W N (H hung up in the whisper; X and Y were withdrawn).
    assert (expert.offered, expert.answered, expert.consults, expert.no_answer) == (6, 3, 3, 0)
    assert (expert.talk_seconds, expert.wrapup_seconds) == (390, 30)
    assert expert.aht == pytest.approx(420 / 3)
    # C completed and W three-way are the expert's resolution; N was left to 1001.
    assert expert.resolved_directly == 2
    assert expert.time.occupancy == pytest.approx(70 / 7200)
    assert (agent.answered, agent.consults, agent.talk_seconds) == (6, 0, 1100)
    assert agent.resolved_directly == 4


def test_consult_figures_are_exported_and_survive_a_stored_day() -> None:
    report = one_day(a_day(), EXPERT_STATES)
    stored = day_from_json(DAY, RULES, json.loads(json.dumps(day_to_json(report))))
    again = combine(Period.day(DAY), RULES, [stored], report.voice_messages)
    assert again.center == report.center
    assert again.by_queue == report.by_queue
    assert again.by_agent["2001"] == report.by_agent["2001"]
    header, rows = export.call_table(report)
    expert_row = next(r for r in rows if r[:2] == ["queue", EXPERT])
    got = {name: expert_row[header.index(name)] for name in header if name.startswith("consult")}
    assert got == {
        "consults_asked": 6,
        "consults_answered": 3,
        "consults_no_expert": 2,
        "consults_completed": 1,
        "consults_three_way": 1,
        "consults_cancelled": 2,
    }
    header, rows = export.agent_table(report)
    assert next(r for r in rows if r[0] == "2001")[header.index("consults")] == 3


def _row(**kw: object) -> SimpleNamespace:
    return SimpleNamespace(**kw)


def test_the_store_events_pair_into_consults_and_tell_each_expert_leg_its_end() -> None:
    """1001 asks twice in one call: 2001 answers and it is cancelled, then 2001 answers the
    second and it is completed; a third consult is still open (a restart)."""
    call = _row(
        channel_id="c1",
        started_at=at("10:00:00"),
        ended_at=at("10:10:00"),
        disposition="answered",
        adoptions=0,
        ivr_path=None,
    )

    def event(kind: str, clock: str, **data: str | None) -> SimpleNamespace:
        fields = {"queue": None, "agent": None, "expert": None, "outcome": None} | data
        return _row(channel_id="c1", kind=kind, at=at(clock), **fields)

    events = [
        event("queued", "10:00:05", queue=SI),
        event("agent", "10:00:10", agent="1001"),
        event("consult_asked", "10:01:00", queue=EXPERT, agent="1001"),
        event(
            "consult_ended",
            "10:01:40",
            queue=EXPERT,
            agent="1001",
            expert="2001",
            outcome="cancelled",
        ),
        event("consult_asked", "10:02:00", queue=EXPERT, agent="1001"),
        event(
            "consult_ended",
            "10:02:50",
            queue=EXPERT,
            agent="1001",
            expert="2001",
            outcome="complete",
        ),
        event("agent", "10:02:50", agent="2001"),
        event("consult_asked", "10:05:00", queue=EXPERT, agent="2001"),
    ]

    def segment(agent: str, offered: str, answered: str, ended: str | None, **kw: object) -> object:
        fields = {"outcome": None, "topic": None, "consult_outcome": None, "consulted_by": None}
        return _row(
            channel_id="c1",
            queue=kw.pop("queue", SI),
            agent=agent,
            offered_at=at(offered),
            answered_at=at(answered),
            ended_at=at(ended) if ended else None,
            **(fields | kw),
        )

    segments = [
        segment("1001", "10:00:06", "10:00:10", "10:02:50", consult_outcome="complete"),
        segment("2001", "10:01:00", "10:01:05", "10:01:40", queue=EXPERT, consulted_by="1001"),
        segment("2001", "10:02:00", "10:02:05", None, queue=EXPERT, consulted_by="1001"),
    ]
    records = _assemble([call], events, segments, [], [], [], [], [])
    (got,) = records.calls
    assert got.consults == (
        ConsultRecord(EXPERT, "1001", at("10:01:00"), "2001", "cancelled"),
        ConsultRecord(EXPERT, "1001", at("10:02:00"), "2001", "complete"),
        ConsultRecord(EXPERT, "2001", at("10:05:00")),
    )
    assert [(s.consulted_by, s.served, s.worked) for s in got.segments] == [
        (None, None, True),
        ("1001", "cancelled", True),
        ("1001", "complete", True),
    ]
    assert [s.connected for s in got.segments] == [True, False, True]
    assert got.segments[1].expert_took_part is False
    assert dt.timedelta(0) < got.segments[2].answered_at - got.segments[2].offered_at
