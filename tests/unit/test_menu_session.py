"""The menu state machine: events in, actions out."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.actions import (
    DigitPressed,
    EnterQueue,
    Hangup,
    Play,
    PlaybackFinished,
    RecordingDone,
    StartTimer,
    StopPlayback,
    TimerExpired,
    Visit,
)
from ivr.menu import Menu, check
from ivr.session import MenuSession

MENU = Menu.model_validate(
    {
        "start": "main",
        "intro": ["welcome"],
        "operator_queue": "general",
        "nodes": {
            "main": {
                "prompt": ["menu-main"],
                "retries": 3,
                "options": {
                    "1": {"goto": "info"},
                    "0": {"queue": "general"},
                    "9": {"goto": "main", "language": "en"},
                },
            },
            "info": {
                "prompt": ["policy"],
                "options": {"*": {"goto": "main"}, "#": {"hangup": True}},
            },
        },
    }
)


def finish(session: MenuSession, actions: list[object]) -> list[object]:
    plays = [a for a in actions if isinstance(a, Play)]
    assert plays, actions
    return session.handle(PlaybackFinished(plays[-1].playback_id))


def test_welcome_then_main_menu_then_wait_for_a_key() -> None:
    s = MenuSession(menu=MENU)
    first = s.start()
    assert first == [Play("pb1", ("welcome",), "zh", True)]
    second = finish(s, first)
    assert second[0] == Visit("main")
    assert second[1] == Play("pb2", ("menu-main",), "zh", True)
    third = finish(s, second)
    assert third == [StartTimer("t3", 6.0)]


def test_key_during_prompt_stops_it_and_moves_on() -> None:
    s = MenuSession(menu=MENU)
    finish(s, s.start())
    actions = s.handle(DigitPressed("1"))
    assert actions[0] == StopPlayback("pb2")
    assert Visit("info") in actions
    assert s.path == ["main", "info"]


def test_silence_retries_then_a_person_in_hours() -> None:
    s = MenuSession(menu=MENU, is_open=True)
    actions = finish(s, s.start())
    for attempt in range(3):
        actions = finish(s, actions)
        timer = actions[0]
        assert isinstance(timer, StartTimer)
        actions = s.handle(TimerExpired(timer.token))
        if attempt < 2:
            assert isinstance(actions[0], Play) and actions[0].prompts[0] == "no-input"
    assert actions == [EnterQueue("general")]


def test_wrong_keys_out_of_hours_end_with_goodbye() -> None:
    s = MenuSession(menu=MENU, is_open=False)
    actions = finish(s, s.start())
    for _ in range(3):
        actions = finish(s, actions)
        actions = s.handle(DigitPressed("7"))
    assert isinstance(actions[0], Play) and actions[0].prompts == ("goodbye",)
    assert finish(s, actions) == [Hangup("self_service")]


def test_language_switch_changes_the_prompts() -> None:
    s = MenuSession(menu=MENU)
    finish(s, s.start())
    actions = s.handle(DigitPressed("9"))
    play = next(a for a in actions if isinstance(a, Play))
    assert play.language == "en" and play.prompts == ("menu-main",)


def test_resume_at_a_node_after_restart() -> None:
    s = MenuSession(menu=MENU)
    assert s.start("info")[0] == Visit("info")


def test_stale_timer_and_stale_playback_are_ignored() -> None:
    s = MenuSession(menu=MENU)
    actions = finish(s, s.start())
    actions = finish(s, actions)
    s.handle(DigitPressed("1"))
    assert s.handle(TimerExpired("t3")) == []
    assert s.handle(PlaybackFinished("pb2")) == []


def test_check_finds_unknown_and_unreachable_nodes_and_missing_prompts() -> None:
    menu = Menu.model_validate(
        {
            "start": "main",
            "nodes": {
                "main": {
                    "prompt": ["x"],
                    "options": {"1": {"goto": "nowhere"}, "A": {"hangup": True}},
                },
                "orphan": {"prompt": ["menu-main"], "next": "main"},
            },
        }
    )
    problems = check(menu, {"menu-main"})
    assert any("unknown node 'nowhere'" in p for p in problems)
    assert any("orphan" in p and "unreachable" in p for p in problems)
    assert any("no prompt 'x'" in p for p in problems)
    assert any("'A' is not a phone key" in p for p in problems)


EVENTS = st.one_of(
    st.sampled_from("0123456789*#").map(DigitPressed),
    st.just("timer"),
    st.just("playback"),
    st.just("stale"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS, max_size=60), st.booleans())
def test_any_sequence_of_keys_and_silence_ends_well(events: list[object], is_open: bool) -> None:
    """Never an exception; silence always ends in a person or a goodbye, never a loop."""
    s = MenuSession(menu=MENU, is_open=is_open)
    s.start()
    for event in events:
        if event == "timer":
            actions = s.handle(TimerExpired(s.timer or "none"))
        elif event == "playback":
            actions = s.handle(PlaybackFinished(s.playback or "none"))
        elif event == "stale":
            actions = s.handle(PlaybackFinished("pb-old"))
        else:
            assert isinstance(event, DigitPressed)
            actions = s.handle(event)
        assert all(not isinstance(a, Play) or a.prompts for a in actions)
    # Now the caller goes silent: the session must end within a bounded number of steps.
    for _ in range(50):
        if s.phase == "done":
            break
        if s.playback is not None:
            s.handle(PlaybackFinished(s.playback))
        elif s.phase == "recording":  # a voice message the silent caller never speaks
            s.handle(RecordingDone(s.recording or "", 0.0))
        elif s.timer is not None:
            s.handle(TimerExpired(s.timer))
        else:
            raise AssertionError(f"stuck in {s.phase}")
    assert s.phase == "done"


def test_out_of_hours_a_person_becomes_a_voice_message() -> None:
    s = MenuSession(menu=MENU, is_open=False)
    finish(s, s.start())
    actions = s.handle(DigitPressed("0"))
    play = next(a for a in actions if isinstance(a, Play))
    assert play.prompts == ("fallback-closed", "voicemail-intro")
    assert not any(isinstance(a, EnterQueue) for a in actions)


def test_check_finds_a_loop_with_no_exit() -> None:
    menu = Menu.model_validate(
        {
            "start": "a",
            "nodes": {
                "a": {"prompt": ["x"], "next": "b"},
                "b": {"prompt": ["x"], "next": "a"},
            },
        }
    )
    problems = check(menu, {"x"})
    assert any("loop with no exit: a -> b -> a" in p for p in problems)


def test_check_finds_a_bad_next_and_a_dead_end_on_any_node() -> None:
    """Not only on the last node, and whether or not services are used."""
    menu = Menu.model_validate(
        {
            "start": "main",
            "nodes": {
                "main": {"prompt": ["x"], "next": "nowhere"},
                "dead_end": {"prompt": ["x"]},
                "last": {"prompt": ["x"], "options": {"1": {"goto": "main"}}},
            },
        }
    )
    for service_prompts in (set(), {"x"}):
        problems = check(menu, {"x"}, service_prompts=service_prompts)
        assert any("main.next" in p and "unknown node 'nowhere'" in p for p in problems)
        assert any("dead_end" in p and "needs options or next" in p for p in problems)


def test_a_refused_caller_hears_lines_busy_in_both_languages_and_is_refused_as_busy() -> None:
    s = MenuSession(menu=MENU, language="en")
    first = s.refuse("lines_busy")
    assert first == [Play("pb1", ("lines-busy",), "en", False)]
    assert s.handle(DigitPressed("0")) == []  # a key changes nothing: the lines are busy
    second = finish(s, first)
    assert second == [Play("pb2", ("lines-busy",), "zh", False)]
    assert finish(s, second) == [Hangup("lines_busy", cause="busy")]
    assert s.handle(DigitPressed("1")) == []
