"""The follow-up call (回访) of an answered work order, on Asterisk: the citizen alone hears
why we call and the survey's satisfaction question (acd/survey.py); the answer is stored
with the order (hotline/order_calls_store.py). When it is due: hotline/follow_up_watch.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from acd.channel_events import ChannelAnswered, ChannelHangup, KeyPressed, PlaybackDone
from acd.order_calls import FollowUpAttempt, FollowUpPolicy, SavedFollowUp, after_attempt
from acd.survey import SurveyAnswered, SurveySession
from hotline import order_calls_store
from hotline.desk import hangup_quietly, quietly
from hotline.order_call_legs import CENTER_ID, OrderLeg, log
from ivr.actions import (
    DigitPressed,
    Hangup,
    Play,
    PlaybackFinished,
    StartTimer,
    StopPlayback,
    TimerExpired,
)


@dataclass
class FollowUpLeg(OrderLeg):
    """The follow-up call: the citizen alone hears the satisfaction question."""

    attempt: int = 1
    policy: FollowUpPolicy = field(default_factory=FollowUpPolicy)
    result: FollowUpAttempt = field(default_factory=FollowUpAttempt)
    survey: SurveySession | None = None
    ended: bool = False
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)

    def saved(self) -> SavedFollowUp:
        """The follow-up as its channel keeps it."""
        return SavedFollowUp(self.order, self.attempt)

    async def resume(self) -> None:
        """After a controller restart (hotline/order_call_adoption.py): the survey's place
        is not kept, so the call is hung up and the attempt given back: the follow-up
        watch places it again once `retry_after_minutes` have passed since it began."""
        self.ended = True
        await hangup_quietly(self.desk.ari, self.channel("citizen"))
        self.fact(
            "work_order_follow_up_ended",
            order=self.order,
            attempt=self.attempt,
            result="interrupted",
            verdict="retry",
            satisfaction=None,
        )
        log.info("order_follow_up_interrupted", order=self.order, attempt=self.attempt)
        engine = self.calls.controller.engine
        if engine is None:
            return
        try:
            await order_calls_store.follow_up_interrupted(
                engine, self.order, attempt=self.attempt, at=dt.datetime.now(dt.UTC)
            )
        except Exception as exc:  # in the journal; the attempt stays counted
            log.warning("order_follow_up_not_stored", order=self.order, error=str(exc)[:200])

    async def start(self) -> None:
        """Ring the citizen's number through the trunk."""
        self.fact("work_order_follow_up", order=self.order, attempt=self.attempt)
        log.info("order_follow_up", call=self.call_id, order=self.order, attempt=self.attempt)
        endpoint = f"PJSIP/{self.number}@trunk"
        if not await self.dial("citizen", endpoint, CENTER_ID, self.policy.ring_seconds):
            await self._finished()

    async def on(self, channel: str, event: Any) -> None:
        """The citizen's channel, and the survey's timers."""
        if self.ended:
            return
        if isinstance(event, ChannelHangup):
            await self._finished()
            return
        if isinstance(event, ChannelAnswered):
            self.result.answered()
            self.fact("work_order_follow_up_answered", order=self.order, attempt=self.attempt)
            self.survey = SurveySession(language="zh")
            # The survey's question, said first time after why we call; a key during the
            # introduction answers it already.
            await self._survey(
                [
                    dataclasses.replace(a, prompts=("follow-up-intro", *a.prompts))
                    if isinstance(a, Play)
                    else a
                    for a in self.survey.start()
                ]
            )
            return
        if self.survey is None:
            return
        if isinstance(event, PlaybackDone):
            local = event.playback_id.rsplit(".", 1)[-1]
            await self._survey(self.survey.handle(PlaybackFinished(local)))
        elif isinstance(event, KeyPressed):
            await self._survey(self.survey.handle(DigitPressed(event.digit)))
        elif isinstance(event, TimerExpired):
            self.timers.pop(event.token, None)
            await self._survey(self.survey.handle(event))

    async def _play(self, local: str, prompts: tuple[str, ...]) -> None:
        channel = self.channel("citizen")
        await quietly(self.desk.ari.play(channel, self.media(prompts), f"{channel}.{local}", "zh"))

    async def _survey(self, actions: list[Any]) -> None:
        ari = self.desk.ari
        for action in actions:
            match action:
                case SurveyAnswered(score=score):
                    self.result.rated(score)
                    self.fact("work_order_rating", order=self.order, score=score)
                case Play(playback_id=pid, prompts=prompts):
                    await self._play(pid, prompts)
                case StopPlayback(playback_id=pid):
                    await quietly(ari.stop_playback(f"{self.channel('citizen')}.{pid}"))
                case StartTimer(token=token, seconds=seconds):
                    loop = asyncio.get_running_loop()
                    post = self.calls.controller.mailboxes.post
                    item = ("order", self.call_id, TimerExpired(token))
                    self.timers[token] = loop.call_later(seconds, post, self.call_id, item)
                case Hangup():
                    await hangup_quietly(ari, self.channel("citizen"))

    async def _finished(self) -> None:
        self.ended = True
        for timer in self.timers.values():
            timer.cancel()
        verdict = after_attempt(self.result.result, self.attempt, self.policy)
        self.fact(
            "work_order_follow_up_ended",
            order=self.order,
            attempt=self.attempt,
            result=self.result.result,
            verdict=verdict,
            satisfaction=self.result.satisfaction,
        )
        log.info("order_follow_up_ended", order=self.order, result=self.result.result)
        engine = self.calls.controller.engine
        if engine is None:
            return
        try:
            await order_calls_store.follow_up_ended(
                engine,
                self.order,
                verdict=verdict,
                result=self.result.result,
                satisfaction=self.result.satisfaction,
                attempt=self.attempt,
                at=dt.datetime.now(dt.UTC),
            )
        except Exception as exc:  # in the journal; the next scan may ask again
            log.warning("order_follow_up_not_stored", order=self.order, error=str(exc)[:200])
