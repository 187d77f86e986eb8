"""A supervisor listens to, whispers to or barges into an agent's live conversation, on the
supervisor's own desk phone.

Every mode is an ARI snoop on the agent's channel, bridged with the supervisor's channel in a
private mixing bridge: `spy=both` lets the supervisor hear the agent and the caller, and the
snoop's whisper direction says who hears the supervisor — nobody (listen), the agent only
(whisper: `out`, what goes to the agent's phone) or both (barge: `both`, also what the agent's
channel sends into the conversation, so the caller hears it through the agent's leg). Barge is
not done by joining the conversation's bridge: that bridge belongs to the conversation machine
(it records, transfers and tears it down), and with a snoop a mode switch is a snoop swap and
the session ends exactly when the agent's leg does (Asterisk hangs the snoop up with it).

Started from the wallboard (HTTP API, hotline/web.py) by ringing the supervisor's desk phone,
or from that phone with a feature code (*51 listen, *52 whisper, *53 barge, then the agent's
工号); keys 1/2/3 pressed during the session switch mode. Every start, switch, stop and
refusal is written to the audit log.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline import audit
from hotline.desk import quietly
from hotline.telephony.ari import AriClient, AriError

log = structlog.get_logger("supervision")

WHISPER = {"listen": "none", "whisper": "out", "barge": "both"}  # the snoop's whisper direction
FEATURE_CODES = {"*51": "listen", "*52": "whisper", "*53": "barge"}
SWITCH_KEYS = {"1": "listen", "2": "whisper", "3": "barge"}
PREFIX = "sv-"  # ids of our channels and bridges; any left after a restart are ours to end
RING_SECONDS = 30

Event = dict[str, Any]


@dataclass(frozen=True)
class Conversation:
    """An agent's live conversation as supervision needs it."""

    call_id: str
    agent_channel: str
    seat: str  # the desk phone the agent talks on


class SupervisionRefused(Exception):
    """Why a supervision cannot start: a stable error id and the HTTP status to answer."""

    def __init__(self, error_id: str, status: int = 409) -> None:
        super().__init__(error_id)
        self.error_id = error_id
        self.status = status


