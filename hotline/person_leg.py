"""One caller's time with the ACD: waiting, ringing agents, talking, the survey."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from acd.router import (
    Announce,
    CancelOffer,
    Decision,
    Moved,
    Offer,
    Overflow,
)
from acd.survey import SurveyAnswered, SurveySession
from hotline.desk import (
    AGENT_VAR,
    BUSY_CAUSES,
    ENTERED_VAR,
    NO_ANSWER_CAUSES,
    QUEUE_VAR,
    Desk,
    hangup_quietly,
    quietly,
)
from hotline.store.journal import Fact
from hotline.telephony.ari import AriError
from ivr.actions import Hangup, Play, PlaybackFinished, StartTimer
from ivr.speech import digits, integer

if TYPE_CHECKING:
    from hotline.callflow import CallFlow


log = structlog.get_logger("desk")


@dataclass
class PersonLeg:
    """One caller's time with the ACD: waiting, ringing agents, talking, the survey."""

    flow: CallFlow
    desk: Desk
    queue: str
    entered: float
    phase: str = "waiting"  # waiting | talking | survey | done
    agent: str | None = None
    agent_channel: str | None = None
    bridge_id: str | None = None
    answered_at: float = 0.0
    recording: str | None = None
    survey: SurveySession | None = None
    announcement: str | None = None
    offers: dict[str, str] = field(default_factory=dict)  # agent -> agent channel id
    _n: int = 0

    @property
    def call_id(self) -> str:
        """The caller's channel id."""
        return self.flow.channel_id

    async def start(self, priority: int, resumed: bool = False) -> None:
        """Enter the queue: hold music, then the router decides."""
        ari = self.desk.ari
        self.flow.fact("queued", queue=self.queue)
        await ari.set_variable(self.call_id, QUEUE_VAR, self.queue)
        await ari.set_variable(self.call_id, ENTERED_VAR, f"{self.entered:.3f}")
        await ari.start_moh(self.call_id)
        if not resumed:
            priority += await self.desk.repeat_bonus(self.flow.caller_number, self.call_id)
        decisions = self.desk.router.enqueue(
            self.call_id, self.queue, priority, time.time(), entered=self.entered
        )
        self.flow.log.info("queued", queue=self.queue, priority=priority, resumed=resumed)
        self.desk.apply(decisions)

    async def resume_talking(self, saved: str) -> bool:
        """After a controller restart: re-attach a conversation that Asterisk kept up."""
        agent, channel_id, recording, answered = [*saved.split("|"), "", "", "", ""][:4]
        ari = self.desk.ari
        try:
            bridge = await ari.request("GET", f"/bridges/b-{self.call_id}")
        except AriError as exc:
            if exc.gone:
                return False
            raise
        if channel_id not in bridge.get("channels", []) or agent not in self.desk.router.agents:
            return False
        self.phase = "talking"
        self.agent, self.agent_channel, self.bridge_id = agent, channel_id, bridge["id"]
        self.recording = recording or None
        self.answered_at = float(answered or time.time())
        self.desk.agent_channels[channel_id] = (self.call_id, agent)
        self.desk.apply(self.desk.router.resume_talk(agent, self.call_id, time.time()))
        self.flow.log.info("conversation_resumed", agent=agent, queue=self.queue)
        return True

    async def on_decision(self, decision: Decision) -> None:
        """Carry out a router decision about this call."""
        ari = self.desk.ari
        match decision:
            case Offer(agent=agent, ring_seconds=ring):
                await self._offer(agent, ring)
            case CancelOffer(agent=agent):
                channel = self.offers.pop(agent, None)
                if channel is not None:
                    self.flow.fact("segment_ended", agent=agent, outcome="cancelled")
                    await hangup_quietly(ari, channel)
            case Moved(to_queue=queue):
                self.queue = queue
                self.flow.fact("queued", queue=queue)
                await ari.set_variable(self.call_id, QUEUE_VAR, queue)
            case Announce(position=position, wait_seconds=seconds):
                if self.phase == "waiting" and self.announcement is None:
                    minutes = max(1, round(seconds / 60))
                    self._n += 1
                    self.announcement = f"{self.call_id}.acd{self._n}"
                    prompts = [
                        "queue-position",
                        *integer(position),
                        "queue-position-unit",
                        "queue-wait",
                        *integer(minutes),
                        "minutes",
                    ]
                    await self._play(prompts, self.announcement)
            case Overflow(reason=reason):
                self.phase = "done"
                self.flow.fact("overflow", queue=self.queue, reason=reason)
                self.flow.log.info("overflow", queue=self.queue, reason=reason)
                await quietly(ari.request("DELETE", f"/channels/{self.call_id}/moh"))
                await self.flow.execute(self.flow.session.overflow_to_voicemail())

    async def _play(self, prompts: list[str], playback_id: str) -> None:
        ari = self.desk.ari
        await quietly(ari.request("DELETE", f"/channels/{self.call_id}/moh"))
        lang = self.flow.session.language
        await ari.play(self.call_id, self.flow.media(prompts), playback_id, lang)

    async def _offer(self, agent: str, ring: float) -> None:
        self._n += 1
        channel_id = f"{self.call_id}-{agent}-{self._n}"
        self.offers[agent] = channel_id
        self.desk.agent_channels[channel_id] = (self.call_id, agent)
        self.flow.fact("segment_offered", queue=self.queue, agent=agent)
        try:
            await self.desk.ari.request(
                "POST",
                "/channels",
                {
                    "endpoint": f"PJSIP/{agent}",
                    "app": self.desk.ari.app,
                    "appArgs": f"agent,{self.call_id}",
                    "channelId": channel_id,
                    "timeout": int(ring),
                    "callerId": f"12333 <{self.queue}>",
                },
            )
        except AriError as exc:
            self.flow.log.warning("offer_failed_to_start", agent=agent, error=str(exc)[:120])
            self.offers.pop(agent, None)
            self.desk.agent_channels.pop(channel_id, None)
            self.flow.fact("segment_ended", agent=agent, outcome="unreachable")
            self.desk.apply(
                self.desk.router.offer_failed(self.call_id, agent, "unreachable", time.time())
            )

    async def on_agent_event(self, channel_id: str, agent: str, event: dict[str, Any]) -> None:
        """Events of an agent's channel (routed here by the controller)."""
        kind = event.get("type")
        now = time.time()
        if kind == "StasisStart":
            if self.phase != "waiting" or self.offers.get(agent) != channel_id:
                await hangup_quietly(self.desk.ari, channel_id)  # too late: someone else has it
                return
            await self._connect(agent, channel_id, now)
        elif kind == "ChannelDestroyed" or kind == "StasisEnd":
            if self.agent == agent and self.phase == "talking":
                await self._agent_left(now)
            elif self.offers.get(agent) == channel_id:
                self.offers.pop(agent)
                cause = int(event.get("cause") or 0)
                why = (
                    "busy"
                    if cause in BUSY_CAUSES
                    else "no_answer"
                    if cause in NO_ANSWER_CAUSES
                    else "unreachable"
                )
                self.flow.fact("segment_ended", agent=agent, outcome=why)
                self.flow.log.info("offer_failed", agent=agent, why=why, cause=cause)
                self.desk.apply(self.desk.router.offer_failed(self.call_id, agent, why, now))

    async def _connect(self, agent: str, channel_id: str, now: float) -> None:
        ari = self.desk.ari
        self.desk.apply(self.desk.router.answered(self.call_id, agent, now))
        self.offers.pop(agent, None)
        self.phase = "talking"
        self.agent, self.agent_channel, self.answered_at = agent, channel_id, now
        self.flow.fact("segment_answered", agent=agent)
        self.flow.fact("agent", agent=agent)
        self.flow.log.info("connected", agent=agent, queue=self.queue)
        if self.announcement is not None:
            await quietly(ari.stop_playback(self.announcement))
        await quietly(ari.request("DELETE", f"/channels/{self.call_id}/moh"))
        bridge = await ari.request(
            "POST", "/bridges", {"type": "mixing", "bridgeId": f"b-{self.call_id}"}
        )
        self.bridge_id = bridge["id"]
        await ari.request(
            "POST",
            f"/bridges/{self.bridge_id}/addChannel",
            {"channel": f"{self.call_id},{channel_id}"},
        )
        await self._record(agent)
        # Kept on the caller's channel, so a restarted controller re-attaches this conversation.
        await ari.set_variable(
            self.call_id, AGENT_VAR, f"{agent}|{channel_id}|{self.recording or ''}|{now:.3f}"
        )
        if self.desk.greet_with_agent_number:
            media = ",".join(self.flow.media(("agent-intro", *digits(agent), "agent-serving")))
            await quietly(ari.request("POST", f"/bridges/{self.bridge_id}/play", {"media": media}))

    async def _record(self, agent: str) -> None:
        """MixMonitor on the caller's channel: an audiohook, as cheap as app_queue's."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        path = self.desk.recordings_dir / f"{stamp}-{self.call_id}-{agent}.wav"
        name = self.flow.channel_name
        try:
            await self.desk.ami.action(
                {"Action": "MixMonitor", "Channel": name, "File": str(path), "Options": "b"}
            )
            self.recording = str(path)
        except Exception as exc:
            self.flow.log.error("recording_failed", error=str(exc)[:200])

    async def _agent_left(self, now: float) -> None:
        """The agent hung up first: the caller stays for the satisfaction question."""
        assert self.agent is not None
        self.flow.fact("segment_ended", agent=self.agent, outcome="agent_hangup")
        self._finished(now)
        if self.bridge_id:
            await quietly(self.desk.ari.request("DELETE", f"/bridges/{self.bridge_id}"))
        # The caller is no longer waiting nor talking: a restart now must not re-queue them.
        for name in (QUEUE_VAR, AGENT_VAR):
            await quietly(self.desk.ari.set_variable(self.call_id, name, ""))
        self.phase = "survey"
        self.survey = SurveySession(language=self.flow.session.language)
        await self._survey_actions(self.survey.start())

    def _finished(self, now: float) -> None:
        assert self.agent is not None
        self.desk.apply(
            self.desk.router.call_finished(self.agent, self.queue, now - self.answered_at, now)
        )
        if self.recording:
            asyncio.get_running_loop().call_later(
                1.0, lambda: asyncio.ensure_future(self._store_recording())
            )

    async def _store_recording(self) -> None:
        assert self.recording is not None and self.agent is not None
        host_path = self.desk.host_root / self.recording.lstrip("/")
        try:
            data = await asyncio.to_thread(host_path.read_bytes)
        except OSError as exc:
            log.error("recording_missing", call_id=self.call_id, error=str(exc))
            return
        seconds = max(0, len(data) - 44) / 16000  # 8 kHz, 16-bit mono WAV
        purge = dt.date.today() + dt.timedelta(days=self.desk.retention_days)
        self.desk.journal.record(
            Fact(
                channel_id=self.call_id,
                kind="recording",
                data={
                    "agent": self.agent,
                    "path": self.recording,
                    "seconds": seconds,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "purge_after": purge.isoformat(),
                },
            )
        )

    async def on_caller_event(self, event: Any) -> bool:
        """Keys, playbacks and timers of the caller while with the ACD; True when consumed."""
        if self.phase == "survey" and self.survey is not None:
            await self._survey_actions(self.survey.handle(event))
            return True
        if isinstance(event, PlaybackFinished) and self.announcement is not None:
            if event.playback_id == self.announcement.rsplit(".", 1)[-1]:
                self.announcement = None
                if self.phase == "waiting":
                    await quietly(self.desk.ari.start_moh(self.call_id))
            return True
        return self.phase in ("waiting", "talking")

    async def _survey_actions(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, SurveyAnswered):
                self.flow.fact("survey", agent=self.agent, score=action.score)
                self.flow.log.info("survey", agent=self.agent, score=action.score)
            elif isinstance(action, Hangup):
                self.phase = "done"
                self.flow.settle("answered")
                await self.flow.execute([action])
            elif isinstance(action, Play | StartTimer):
                await self.flow.execute([action])

    async def caller_left(self) -> None:
        """The caller hung up: withdraw offers, or end the conversation."""
        now = time.time()
        ari = self.desk.ari
        if self.phase == "waiting":
            for decision in self.desk.router.caller_left(self.call_id, now):
                if isinstance(decision, CancelOffer):
                    channel = self.offers.pop(decision.agent, None)
                    if channel:
                        self.flow.fact(
                            "segment_ended", agent=decision.agent, outcome="caller_hangup"
                        )
                        await hangup_quietly(ari, channel)
                else:
                    self.desk.apply([decision])
            self.flow.settle("abandoned")
        elif self.phase == "talking":
            assert self.agent is not None
            self.flow.fact("segment_ended", agent=self.agent, outcome="caller_hangup")
            self._finished(now)
            if self.agent_channel:
                await hangup_quietly(ari, self.agent_channel)
            if self.bridge_id:
                await quietly(ari.request("DELETE", f"/bridges/{self.bridge_id}"))
            self.flow.settle("answered")
        self.phase = "done"
