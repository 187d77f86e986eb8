"""The figures a hotline is judged by (KPI.md), from plain call records: pure and exact.

Rules (stated in every export, and in README):
- A call counts in the period, day and hour it arrived (`calls.started_at`, local time),
  even when it ends after midnight. Agents' time by state counts where it is spent.
- Offered: calls that entered a queue (asked for a person); self-service-only calls apart,
  and refused calls apart too (`lines_busy`: the center was full, the caller heard "all
  lines busy" and was never answered; counted in calls, nothing else).
  Center, day and hour figures count a call once. Queue figures count each stay in a
  queue: the queue it entered from the menu, and the target of each transfer (an overflow
  or escalation keeps the stay in the queue it entered).
- Answered: an agent answered one of its legs and was put through (a caller gone during
  the expert's whisper was not answered). Abandoned: not answered and the caller hung
  up while queued or ringing an agent (disposition `abandoned`); a callback request, a
  callback that failed or expired, and a voice message at max wait are never abandons.
  Short abandons (wait under `short_abandon_seconds`) are included in abandoned and
  reported apart.
- Answer rate: answered / offered; the in-hours variant (Wazo's) counts only calls that
  entered the queue in staffed hours (holidays and 调休 from hours.yaml).
- Service level, variant 1: answered within T / answered; variant 2 (Asterisk's SL2):
  (answered within T + abandoned within T) / (answered + abandoned). T = `service_seconds`.
  Waits run from entering the queue (a transfer: from the transfer) to the first answer.
  Calls answered by calling the citizen back are counted answered, but left out of SL and
  ASA (their wait was not on the line).
- ASA: mean wait of the calls answered on the line. AHT: (talk + wrap-up) / answered, each
  agent's leg with its own talk and the wrap-up that followed it; a call's handle time is
  the sum of its legs. A leg left open by a controller restart ends when the call ended.
- Consults (acd/consult.py): an expert's consult leg is the expert's work, not a call: its
  talk (from picking up) and the wrap-up after it count in the expert's legs answered,
  talk and AHT, and in the handle time of the call and of the stay it happened in (the
  call is still offered and answered once, by the first agent: a consult no expert
  answered is no abandon). Each consult counts once in `consults_asked` and by how it
  ended, for the call (center, day, hour) and for the expert queue asked; answered: an
  expert picked up and did not hang up in the whisper. An agent's `consults`: the consult
  legs they took (in their answered).
- Satisfaction: (满意 + 基本满意) / answers; response rate: answers / answered calls.
- Direct resolution (直办率): answered calls resolved directly / answered. A call is resolved
  directly unless it was handed to an expert (a transfer to another queue: the transfer keys
  lead to the expert seats; a consult the agent completed or made three-way, acd/consult.py;
  or another department's number) or a work order was filed on it (`work_orders.call_id`). A
  queue's stay is resolved directly when answered there, not handed on, and no work order
  was filed on the call: an expert who answers without a work order resolved it directly for
  the expert queue. An agent's leg likewise (answered, not transferred, no expert brought in
  by a consult, no work order); a consult cancelled, or that found no expert, leaves the
  call the agent's; an expert's consult leg is resolved when the consult was completed or made
  three-way. Resolved on the call: answered without a work order (experts included;
  KPI.md's variant, Jinan's 96.33% with expert seats). A voice message (a work order of its
  own type, linked to its message) is left only by a caller no one answered, or after a
  transfer: it never changes either figure.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from acd.agent_activity import (
    STATES_AFTER_LAST_CALL,
    WRAPUP_LIMIT,
    LegKey,
    activity,
    count_logins,
    staffed_by_hour,
    stretches,
    wrapups,
)
from acd.report_figures import AgentFigures, CallFigures, Report, VoiceMessageFigures
from acd.report_records import (
    POSITIVE,
    CallRecord,
    ConsultRecord,
    Period,
    Records,
    ReportRules,
    SegmentRecord,
    SurveyRecord,
    VoiceMessageRecord,
)
from acd.survey import AgentRatings, Thresholds, aggregate


def talk_seconds(seg: SegmentRecord, call: CallRecord) -> float:
    """An answered leg's conversation (an expert's consult leg: from picking up, talking
    with the agent, then maybe the caller); one left open (a restart) ends with the call."""
    ended = seg.ended_at or call.ended_at
    if not seg.worked or seg.answered_at is None or ended is None:
        return 0.0
    return max(0.0, (ended - seg.answered_at).total_seconds())


def _add_stay(
    fig: CallFigures,
    call: CallRecord,
    entered: dt.datetime,
    until: dt.datetime | None,
    rules: ReportRules,
    wraps: dict[LegKey, float],
) -> None:
    """Tally one stay in a queue from `entered` until the next transfer (`until`; None: the
    rest of the call), or the whole call when entered is its first entry and until is None."""
    legs = [
        s
        for s in call.segments
        if s.offered_at >= entered and (until is None or s.offered_at < until)
    ]
    answered = [s for s in legs if s.answered]
    in_hours = rules.in_hours(entered)
    fig.offered += 1
    fig.offered_in_hours += in_hours
    booked = call.callback
    if booked is not None and not (
        entered <= booked.requested_at and (until is None or booked.requested_at < until)
    ):
        booked = None
    t = rules.service_seconds
    if answered:
        first = min(s.answered_at for s in answered if s.answered_at is not None)
        fig.answered += 1
        fig.answered_in_hours += in_hours
        if booked is not None and booked.status == "done" and booked.attempts > 0:
            fig.answered_by_callback += 1
        else:
            wait = (first - entered).total_seconds()
            fig.answered_on_line += 1
            fig.wait_seconds += wait
            fig.answered_within_t += wait <= t
    elif until is None and call.disposition == "abandoned":
        wait = ((call.ended_at or entered) - entered).total_seconds()
        fig.abandoned += 1
        fig.short_abandoned += wait < rules.short_abandon_seconds
        fig.abandoned_within_t += wait <= t
    if answered:
        # Handed on: a transfer after this entry (for a whole call: after its first).
        # (or to another department: the agent's leg ends `transferred`, no queue entry).
        handed = any(e.transfer and e.at > entered for e in call.entries) or any(
            s.expert_brought_in or s.outcome == "transferred" for s in answered
        )
        ordered = call.work_order is not None
        fig.work_orders += ordered
        fig.resolved_on_call += not ordered
        fig.resolved_directly += not (ordered or handed)
    for seg in (s for s in legs if s.worked):  # the call's handle time: experts' consults too
        fig.handled += 1
        fig.talk_seconds += talk_seconds(seg, call)
        fig.wrapup_seconds += wraps.get((call.call_id, seg.agent, seg.offered_at), 0.0)
    fig.transfers += sum(s.outcome == "transferred" for s in legs)
    if booked is not None:
        fig.callbacks_booked += 1
        fig.callbacks_reached += booked.status == "done"
        fig.callbacks_failed += booked.status == "failed"
        fig.callbacks_expired += booked.status == "expired"
        fig.callbacks_pending += booked.status == "pending"
    last = max(answered, key=lambda s: s.answered_at or entered, default=None)
    if call.survey is not None and last is not None and _rated_here(call, last):
        fig.survey_answers += 1
        fig.survey_positive += call.survey.score in POSITIVE


def _add_consults(fig: CallFigures, consults: Iterable[ConsultRecord]) -> None:
    """Consults asked and how they ended (never a call offered or answered of their own)."""
    for c in consults:
        fig.consults_asked += 1
        fig.consults_answered += c.answered
        fig.consults_no_expert += c.outcome == "no_expert"
        fig.consults_completed += c.outcome == "complete"
        fig.consults_three_way += c.outcome == "three_way"
        fig.consults_cancelled += c.outcome == "cancelled"


def _rated_here(call: CallRecord, leg: SegmentRecord) -> bool:
    """The survey rates the agent of the call's last answered leg: is that this one?"""
    answered = [s for s in call.segments if s.answered]
    return leg == max(answered, key=lambda s: s.answered_at or s.offered_at)