@dataclass
class Session:
    """One supervisor on one agent's conversation; `key` is the supervisor's channel id."""

    key: str
    tag: str  # names the session's bridge and snoops: sv-<tag>-b, sv-<tag>-s1...
    who: str  # the supervisor's account name
    role: str
    phone: str  # the supervisor's desk phone (PJSIP endpoint)
    agent: str
    call_id: str
    agent_channel: str
    mode: str = "listen"
    source: str = ""
    bridge: str = ""
    snoop: str = ""  # the snoop heard now ("" until the phone answers)
    spare: set[str] = field(default_factory=set)  # snoops replaced by a switch, ending
    answered: bool = False
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class Supervision:
    """The live sessions and what Asterisk does for them. Events of a session's channels are
    handed to `on_event` in order (one mailbox per session, keyed by `key`)."""

    def __init__(
        self,
        *,
        ari: AriClient,
        engine: Callable[[], AsyncEngine | None],
        conversation_of: Callable[[str], Conversation | None],
        tell: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.ari = ari
        self._engine = engine
        self._conversation_of = conversation_of  # 工号 -> their live conversation, or None
        self._tell = tell  # (channel, prompt): say feature-ok/feature-fail and hang up
        self.sessions: dict[str, Session] = {}
        self._channels: dict[str, str] = {}  # every channel of a session -> its key

    def key_of(self, channel_id: str) -> str | None:
        """The session a channel belongs to (the supervisor's or one of its snoops)."""
        return self._channels.get(channel_id)

    def session_of(self, who: str) -> Session | None:
        """A supervisor's live session (one at a time: one desk phone)."""
        return next((s for s in self.sessions.values() if s.who == who), None)

    # --- starting
    async def start_from_wallboard(
        self, who: str, role: str, phone: str, agent: str, mode: str, source: str
    ) -> Session:
        """Ring the supervisor's desk phone; the snoop starts when it is answered. A request
        for the agent already supervised switches the mode instead (audited as a switch)."""
        current = self.session_of(who)
        if current is not None:
            if current.agent != agent:
                raise SupervisionRefused("already_supervising")
            await self.switch(current, mode)
            return current
        tag = secrets.token_hex(6)
        session = self._new_session(f"{PREFIX}{tag}", tag, who, role, phone, agent)
        session.mode, session.source = mode, source
        try:
            await self.ari.request(
                "POST",
                "/channels",
                {
                    "endpoint": f"PJSIP/{phone}",
                    "app": self.ari.app,
                    "appArgs": "supervise",
                    "channelId": session.key,
                    "timeout": RING_SECONDS,
                    "callerId": f"{mode} <{agent}>",
                },
            )
        except AriError as exc:
            self._forget(session)
            log.warning("supervisor_phone_not_rung", phone=phone, error=str(exc)[:120])
            raise SupervisionRefused("desk_phone_unreachable", 503) from exc
        await self._audit(session, "supervision.start", detail={"ringing": phone})
        return session

    async def start_from_phone(self, event: Event, mode: str, agent: str, person: str) -> None:
        """*51/*52/*53 + 工号 dialled on a desk phone: `person`, the 工号 of whoever sits
        at it (the phone's own number unless an agent logged in there), must be a
        supervisor's account."""
        channel = event["channel"]
        phone = channel.get("caller", {}).get("number", "")
        who = await self._supervisor_with(person)
        try:
            if who is None:
                raise SupervisionRefused("not_a_supervisor_phone", 403)
            if self.session_of(who) is not None:
                raise SupervisionRefused("already_supervising")
            tag = secrets.token_hex(6)
            session = self._new_session(channel["id"], tag, who, "supervisor", phone, agent)
        except SupervisionRefused as exc:
            await self.refused(who or f"phone:{phone}", agent, mode, "desk_phone", exc)
            await self._tell(channel["id"], "feature-fail")
            return
        session.mode, session.source = mode, "desk_phone"
        await self._audit(session, "supervision.start")
        await self._connect(session)

    def _new_session(
        self, key: str, tag: str, who: str, role: str, phone: str, agent: str
    ) -> Session:
        found = self._conversation_of(agent)
        if found is None:
            raise SupervisionRefused("agent_not_in_conversation")
        if phone == found.seat:
            raise SupervisionRefused("own_conversation")
        session = Session(key, tag, who, role, phone, agent, found.call_id, found.agent_channel)
        self.sessions[key] = session
        self._channels[key] = key
        return session

    # --- events (in order, per session)
    async def on_event(self, key: str, event: Event) -> bool:
        """One ARI event of a session's channel; True when the session is over."""
        session = self.sessions.get(key)
        if session is None:
            return True
        kind = event.get("type", "")
        channel = (event.get("channel") or {}).get("id", "")
        if channel == key:
            if kind == "StasisStart" and not session.answered:
                await self._connect(session)
            elif kind == "ChannelDtmfReceived" and event.get("digit") in SWITCH_KEYS:
                await self.switch(session, SWITCH_KEYS[event["digit"]])
            elif kind in ("StasisEnd", "ChannelDestroyed"):
                why = "supervisor_hung_up" if session.answered else "not_answered"
                await self._end(session, why)
                return True
            return False
        if kind == "StasisStart" and channel == session.snoop:
            await self._bridge_snoop(session)
        elif kind in ("StasisEnd", "ChannelDestroyed"):
            self._channels.pop(channel, None)
            if channel in session.spare:
                session.spare.discard(channel)
            elif channel == session.snoop:
                # Asterisk ends a snoop with the channel it spies on: the conversation is over
                # for this agent (hung up, transferred).
                await self._end(session, "conversation_ended")
                return True
        return False

    async def _connect(self, session: Session) -> None:
        """The supervisor's phone is up: a private bridge with them, then the snoop."""
        session.answered = True
        now = self._conversation_of(session.agent)
        if now is None or (now.call_id, now.agent_channel) != (
            session.call_id,
            session.agent_channel,
        ):
            await self._end(session, "conversation_ended", hang_up=False)
            await self._tell(session.key, "feature-fail")
            return
        try:
            await quietly(self.ari.answer(session.key))
            bridge = await self.ari.request(
                "POST", "/bridges", {"type": "mixing", "bridgeId": f"{PREFIX}{session.tag}-b"}
            )
            session.bridge = bridge["id"]
            await self.ari.request(
                "POST", f"/bridges/{session.bridge}/addChannel", {"channel": session.key}
            )
            await self._snoop(session)
        except AriError as exc:
            if not exc.gone and exc.status not in (409, 422):
                raise
            await self._end(session, "conversation_ended")  # hangs the supervisor up too

    async def _snoop(self, session: Session) -> None:
        snoop = f"{PREFIX}{session.tag}-s{next(session.numbers)}"
        self._channels[snoop] = session.key
        if session.snoop:
            session.spare.add(session.snoop)
        session.snoop = snoop
        await self.ari.request(
            "POST",
            f"/channels/{session.agent_channel}/snoop",
            {
                "spy": "both",
                "whisper": WHISPER[session.mode],
                "app": self.ari.app,
                "appArgs": "snoop",
                "snoopId": snoop,
            },
        )

    async def _bridge_snoop(self, session: Session) -> None:
        """The new snoop is in our application: into the bridge, the one it replaces out."""
        await quietly(
            self.ari.request(
                "POST", f"/bridges/{session.bridge}/addChannel", {"channel": session.snoop}
            )
        )
        for old in list(session.spare):
            await quietly(self.ari.hangup(old))
        log.info("supervising", who=session.who, agent=session.agent, mode=session.mode)

    async def switch(self, session: Session, mode: str) -> None:
        """Listen, whisper or barge from now on (a new snoop replaces the current one)."""
        if mode == session.mode:
            return
        session.mode = mode
        await self._audit(session, "supervision.switch")
        if session.answered and session.bridge:
            try:
                await self._snoop(session)
            except AriError as exc:
                if not exc.gone:
                    raise

    async def stop(self, session: Session) -> None:
        """The supervisor stops from the wallboard: their phone is hung up (then `_end`)."""
        await quietly(self.ari.hangup(session.key))

    async def _end(self, session: Session, why: str, hang_up: bool = True) -> None:
        """Nothing left behind: the snoops, the bridge, the supervisor's channel; audited."""
        if self.sessions.pop(session.key, None) is None:
            return
        for snoop in [session.snoop, *session.spare]:
            if snoop:
                await quietly(self.ari.hangup(snoop))
        if session.bridge:
            await quietly(self.ari.request("DELETE", f"/bridges/{session.bridge}"))
        if hang_up and why == "conversation_ended":
            await quietly(self.ari.hangup(session.key))
        self._forget(session)
        await self._audit(session, "supervision.stop", detail={"reason": why})

    def _forget(self, session: Session) -> None:
        self.sessions.pop(session.key, None)
        for channel, key in list(self._channels.items()):
            if key == session.key:
                self._channels.pop(channel, None)

    # --- after a controller restart
    async def sweep(self, channel_ids: list[str]) -> None:
        """End what an earlier controller left: our channels and bridges (no session
        survives a restart; the supervisor starts again)."""
        for channel in channel_ids:
            if channel.startswith(PREFIX) and self.key_of(channel) is None:
                await quietly(self.ari.hangup(channel))
        live = {s.bridge for s in self.sessions.values()}
        for bridge in await self.ari.request("GET", "/bridges"):
            bridge_id = str(bridge.get("id", ""))
            if bridge_id.startswith(PREFIX) and bridge_id not in live:
                await quietly(self.ari.request("DELETE", f"/bridges/{bridge_id}"))

    # --- who and the audit
    async def _supervisor_with(self, number: str) -> str | None:
        """The (enabled) supervisor account whose 工号 is `number`, or None."""
        engine = self._engine()
        if engine is None or not number:
            return None
        async with engine.connect() as conn:
            name = await conn.scalar(
                text(
                    "SELECT name FROM accounts WHERE agent = :phone AND disabled_at IS NULL"
                    " AND 'supervisor' = ANY(roles)"
                ),
                {"phone": number},
            )
        return str(name) if name is not None else None

    async def refused(self, who: str, agent: str, mode: str, source: str, why: Exception) -> None:
        """A supervision that could not start, audited with its reason."""
        error_id = getattr(why, "error_id", type(why).__name__)
        log.info("supervision_refused", who=who, agent=agent, mode=mode, error=error_id)
        entry = audit.Entry(
            who,
            "supervision.start",
            role="supervisor",
            target=agent,
            source=source,
            outcome="refused",
            detail={"mode": mode, "error_id": error_id},
        )
        await audit.record(self._engine(), entry)

    async def _audit(
        self, session: Session, what: str, detail: dict[str, str] | None = None
    ) -> None:
        entry = audit.Entry(
            session.who,
            what,
            role=session.role,
            target=session.agent,
            source=session.source,
            detail={
                "mode": session.mode,
                "phone": session.phone,
                "call": session.call_id,
                "session": session.key,
                **(detail or {}),
            },
        )
        log.info(what.replace(".", "_"), who=session.who, agent=session.agent, mode=session.mode)
        await audit.record(self._engine(), entry)
