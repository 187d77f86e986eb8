"""How a restarted controller tells, from what Asterisk kept, a conversation the dead one put
through but did not keep (hotline/reattaching.py resume_unkept): the agent leg's age and
whether MixMonitor's file is this leg's."""

from __future__ import annotations

import datetime as dt

from hotline.reattaching import _moment, _recording_of

CALL = "1796214428.0"
LEG_CREATED = dt.datetime(2026, 12, 2, 12, 27, 11, 782000, tzinfo=dt.UTC).timestamp()


def test_an_ari_time_is_read_to_the_millisecond_and_garbage_is_none() -> None:
    assert _moment("2026-12-02T12:27:11.782+0000") == LEG_CREATED
    assert _moment("2026-12-02T20:27:11.782+0800") == LEG_CREATED
    assert _moment("") is None
    assert _moment("yesterday") is None


def test_the_file_mixmonitor_started_for_this_agent_on_this_leg_is_reused() -> None:
    path = f"/var/spool/asterisk/monitor/20261202-122712-{CALL}-1001.wav"
    assert _recording_of(path, CALL, "1001", LEG_CREATED)
    # Started in the leg's own second (the stamp has no fraction).
    same_second = f"/x/20261202-122711-{CALL}-1001.wav"
    assert _recording_of(same_second, CALL, "1001", LEG_CREATED)


def test_another_agents_an_earlier_legs_or_no_file_is_not_reused() -> None:
    assert not _recording_of(f"/x/20261202-122712-{CALL}-1002.wav", CALL, "1001", LEG_CREATED)
    # The same agent's file of an earlier leg (before a transfer brought the caller back).
    assert not _recording_of(f"/x/20261202-122500-{CALL}-1001.wav", CALL, "1001", LEG_CREATED)
    assert not _recording_of(f"/x/20261202-122712-{CALL}9-1001.wav", CALL, "1001", LEG_CREATED)
    assert not _recording_of("", CALL, "1001", LEG_CREATED)
    assert not _recording_of(f"/x/garbage-{CALL}-1001.wav", CALL, "1001", LEG_CREATED)
    assert not _recording_of(f"/x/20261202-122712-{CALL}-1001.wav", CALL, "1001", None)
