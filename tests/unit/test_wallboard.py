"""The wallboard's pure part: today's tally from call facts, the picture of queues and
agents, the changes sent after it, and a slow client's feed that coalesces them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from acd.state import AgentStatus, Waiting
from acd.wallboard import (
    AgentView,
    CallView,
    DayTally,
    StateClock,
    apply,
    desk_picture,
    diff,
    mask_number,
    picture,
)
from hotline.console import Feed

DAY = dt.date(2026, 12, 1)
T0 = 1_800_000_000.0


def waiting(call_id: str, queue: str, since: float, callback: bool = False) -> Waiting:
    call = Waiting(call_id, queue, 0, since, since, 0, waiting_since=since)
    call.callback = callback
    return call


def test_a_day_of_calls_gives_offered_answered_abandoned_and_service_level() -> None:
    """
    1. c1 waits 10 s and is answered; c2 waits 40 s and is answered; c3 hangs up waiting.
    2. c4 is moved by an escalation (a second `queued`, the same stay) and answered in 5 s.
    3. c5 left for a callback and was answered later: answered, but not in SL nor ASA.
    4. c6 hangs up while the agent who picked up hears the whisper: abandoned, as in reports.
    The wait is counted to the pick-up, though the caller is put through after the whisper.
    """
    tally = DayTally(service_seconds=20)
    facts: list[tuple[str, str, dict[str, Any], float]] = [
        ("c1", "queued", {"queue": "pension"}, T0),
        ("c1", "segment_answered", {"agent": "8001"}, T0 + 10),
        ("c1", "agent", {"agent": "8001"}, T0 + 10 + 4),
        ("c2", "queued", {"queue": "pension"}, T0),
        ("c2", "segment_answered", {"agent": "8002"}, T0 + 40),
        ("c2", "agent", {"agent": "8002"}, T0 + 40 + 4),
        ("c3", "queued", {"queue": "pension"}, T0),
        ("c3", "ended", {"disposition": "abandoned"}, T0 + 7),
        ("c4", "queued", {"queue": "medical"}, T0),
        ("c4", "queued", {"queue": "pension"}, T0 + 2),
        ("c4", "segment_answered", {"agent": "8001"}, T0 + 5),
        ("c4", "agent", {"agent": "8001"}, T0 + 5 + 4),
        ("c5", "queued", {"queue": "medical"}, T0),
        ("c5", "caller_left_for_callback", {}, T0 + 30),
        ("c5", "segment_answered", {"agent": "8003"}, T0 + 900),
        ("c5", "agent", {"agent": "8003"}, T0 + 900 + 4),
        ("c1", "ended", {"disposition": "answered"}, T0 + 100),
        # c6: the agent picked up; the caller hung up during the whisper, never put through.
        ("c6", "queued", {"queue": "pension"}, T0),
        ("c6", "segment_answered", {"agent": "8002"}, T0 + 6),
        ("c6", "ended", {"disposition": "abandoned"}, T0 + 8),
    ]
    for call, kind, data, at in facts:
        tally.observe(call, kind, data, at, DAY)
    pension, medical = tally.queues["pension"], tally.queues["medical"]
    assert (pension.offered, pension.answered, pension.abandoned) == (4, 2, 2)
    assert pension.figures()["service_level"] == 0.5
    assert pension.figures()["asa"] == 25.0
    assert (medical.offered, medical.answered, medical.abandoned) == (2, 2, 0)
    assert medical.figures()["service_level"] == 1.0  # c4 only: c5 was a callback
    assert medical.figures()["asa"] == 5.0


def test_a_transfer_starts_a_stay_in_the_target_queue() -> None:
    tally = DayTally()
    tally.observe("c1", "queued", {"queue": "general"}, T0, DAY)
    tally.observe("c1", "segment_answered", {}, T0 + 3, DAY)
    tally.observe("c1", "agent", {}, T0 + 3, DAY)
    tally.observe("c1", "transferred_to_queue", {"queue": "expert"}, T0 + 60, DAY)
    tally.observe("c1", "queued", {"queue": "expert"}, T0 + 60, DAY)
    tally.observe("c1", "ended", {"disposition": "abandoned"}, T0 + 80, DAY)
    general, expert = tally.queues["general"], tally.queues["expert"]
    assert (general.offered, general.answered, general.abandoned) == (1, 1, 0)
    assert (expert.offered, expert.answered, expert.abandoned) == (1, 0, 1)


def test_a_new_day_starts_from_zero_and_leaves_yesterdays_calls_out() -> None:
    tally = DayTally()
    tally.observe("c1", "queued", {"queue": "pension"}, T0, DAY)
    tally.roll(DAY + dt.timedelta(days=1))
    assert tally.queues == {}
    tally.observe("c1", "ended", {"disposition": "abandoned"}, T0 + 9, DAY + dt.timedelta(days=1))
    assert tally.queues == {}


def test_the_picture_counts_waiting_callers_and_agents_by_state() -> None:
    tally, clock = DayTally(day=DAY), StateClock()
    calls = [
        waiting("c1", "pension", T0 - 30),
        waiting("c2", "pension", T0 - 5),
        waiting("c3", "pension", T0 - 90, callback=True),
    ]
    agents = [
        AgentView("8001", AgentStatus.ready),
        AgentView("8002", AgentStatus.paused, "lunch"),
        AgentView("8003", AgentStatus.on_call, current_call="c9"),
        AgentView("8004", AgentStatus.wrap_up),
        AgentView("8005", AgentStatus.logged_out),
    ]
    board = picture(["medical", "pension"], calls, agents, tally, clock, T0)
    assert board["queues"]["pension"] == {
        "waiting": 2,
        "callbacks": 1,
        "longest_since": T0 - 30,  # the callback's wait is not on the line
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
    }
    assert board["queues"]["medical"]["waiting"] == 0
    assert "longest_since" not in board["queues"]["medical"]
    assert board["states"] == {
        "ready": 1,
        "ringing": 0,
        "talking": 1,
        "after_call": 1,
        "paused": 1,
    }
    assert board["agents"]["8002"] == {"state": "paused", "since": T0, "reason": "lunch"}
    assert "8005" not in board["agents"]
    assert board["today"]["waiting"] == 2 and board["day"] == "2026-12-01"


def test_time_in_state_runs_from_the_change_the_board_saw() -> None:
    tally, clock = DayTally(day=DAY), StateClock()
    ready = [AgentView("8001", AgentStatus.ready)]
    picture([], [], ready, tally, clock, T0)
    later = picture([], [], ready, tally, clock, T0 + 50)
    assert later["agents"]["8001"]["since"] == T0  # the same state: no change to send
    talking = picture([], [], [AgentView("8001", AgentStatus.on_call)], tally, clock, T0 + 60)
    assert talking["agents"]["8001"]["since"] == T0 + 60


def test_a_caller_arriving_changes_only_that_queues_figures() -> None:
    tally, clock = DayTally(day=DAY), StateClock()
    agents = [AgentView("8001", AgentStatus.ready)]
    before = picture(["pension", "medical"], [], agents, tally, clock, T0)
    tally.observe("c1", "queued", {"queue": "pension"}, T0 + 1, DAY)
    after = picture(
        ["pension", "medical"], [waiting("c1", "pension", T0 + 1)], agents, tally, clock, T0 + 1
    )
    patch = diff(before, after)
    assert patch == {
        "queues": {
            "pension": {"waiting": 1, "offered": 1, "answer_rate": 0.0, "longest_since": T0 + 1}
        },
        "today": {"waiting": 1, "offered": 1, "answer_rate": 0.0},
    }
    assert apply(before, patch) == after
    assert diff(after, picture(["pension", "medical"], [], agents, tally, clock, T0 + 2)) == {
        "queues": {"pension": {"waiting": 0, "longest_since": None}},
        "today": {"waiting": 0},
    }


scalars = st.one_of(st.integers(), st.text(max_size=3), st.booleans())
documents = st.recursive(
    st.dictionaries(st.text(max_size=2), scalars, max_size=4),
    lambda inner: st.dictionaries(st.text(max_size=2), st.one_of(scalars, inner), max_size=4),
    max_leaves=20,
)


@given(documents, documents)
def test_a_change_applied_to_the_old_picture_gives_the_new(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    assert apply(old, diff(old, new)) == new
    assert diff(new, new) == {}


def test_a_slow_client_gets_one_change_for_many_pictures() -> None:
    """A client that was not sent anything while 1000 pictures were taken holds one of
    them and is sent one change: from what it had to the latest."""
    feed = Feed()
    first = {"queues": {"pension": {"waiting": 0}}}
    assert feed.message(first, T0) == {"type": "snapshot", "now": T0, "board": first}
    latest = first
    for n in range(1, 1001):
        latest = {"queues": {"pension": {"waiting": n}}}
        feed.ready.set()  # what Wallboard.refresh does: a flag, not a queue
    assert feed.ready.is_set()
    message = feed.message(latest, T0 + 1)
    assert message == {
        "type": "change",
        "now": T0 + 1,
        "patch": {"queues": {"pension": {"waiting": 1000}}},
    }
    assert feed.message(latest, T0 + 2) is None


def test_numbers_on_the_desk_are_masked() -> None:
    assert mask_number("13812345678") == "138****5678"
    assert mask_number("02166668888") == "021****8888"
    assert mask_number("11010519491231002X") == "110105********002X"
    assert mask_number("66668") == "***68"
    assert mask_number("1001") == "****"
    assert mask_number("") == ""


def test_the_desk_shows_the_agents_state_and_call_with_the_number_masked() -> None:
    reasons = ["break", "meal"]
    talking = AgentView("1001", AgentStatus.on_call, current_call="c1")
    call = CallView("general", "13812345678", T0 + 5)
    assert desk_picture("1001", talking, T0, call, reasons) == {
        "agent": "1001",
        "state": "talking",
        "since": T0,
        "pause_reasons": reasons,
        "call": {"queue": "general", "caller": "138****5678", "since": T0 + 5},
    }
    paused = AgentView("1001", AgentStatus.paused, "meal")
    assert desk_picture("1001", paused, T0, None, reasons)["reason"] == "meal"
    away = desk_picture("1001", AgentView("1001", AgentStatus.logged_out), T0, None, reasons)
    assert away == {"agent": "1001", "state": "logged_out", "pause_reasons": reasons}
    # The expert queues the desk page offers to consult (transfers of queues.yaml).
    experts = desk_picture("1001", talking, T0, call, reasons, ["expert_social_insurance"])
    assert experts["expert_queues"] == ["expert_social_insurance"]


def test_todays_abandoned_callers_and_failed_callbacks_are_listed_to_call_back() -> None:
    """
    1. c1 hangs up waiting: listed, its number masked on the board. c2 is answered: not.
    2. c3 booked a callback on another number, which failed: listed with that number.
    3. c4 abandoned in the menu, never queued: not listed. A new day starts an empty list.
    """
    tally = DayTally()
    facts: list[tuple[str, str, dict[str, Any], float]] = [
        ("c1", "call_started", {"caller": "13812345678"}, T0),
        ("c1", "queued", {"queue": "pension"}, T0 + 5),
        ("c1", "ended", {"disposition": "abandoned"}, T0 + 40),
        ("c2", "call_started", {"caller": "13900001111"}, T0),
        ("c2", "queued", {"queue": "pension"}, T0 + 5),
        ("c2", "agent", {"agent": "8001"}, T0 + 9),
        ("c2", "ended", {"disposition": "answered"}, T0 + 99),
        ("c3", "call_started", {"caller": "13700002222"}, T0),
        ("c3", "queued", {"queue": "medical"}, T0 + 5),
        ("c3", "callback_requested", {"number": "02166668888", "queue": "medical"}, T0 + 20),
        ("c3", "caller_left_for_callback", {}, T0 + 25),
        ("c3", "callback_finished", {"status": "failed"}, T0 + 900),
        ("c3", "ended", {"disposition": "callback_failed"}, T0 + 900),
        ("c4", "call_started", {"caller": "13600003333"}, T0),
        ("c4", "ended", {"disposition": "abandoned_in_menu"}, T0 + 10),
    ]
    for call_id, kind, data, at in facts:
        tally.observe(call_id, kind, data, at, DAY)
    board = picture([], [], [], tally, StateClock(), T0 + 901)
    assert board["to_call_back"] == [
        {
            "id": "c3",
            "number": "021****8888",
            "queue": "medical",
            "at": T0 + 900,
            "why": "callback_failed",
        },
        {
            "id": "c1",
            "number": "138****5678",
            "queue": "pension",
            "at": T0 + 40,
            "why": "abandoned",
        },
    ]
    assert board["to_call_back_count"] == 2
    assert tally.to_call_back["c1"].number == "13812345678"  # for the audited reveal
    tally.roll(DAY + dt.timedelta(days=1))
    assert picture([], [], [], tally, StateClock(), T0)["to_call_back"] == []