def _add_call(
    fig: CallFigures, call: CallRecord, rules: ReportRules, wraps: dict[LegKey, float]
) -> None:
    """A call once: its first entry to its end."""
    fig.calls += 1
    if call.disposition == "lines_busy":
        # Refused on arrival: neither self-service nor offered, and never an abandon.
        fig.refused += 1
        return
    if call.disposition == "callback_duplicate":
        fig.callback_duplicates += 1
    if not call.entries:
        fig.self_service += 1
        return
    _add_stay(fig, call, call.entries[0].at, None, rules, wraps)
    _add_consults(fig, call.consults)


def _add_agent_legs(
    agents: dict[str, AgentFigures], call: CallRecord, wraps: dict[LegKey, float]
) -> None:
    for seg in call.segments:
        mine = agents[seg.agent]
        mine.offered += 1
        mine.no_answer += seg.outcome == "no_answer"
        mine.transfers += seg.outcome == "transferred"
        if seg.worked:
            mine.answered += 1
            mine.consults += seg.consult_leg
            mine.talk_seconds += talk_seconds(seg, call)
            mine.wrapup_seconds += wraps.get((call.call_id, seg.agent, seg.offered_at), 0.0)
            # An expert's consult leg resolved the question if the expert took part with
            # the caller; a consult cancelled left it the asking agent's.
            mine.resolved_directly += (
                (seg.expert_took_part if seg.consult_leg else not seg.expert_brought_in)
                and seg.outcome != "transferred"
                and call.work_order is None
            )
    survey = call.survey
    if survey is not None:
        agents[survey.agent].survey_answers += 1
        agents[survey.agent].survey_positive += survey.score in POSITIVE


