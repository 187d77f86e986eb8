"""One call in the controller: ARI events become domain events, actions become ARI requests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from hotline.store.journal import Fact, Journal
from hotline.telephony.ari import AriClient, AriError
from ivr.menu import Menu
from ivr.session import (
    Action,
    DigitPressed,
    EnterQueue,
    Hangup,
    MenuSession,
    Play,
    PlaybackFinished,
    StartTimer,
    StopPlayback,
    TimerExpired,
    UnexpectedEvent,
    Visit,
)
from ivr.session import Event as MenuEvent

log = structlog.get_logger("call")

NODE_VAR = "HOTLINE_NODE"  # kept on the channel so a restarted controller resumes there
LANG_VAR = "HOTLINE_LANG"


@dataclass(frozen=True)
class CallServices:
    """What a call needs from the rest of the controller."""

    ari: AriClient
    journal: Journal
    sounds_dir: Path  # as Asterisk sees it
    run_id: str
    post: Callable[[str, Any], None]  # deliver an item to a call's mailbox later (timers)
    is_open: Callable[[], bool]


class CallFlow:
    """The controller's side of one caller channel."""

    def __init__(self, *, channel: dict[str, Any], menu: Menu, services: CallServices) -> None:
        self.channel_id: str = channel["id"]
        self.services = services
        language = channel.get("language") or "zh"
        self.session = MenuSession(
            menu=menu, language=language if language in ("zh", "en") else "zh"
        )
        self.log = log.bind(call_id=self.channel_id)
        self.hangup_requested_by_us = False
        self.hanging_up = False
        self.ended = False
        self.left_stasis = False
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._playbacks = 0

    def fact(self, kind: str, **data: Any) -> None:
        """Record something about this call in the journal."""
        self.services.journal.record(Fact(channel_id=self.channel_id, kind=kind, data=data))

    async def begin(self, channel: dict[str, Any], args: list[str]) -> None:
        """A new call entered Stasis: record, answer, start the menu."""
        caller = channel.get("caller", {}).get("number", "")
        dialed = args[1] if len(args) > 1 else channel.get("dialplan", {}).get("exten", "")
        self.fact(
            "call_started",
            linkedid=args[2] if len(args) > 2 else None,
            caller=caller,
            dialed=dialed,
            language=self.session.language,
        )
        self.log.info("call_started", caller=caller, dialed=dialed)
        self.session.is_open = self.services.is_open()
        try:
            await self.services.ari.answer(self.channel_id)
        except AriError as exc:
            if exc.gone:
                self.log.info("call_gone_before_answer")
                return
            raise
        self.fact("answered")
        await self.execute(self.session.start())

    async def adopt(self, channel: dict[str, Any]) -> None:
        """A call already in Stasis when we (re)connected: resume where it was."""
        self.fact("adopted", run_id=self.services.run_id)
        ari = self.services.ari
        node = ""
        try:
            node = await ari.get_variable(self.channel_id, NODE_VAR)
            language = await ari.get_variable(self.channel_id, LANG_VAR)
        except AriError as exc:
            if exc.gone:
                return
            language = ""
        if language in ("zh", "en"):
            self.session.language = language
        self.session.is_open = self.services.is_open()
        self.log.info("call_adopted", node=node or "(start)", state=channel.get("state"))
        if channel.get("state") != "Up":
            await ari.answer(self.channel_id)
            self.fact("answered")
        await self.execute(self.session.start(node or None))

    def to_menu_event(self, event: dict[str, Any]) -> MenuEvent | None:
        """The menu's view of an ARI event, or None if the menu doesn't care."""
        kind = event.get("type")
        if kind == "ChannelDtmfReceived":
            return DigitPressed(event["digit"])
        if kind == "PlaybackFinished":
            return PlaybackFinished(self._local_playback(event["playback"]["id"]))
        return None

    def _local_playback(self, playback_id: str) -> str:
        return playback_id.rsplit(".", 1)[-1]

    async def on_event(self, item: Any) -> bool:
        """Handle one mailbox item; True when this call is finished."""
        if isinstance(item, TimerExpired):
            self._timers.pop(item.token, None)
            if not self.ended:
                await self.feed(item)
            return self.ended
        event: dict[str, Any] = item
        kind = event.get("type")
        if kind == "PlaybackFinished":
            self.fact(
                "prompt_played",
                playback=event["playback"]["id"],
                media=event["playback"].get("media_uri", ""),
            )
        if kind == "ChannelDtmfReceived":
            self.fact("key", digit=event["digit"])
        if kind == "ChannelHangupRequest":
            # The caller is leaving: the menu must not move on (a playback cut short by the
            # hang-up still reports PlaybackFinished).
            self.hanging_up = True
            if not self.hangup_requested_by_us:
                self.fact("hangup_request", cause=event.get("cause"))
        if kind in ("StasisEnd", "ChannelDestroyed"):
            self.finish("system" if self.hangup_requested_by_us else "caller", kind)
            return True
        if self.ended or self.hanging_up:
            return False
        menu_event = self.to_menu_event(event)
        if menu_event is not None:
            await self.feed(menu_event)
        return self.ended

    async def feed(self, event: MenuEvent) -> None:
        """Give the menu an event and carry out its decisions."""
        try:
            actions = self.session.handle(event)
        except UnexpectedEvent as exc:
            self.log.error("unexpected_event", error=str(exc))
            return
        await self.execute(actions)

    def finish(self, side: str, why: str) -> None:
        """The channel left us: close the call record."""
        if self.ended and self.left_stasis:
            return
        self.left_stasis = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if not self.ended:
            self.ended = True
            disposition = self._disposition or (
                "abandoned_in_menu" if side == "caller" else "system"
            )
            self.fact("ended", side=side, disposition=disposition)
            self.log.info("call_ended", side=side, disposition=disposition, why=why)

    _disposition: str | None = None

    async def execute(self, actions: list[Action]) -> None:
        """Carry out actions in order; a vanished channel ends the call quietly."""
        ari = self.services.ari
        try:
            for action in actions:
                match action:
                    case Visit(node=node):
                        self.fact("node", node=node)
                        await ari.set_variable(self.channel_id, NODE_VAR, node)
                        await ari.set_variable(self.channel_id, LANG_VAR, self.session.language)
                    case Play(playback_id=pid, prompts=prompts, language=lang):
                        media = [f"sound:{self.services.sounds_dir / lang / p}" for p in prompts]
                        await ari.play(self.channel_id, media, self._global_playback(pid), lang)
                    case StopPlayback(playback_id=pid):
                        try:
                            await ari.stop_playback(self._global_playback(pid))
                        except AriError as exc:
                            if not exc.gone:  # it may have just finished on its own
                                raise
                    case StartTimer(token=token, seconds=seconds):
                        loop = asyncio.get_running_loop()
                        self._timers[token] = loop.call_later(
                            seconds, self.services.post, self.channel_id, TimerExpired(token)
                        )
                    case EnterQueue(queue=queue):
                        await self.enter_queue(queue)
                    case Hangup(disposition=disposition):
                        self._disposition = disposition
                        self.hangup_requested_by_us = True
                        await ari.hangup(self.channel_id)
        except AriError as exc:
            if exc.gone:
                self.log.info("channel_gone", during=type(action).__name__)
                return
            raise

    def _global_playback(self, local_id: str) -> str:
        # Playback ids are global in Asterisk; this one is unique per call and controller run.
        return f"{self.channel_id}.{self.services.run_id}.{local_id}"

    async def enter_queue(self, queue: str) -> None:
        """Until the controller's own ACD takes calls, a person is reached through app_queue."""
        self.fact("queued", queue=queue)
        self._disposition = "to_native_queue"
        self.log.info("to_queue", queue=queue, via="dialplan")
        await self.services.ari.request(
            "POST",
            f"/channels/{self.channel_id}/continue",
            {"context": "fallback", "extension": "s", "label": "open"},
        )
