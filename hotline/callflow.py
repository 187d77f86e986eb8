"""One call in the controller: ARI events become menu events, menu actions become requests."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from acd.callback_leg import Callback
from acd.router import RouterError
from hotline import selfservice
from hotline.call_adoption import LANG_VAR, NODE_VAR, resume_call
from hotline.caller_line import CallWorkOrder
from hotline.citizens import SocialInsurancePort
from hotline.desk import (
    Desk,
)
from hotline.person_leg import PersonLeg
from hotline.store.journal import Fact, Journal
from hotline.telephony.ari import AriClient, AriError
from ivr.actions import (
    Action,
    CallbackBooked,
    DigitPressed,
    EnterQueue,
    Event,
    Hangup,
    IdentityChecked,
    LookupDone,
    Play,
    PlaybackFinished,
    RecordingDone,
    RequestCallback,
    ResumeWaiting,
    StartTimer,
    StopPlayback,
    TimerExpired,
    TransferOut,
    UnexpectedEvent,
    Visit,
    VoicemailSaved,
)
from ivr.menu import Menu
from ivr.session import MenuSession

log = structlog.get_logger("call")


@dataclass(frozen=True)
class CallServices:
    """What a call needs from the rest of the controller."""

    ari: AriClient
    journal: Journal
    citizens: SocialInsurancePort
    sounds_dir: Path  # as Asterisk sees it
    run_id: str
    post: Callable[[str, Any], None]  # deliver an item to a call's mailbox (timers, results)
    is_open: Callable[[], bool]
    voicemail_due: Callable[[dt.date], dt.date]
    desk: Desk | None = None  # None: people are reached through the native app_queue
    # "Progress by case number": a work order's status, office and deadline (None: no database).
    case_progress: Callable[[str, str], Awaitable[dict[str, Any] | None]] | None = None
    # A work order for a call, owned by its agent (after a consult found no expert).
    open_work_order: Callable[[CallWorkOrder], Awaitable[str]] | None = None


class CallFlow:
    """The controller's side of one caller channel."""

    def __init__(self, *, channel: dict[str, Any], menu: Menu, services: CallServices) -> None:
        # call_id names the call for good (records, mailbox, router); channel_id is the channel
        # the caller is on now, which is another one when the center calls them back.
        self.call_id: str = channel["id"]
        self.channel_id: str = channel["id"]
        self.channel_name: str = channel.get("name", "")
        self.person: PersonLeg | None = None
        self.caller_number: str = channel.get("caller", {}).get("number", "")
        self.services = services
        language = channel.get("language") or "zh"
        self.session = MenuSession(
            menu=menu,
            language=language if language in ("zh", "en") else "zh",
            caller_number=self.caller_number,
        )
        if services.desk is not None:
            self.session.callback_numbers = services.desk.router.config.callback.numbers
        # The language a restarted controller would resume in on this channel: the channel's
        # own until LANG_VAR says otherwise (set only when it changes: each set is a request
        # and an event in Asterisk).
        self.kept_language = (self.channel_id, self.session.language)
        self.log = log.bind(call_id=self.call_id)
        self.hangup_requested_by_us = False
        self.hanging_up = False
        self.ended = False
        self.refused = False  # told that all lines are busy: takes none of the lines
        self._timers: dict[str, asyncio.TimerHandle] = {}

    @property
    def holds_a_line(self) -> bool:
        """Whether this is a citizen on the line they called in on (menu, waiting, talking,
        survey): what HOTLINE_MAX_CALLERS counts. Not a refusal being told, nor a call whose
        citizen hung up to be called back, nor one on the line the center called back on."""
        return not (self.refused or self.ended) and self.channel_id == self.call_id

    def media(self, prompts: Iterable[str], language: str | None = None) -> list[str]:
        """ARI media URIs of prompts, in the call's language unless another is given."""
        base = f"sound:{self.services.sounds_dir}/{language or self.session.language}/"
        return [base + p for p in prompts]  # (no Path per prompt: several a call)

    def fact(self, kind: str, **data: Any) -> None:
        """Record something about this call in the journal."""
        self.services.journal.record(Fact(channel_id=self.call_id, kind=kind, data=data))

    def _started(self, channel: dict[str, Any], args: list[str]) -> str:
        dialed = args[1] if len(args) > 1 else channel.get("dialplan", {}).get("exten", "")
        self.fact(
            "call_started",
            linkedid=args[2] if len(args) > 2 else None,
            caller=self.caller_number,
            dialed=dialed,
            language=self.session.language,
        )
        return str(dialed)

    async def begin(self, channel: dict[str, Any], args: list[str]) -> None:
        """A new call entered Stasis: record, answer, start the menu."""
        dialed = self._started(channel, args)
        self.log.info("call_started", caller=self.caller_number, dialed=dialed)
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

    async def refuse(self, channel: dict[str, Any], args: list[str], reason: str) -> None:
        """Refused on arrival (`lines_busy`): recorded, told so as early media, never
        answered (the caller is not charged), then hung up as busy (SIP 486)."""
        self.refused = True
        self._disposition = reason  # also if the caller hangs up during the prompt
        dialed = self._started(channel, args)
        self.fact("refused", reason=reason)
        self.log.warning("call_refused", reason=reason, caller=self.caller_number, dialed=dialed)
        ari = self.services.ari
        try:
            # 183 Session Progress with media: the prompt is heard before any answer.
            await ari.request("POST", f"/channels/{self.channel_id}/progress")
            await self.execute(self.session.refuse(reason))
        except AriError as exc:
            # Gone, an Asterisk before 22.6 (no early media over ARI), or one too busy to
            # answer: refused without the words rather than left in silence.
            self.log.warning("refused_without_prompt", error=str(exc)[:200])
            self.hangup_requested_by_us = True
            try:
                await ari.hangup(self.channel_id, "busy")
            except AriError as again:
                if not again.gone:
                    raise

    async def adopt(self, channel: dict[str, Any]) -> None:
        """A call already in Stasis when we (re)connected: resume where it was."""
        await resume_call(self, channel)

    def restore_callback(
        self, desk: Desk, queue: str, entered: float, priority: int, number: str, attempts: int
    ) -> None:
        """A booked callback found in the database after a restart: nobody on the line yet."""
        self.session.phase = "done"
        self.channel_id = ""
        self._disposition = "callback"
        self.person = PersonLeg(
            flow=self, desk=desk, queue=queue, entered=entered, phase="callback", priority=priority
        )
        self.person.conversation.callback = Callback(number=number, attempt=attempts)
        self.fact("adopted", run_id=self.services.run_id)
        self.log.info("callback_restored", queue=queue, attempts=attempts)

    def _local(self, global_id: str) -> str:
        return global_id.rsplit(".", 1)[-1]

    def global_id(self, local_id: str) -> str:
        """A playback's or recording's name as Asterisk knows it: unique per call and run."""
        return f"{self.call_id}.{self.services.run_id}.{local_id}"

    def to_menu_event(self, event: dict[str, Any]) -> Event | None:
        """The menu's view of an ARI event, or None if the menu doesn't care."""
        kind = event.get("type")
        if kind == "ChannelDtmfReceived":
            return DigitPressed(event["digit"])
        if kind == "PlaybackFinished":
            return PlaybackFinished(self._local(event["playback"]["id"]))
        if kind in ("RecordingFinished", "RecordingFailed"):
            rec = event["recording"]
            seconds = float(rec.get("duration") or rec.get("total_duration") or 0)
            return RecordingDone(self._local(rec["name"]), seconds, ok=kind == "RecordingFinished")
        return None

    def settle(self, disposition: str) -> None:
        """How the call ended, as far as the center is concerned (answered, abandoned...)."""
        self._disposition = disposition

    async def on_event(self, item: Any) -> bool:
        """Handle one mailbox item; True when this call is finished."""
        if isinstance(item, tuple) and item[0] == "acd":
            if self.person is not None and not self.ended:
                await self.person.on_decision(item[1])
            return self.ended
        if isinstance(item, tuple) and item[0] == "agent":
            _, agent_channel, agent, agent_event = item
            if self.person is not None:
                await self.person.on_agent_event(agent_channel, agent, agent_event)
            return self.ended
        if isinstance(item, tuple) and item[0] == "transfer":
            _, queue, agent = item
            if self.person is not None and self.person.agent == agent:
                try:
                    await self.person.transfer(queue)
                except RouterError as exc:
                    self.log.warning("transfer_refused", queue=queue, error=str(exc))
            else:  # the agent left the call since they asked (or never led it)
                self.log.warning("transfer_refused", queue=queue, agent=agent, error="not_on_call")
            return self.ended
        if isinstance(item, tuple) and item[0] in ("consult", "consult_timeout"):
            # ("consult", command, agent, queue) from the API; the consult timer's end.
            command, agent, target = (
                item[1:4] if item[0] == "consult" else ("consult_timeout", None, item[1])
            )
            if self.person is not None and agent in (None, self.person.agent):
                try:
                    await self.person.desk_command(command, target)
                except RouterError as exc:
                    self.log.warning("consult_refused", command=command, error=str(exc))
            else:
                why = "not_on_call"  # the agent left the call since they asked
                self.log.warning("consult_refused", command=command, agent=agent, error=why)
            return self.ended
        if isinstance(item, tuple) and item[0] == "vanished":
            # Ended while the controller was disconnected from Asterisk.
            if self.person is not None and self.person.awaits_callback:
                return False
            if self.person is not None and self.person.phase in self.person.WITH_CALLER:
                await self.person.caller_left()
            self.finish("unknown", "gone_after_reconnect", item[1] if len(item) > 1 else None)
            return True
        if isinstance(item, tuple) and item[0] == "citizen":
            # The channel on which the center calls the caller back.
            if self.person is not None and await self.person.on_callback_channel(item[1]):
                return self.ended
            item = item[1]
        if isinstance(item, TimerExpired):
            self._timers.pop(item.token, None)
            if not (self.ended or self.hanging_up):
                await self.feed(item)
            return self.ended
        if isinstance(item, IdentityChecked | LookupDone | VoicemailSaved | CallbackBooked):
            if not (self.ended or self.hanging_up):
                await self.feed(item)
            return self.ended
        event: dict[str, Any] = item
        kind = event.get("type")
        if event.get("channel", {}).get("id", self.channel_id) != self.channel_id:
            return False  # the line the caller left for a callback
        if kind == "PlaybackFinished":
            pb = event["playback"]
            self.fact(
                "prompt_played",
                playback=pb["id"],
                media=pb.get("media_uri", ""),
                state=pb.get("state"),
            )
        elif kind == "ChannelDtmfReceived":
            # Keys of an ID number or password never reach the database or the logs.
            self.fact("key", digit="•" if self.session.collecting_secret else event["digit"])
        elif kind == "ChannelHangupRequest":
            # The caller is leaving: the menu must not move on (a playback cut short by the
            # hang-up still reports PlaybackFinished).
            self.hanging_up = True
            if not self.hangup_requested_by_us:
                self.fact("hangup_request", cause=event.get("cause"))
        elif kind in ("StasisEnd", "ChannelDestroyed"):
            if self.person is not None and self.person.awaits_callback:
                self.person.caller_hung_up_for_callback()
                return False
            if self.person is not None and self.person.phase in self.person.WITH_CALLER:
                await self.person.caller_left()
            self.finish("system" if self.hangup_requested_by_us else "caller", kind)
            return True
        if self.ended or self.hanging_up:
            return False
        menu_event = self.to_menu_event(event)
        if menu_event is not None:
            await self.feed(menu_event)
        return self.ended

    async def feed(self, event: Event) -> None:
        """Give the menu (or the person leg, once there) an event; carry out the decisions."""
        if self.person is not None and await self.person.on_caller_event(event):
            return
        try:
            actions = self.session.handle(event)
        except UnexpectedEvent as exc:
            self.log.error("unexpected_event", error=str(exc))
            return
        await self.execute(actions)

    def finish(self, side: str, why: str, disposition: str | None = None) -> None:
        """The channel left us: close the call record (with `disposition`, if given)."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self.ended:
            return
        self.ended = True
        self._disposition = disposition or self._disposition
        disposition = self._disposition or (
            "abandoned_in_menu"
            if side == "caller" and self.session.disposition != "voicemail"
            else self.session.disposition
        )
        self.fact("ended", side=side, disposition=disposition)
        self.log.info("call_ended", side=side, disposition=disposition, why=why)

    _disposition: str | None = None

    async def execute(self, actions: list[Action]) -> None:
        """Carry out actions in order; a vanished channel ends the call quietly."""
        for action in actions:
            try:
                await self._do(action)
            except AriError as exc:
                if exc.gone:
                    self.log.info("channel_gone", during=type(action).__name__)
                    return
                raise
        await self._keep_node()

    async def _keep_node(self) -> None:
        """Where a restarted controller resumes: the last node of consecutive visits (a key
        pressed in the welcome that leads through main to another menu saves one set)."""
        node, self._node_to_keep = self._node_to_keep, None
        if node is None:
            return
        ari = self.services.ari
        try:
            await ari.set_variable(self.channel_id, NODE_VAR, node)
            language = (self.channel_id, self.session.language)
            if language != self.kept_language:
                await ari.set_variable(self.channel_id, LANG_VAR, self.session.language)
                self.kept_language = language
        except AriError as exc:
            if not exc.gone:
                raise

    _node_to_keep: str | None = None

    async def _do(self, action: Action) -> None:
        ari = self.services.ari
        post = self.services.post
        if not isinstance(action, Visit):
            # Before the next action, above all before a prompt: ARI runs a variable set
            # through the channel's own thread, which is busy for as long as a prompt plays
            # (a set after the play waited for it to end, 10 s and more).
            await self._keep_node()
        match action:
            case Visit(node=node, resumable=resumable):
                self.fact("node", node=node)
                if resumable:
                    self._node_to_keep = node  # saved before the next action
            case Play(playback_id=pid, prompts=prompts, language=lang):
                await ari.play(
                    self.channel_id, self.media(prompts, lang), self.global_id(pid), lang
                )
            case StopPlayback(playback_id=pid):
                try:
                    await ari.stop_playback(self.global_id(pid))
                except AriError as exc:
                    if not exc.gone:  # it may have just finished on its own
                        raise
            case StartTimer(token=token, seconds=seconds):
                loop = asyncio.get_running_loop()
                self._timers[token] = loop.call_later(
                    seconds, post, self.call_id, TimerExpired(token)
                )
            case EnterQueue(queue=queue):
                await self.enter_queue(queue)
            case TransferOut(number=number):
                self.fact("transferred", number=number)
                self._disposition = "transferred"
                self.log.info("transfer_out", number=number)
                await ari.request(
                    "POST",
                    f"/channels/{self.channel_id}/continue",
                    {"context": "transfer-out", "extension": number, "priority": 1},
                )
            case Hangup(disposition=disposition, cause=cause):
                self._disposition = disposition
                self.hangup_requested_by_us = True
                await ari.hangup(self.channel_id, cause)
            case RequestCallback(number=number):
                if self.person is not None:
                    await self.person.callback_requested(number)
            case ResumeWaiting():
                if self.person is not None:
                    await self.person.resume_waiting()
            case _:
                await selfservice.carry_out(self, action)

    async def enter_queue(self, queue: str) -> None:
        """To a person: the controller's ACD, or app_queue when it runs without one."""
        desk = self.services.desk
        if desk is not None:
            self.person = PersonLeg(
                flow=self, desk=desk, queue=queue, entered=dt.datetime.now(dt.UTC).timestamp()
            )
            await self.person.start(desk.priority(self.session.verified_id))
            return
        self.fact("queued", queue=queue)
        self._disposition = "to_native_queue"
        self.log.info("to_queue", queue=queue, via="dialplan")
        await self.services.ari.request(
            "POST",
            f"/channels/{self.channel_id}/continue",
            {"context": "fallback", "extension": "s", "label": "open"},
        )
