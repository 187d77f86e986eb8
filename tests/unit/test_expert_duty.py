"""Expert seats' duty hours (hours.yaml `duty:`, queues.yaml `duty:`): over the menu's own
calendar, checked with file and line, and a `*` + key transfer to an expert queue off duty
leaves the agent with the caller."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from acd.channel_events import ChannelAnswered, KeyPressed
from acd.conversation import Conversation
from acd.conversation_actions import HangUpAgent, Record, RingAgent, Tell, TellAgent
from acd.queues import QueuesConfig, on_duty
from acd.roster import AgentEntry
from acd.router import Offer, Router
from acd.state import AgentStatus
from hotline.config_files import ConfigError
from hotline.instance import load_center
from ivr.hours import BusinessHours, load_hours

REPO = Path(__file__).parents[2]
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
HOURS = load_hours(REPO / "dialplan")


def at(y: int, m: int, d: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("moment", "on"),
    [
        (at(2026, 12, 2, 17, 0), True),  # a Wednesday afternoon: longer than the menu's 17:00
        (at(2026, 12, 2, 17, 30), False),
        (at(2026, 12, 5, 10, 0), True),  # Saturday morning: the reduced duty
        (at(2026, 12, 5, 13, 0), False),
        (at(2026, 12, 6, 10, 0), False),  # Sunday
        (at(2026, 10, 1, 10, 0), False),  # 国庆, a Thursday
        (at(2026, 9, 20, 16, 0), True),  # make-up workday (Sunday, Monday's duty)
    ],
)
def test_expert_duty_follows_the_menus_calendar(moment: dt.datetime, on: bool) -> None:
    assert HOURS.on_duty("experts", moment) is on
    assert HOURS.on_duty("nobody", moment) is False


def test_a_queue_naming_an_unknown_duty_roster_is_refused_with_its_line(tmp_path: Path) -> None:
    config_dir = tmp_path / "dialplan"
    shutil.copytree(REPO / "dialplan", config_dir)
    queues = config_dir / "queues.yaml"
    queues.write_text(queues.read_text().replace("duty: experts", "duty: expert", 1))
    with pytest.raises(ConfigError) as refused:
        load_center(config_dir)
    (problem,) = refused.value.problems
    line = queues.read_text().splitlines().index("    duty: expert") + 1
    assert f"queues.yaml:{line}: queues.expert_social_insurance.duty" in problem, problem
    assert "no duty roster 'expert'" in problem


def test_a_duty_roster_with_an_unknown_weekday_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hours.yaml").write_text(
        "weekly: {mon: [{start: '08:30', end: '17:00'}]}\n"
        "duty: {experts: {monday: [{start: '08:30', end: '17:30'}]}}\n"
    )
    with pytest.raises(ConfigError, match=r"hours.yaml:2: duty: .*unknown weekday 'monday'"):
        load_hours(tmp_path)


def talking_center(now: float) -> tuple[Router, Conversation, str]:
    """Agent 1001 talking with caller c1 in the general queue; expert seats on Saturday
    mornings only."""
    all_day = [{"start": "00:00", "end": "23:59:59"}]
    hours = BusinessHours.model_validate(
        {
            "weekly": {d: all_day for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            "duty": {"experts": {"sat": [{"start": "09:00", "end": "12:00"}]}},
        }
    )
    config = QueuesConfig.model_validate(
        {
            "queues": {"general": {}, "expert": {"strategy": "ring_all", "duty": "experts"}},
            "transfers": {"1": "expert"},
        }
    )
    router = Router(config, [AgentEntry(number="1001", name="1001", skills={})], hours)
    router.login("1001", now)
    call = Conversation(router=router, call_id="c1", queue="general", entered=now)
    (told,) = call.enter(now)
    assert isinstance(told, Tell)
    offer = next(d for d in told.decisions if isinstance(d, Offer))
    ring = call.offer(offer.agent, offer.ring_seconds)[-1]
    assert isinstance(ring, RingAgent)
    call.on_agent("1001", ring.channel, ChannelAnswered(ring.channel), now)
    assert call.phase == "talking"
    return router, call, ring.channel


def test_off_duty_the_agent_is_told_and_keeps_the_caller() -> None:
    now = at(2026, 12, 5, 13, 0).timestamp()
    router, call, channel = talking_center(now)
    assert not on_duty(router.config.queues["expert"], router.hours, now)
    call.on_agent("1001", channel, KeyPressed(channel, "*"), now + 5)
    actions = call.on_agent("1001", channel, KeyPressed(channel, "1"), now + 5)
    assert TellAgent(channel, ("expert-off-duty",)) in actions
    assert not any(isinstance(a, HangUpAgent) for a in actions)
    refused = [a for a in actions if isinstance(a, Record)]
    assert refused == [
        Record("transfer_refused", {"agent": "1001", "queue": "expert", "reason": "off_duty"})
    ]
    assert (call.phase, call.agent, call.queue) == ("talking", "1001", "general")
    agent = router.agents["1001"]
    assert (agent.status, agent.current_call) == (AgentStatus.on_call, "c1")
    assert "c1" not in router.waiting


def test_on_duty_the_transfer_goes_through() -> None:
    now = at(2026, 12, 5, 10, 0).timestamp()
    _, call, channel = talking_center(now)
    call.on_agent("1001", channel, KeyPressed(channel, "*"), now + 5)
    actions = call.on_agent("1001", channel, KeyPressed(channel, "1"), now + 5)
    assert HangUpAgent(channel) in actions
    assert (call.phase, call.queue) == ("waiting", "expert")