def voice_message_figures(
    rows: Iterable[VoiceMessageRecord], period: Period, rules: ReportRules, today: dt.date
) -> VoiceMessageFigures:
    """The voice messages left in the period, open and overdue as of `today`."""
    out = VoiceMessageFigures()
    for vm in rows:
        if not period.start <= rules.local(vm.created_at).date() < period.end:
            continue
        out.received += 1
        out.from_expired_callbacks += vm.origin == "callback_expired"
        if vm.status == "open":
            out.open += 1
            out.overdue += vm.due_on < today
        else:
            out.closed += 1
            out.met += vm.closed_on is not None and vm.closed_on <= vm.due_on
    return out


def build_report(records: Records, period: Period, rules: ReportRules, now: dt.datetime) -> Report:
    """Every figure of the period from its records (`now`: a period still going on counts
    agents' time and overdue voice messages up to now)."""
    start, end = period.bounds(rules.zone)
    calls = [c for c in records.calls if start <= c.started_at < end]
    all_stretches = stretches(records.states, min(end, max(now, start)))
    # A wrap-up counts whole in its call's AHT, also past the period's end (a call at 23:59
    # is wrapped up after midnight): states are read this far past the last call (as the
    # store reads them), and one never ended is capped, so that every period holding the
    # call gives it the same length (a week is the sum of its days).
    last_end = max((c.ended_at for c in calls if c.ended_at is not None), default=end)
    horizon = max(end, last_end + STATES_AFTER_LAST_CALL)
    wrap_stretches = stretches(records.states, min(horizon, max(now, start)))
    wraps = wrapups(calls, wrap_stretches, rules.wrapup_match_seconds, WRAPUP_LIMIT)
    center = CallFigures()
    by_day: dict[dt.date, CallFigures] = {day: CallFigures() for day in period.days()}
    by_hour: dict[int, CallFigures] = {hour: CallFigures() for hour in range(24)}
    by_queue: dict[str, CallFigures] = defaultdict(CallFigures)
    agents: dict[str, AgentFigures] = defaultdict(AgentFigures)
    abandoned_by_hour: dict[str, dict[int, int]] = defaultdict(lambda: dict.fromkeys(range(24), 0))
    topics: Counter[str] = Counter()
    wrap_up: Counter[str] = Counter()
    for call in calls:
        topics.update(set(call.path))
        wrap_up.update({s.topic for s in call.segments if s.answered and s.topic})
        arrived = rules.local(call.started_at)
        for fig in (center, by_day[arrived.date()], by_hour[arrived.hour]):
            _add_call(fig, call, rules, wraps)
        for n, entry in enumerate(call.entries):
            until = call.entries[n + 1].at if n + 1 < len(call.entries) else None
            _add_stay(by_queue[entry.queue], call, entry.at, until, rules, wraps)
        for consult in call.consults:
            _add_consults(by_queue[consult.queue], (consult,))
        _add_agent_legs(agents, call, wraps)
        if (
            call.entries
            and call.disposition == "abandoned"
            and not any(s.answered for s in call.segments)
        ):
            abandoned_by_hour[rules.weekday_as(arrived.date())][arrived.hour] += 1
    for agent, seconds in activity(all_stretches, start, end).items():
        agents[agent].time = seconds
    for agent, n in count_logins(records.states, start, end).items():
        if n or agent in agents:
            agents[agent].logins = n
    today = rules.local(now).date()
    return Report(
        period=period,
        rules=rules,
        center=center,
        by_day=by_day,
        by_hour=by_hour,
        by_queue=dict(sorted(by_queue.items())),
        by_agent=dict(sorted(agents.items())),
        abandoned_by_hour=dict(abandoned_by_hour),
        day_kinds={day: rules.day_kind(day) for day in period.days()},
        voice_messages=voice_message_figures(records.voice_messages, period, rules, today),
        staffed_by_hour=staffed_by_hour(all_stretches, start, end, rules.zone),
        logged_in_by_hour=staffed_by_hour(all_stretches, start, end, rules.zone, paused_too=True),
        topics=hot_topics(topics),
        wrap_up_topics=hot_topics(wrap_up),
    )


def hot_topics(counts: Mapping[str, int]) -> dict[str, int]:
    """Menu nodes (or wrap-up topic codes) by their calls, most first (ties by name)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def work_order_topics(rows: Iterable[tuple[str, str, int]]) -> dict[str, dict[str, int]]:
    """(type, line, orders) rows → orders by type and by line, most first."""
    kinds: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    for kind, line, n in rows:
        kinds[kind] += n
        lines[line] += n
    return {"type": hot_topics(kinds), "line": hot_topics(lines)}


def quarterly_satisfaction(
    surveys: Iterable[SurveyRecord], rules: ReportRules, thresholds: Thresholds | None = None
) -> AgentRatings:
    """Satisfaction per agent per quarter (local dates) and the agents rated low
    `thresholds.quarters_in_a_row` quarters in a row (acd/survey.py)."""
    return aggregate(
        ((s.agent, rules.local(s.at).date(), s.score) for s in surveys),
        thresholds or Thresholds(),
    )
