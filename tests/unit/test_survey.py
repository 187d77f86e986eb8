"""The satisfaction keypress and the quarterly flags."""

from __future__ import annotations

import datetime as dt

from acd.survey import SurveyAnswered, SurveySession, Thresholds, aggregate
from ivr.actions import (
    DigitPressed,
    Hangup,
    Play,
    PlaybackFinished,
    StartTimer,
    StopPlayback,
    TimerExpired,
)


def test_answer_then_thanks_then_hang_up() -> None:
    s = SurveySession()
    play = s.start()[0]
    assert isinstance(play, Play) and play.prompts == ("survey",)
    out = s.handle(DigitPressed("2"))
    assert out[1] == SurveyAnswered("fairly_satisfied")
    thanks = out[2]
    assert isinstance(thanks, Play) and thanks.prompts == ("survey-thanks",)
    assert s.handle(PlaybackFinished(thanks.playback_id)) == [Hangup("answered")]


def test_a_key_stops_the_question_before_the_thanks() -> None:
    # Barge-in, as dialplan Read() does: the thanks is not queued behind the whole question.
    s = SurveySession()
    question = s.start()[0]
    assert isinstance(question, Play)
    out = s.handle(DigitPressed("1"))
    assert out[:2] == [StopPlayback(question.playback_id), SurveyAnswered("satisfied")]
    thanks = out[2]
    assert isinstance(thanks, Play) and thanks.prompts == ("survey-thanks",)
    assert s.handle(PlaybackFinished(question.playback_id)) == []  # the stopped question
    assert s.handle(PlaybackFinished(thanks.playback_id)) == [Hangup("answered")]


def test_a_key_after_the_question_stops_nothing() -> None:
    s = SurveySession()
    question = s.start()[0]
    assert isinstance(question, Play)
    assert isinstance(s.handle(PlaybackFinished(question.playback_id))[0], StartTimer)
    out = s.handle(DigitPressed("3"))
    assert out[0] == SurveyAnswered("dissatisfied") and isinstance(out[1], Play)


def test_wrong_key_asks_again_silence_ends_without_answer() -> None:
    s = SurveySession()
    s.start()
    first = s.playback
    again = s.handle(DigitPressed("9"))
    assert again[0] == StopPlayback(first or "")
    assert isinstance(again[1], Play) and again[1].prompts == ("survey",)
    timer = s.handle(PlaybackFinished(s.playback or ""))[0]
    assert isinstance(timer, StartTimer)
    out = s.handle(TimerExpired(timer.token))
    assert not any(isinstance(a, SurveyAnswered) for a in out)
    assert s.answer is None and s.phase == "thanking"


def day(q: int, year: int = 2026) -> dt.date:
    return dt.date(year, 3 * q - 1, 15)


def test_three_low_quarters_in_a_row_flag_the_agent() -> None:
    t = Thresholds(low_rate=0.8, min_answers=2, quarters_in_a_row=3)
    rows = []
    for q in (1, 2, 3):
        rows += [("1001", day(q), "dissatisfied")] * 2 + [("1001", day(q), "satisfied")]
        rows += [("1002", day(q), "satisfied")] * 3
    rows += [("1003", day(1), "dissatisfied")] * 3 + [("1003", day(3), "dissatisfied")] * 3
    rows += [("1003", day(4), "dissatisfied")] * 3  # Q2 fine (no answers): not in a row
    result = aggregate(rows, t)
    assert result.flagged == ["1001"]
    assert round(result.by_agent["1001"]["2026Q2"].satisfaction, 3) == 0.333


def test_streak_crosses_the_year() -> None:
    t = Thresholds(min_answers=1, quarters_in_a_row=3)
    rows = [
        ("1001", day(4, 2025), "dissatisfied"),
        ("1001", day(1), "dissatisfied"),
        ("1001", day(2), "dissatisfied"),
    ]
    assert aggregate(rows, t).flagged == ["1001"]
