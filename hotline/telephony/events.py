"""ARI's JSON events of the channels around a conversation, read into acd/channel_events.py
values (the core never sees a raw ARI dict)."""

from __future__ import annotations

from typing import Any

from acd.channel_events import (
    ChannelAnswered,
    ChannelEvent,
    ChannelHangup,
    KeyPressed,
    PlaybackDone,
)
from hotline.telephony.ari import event_channel


def channel_event(event: dict[str, Any]) -> ChannelEvent | None:
    """The typed value of an ARI event, or None for a kind the conversation ignores."""
    kind = event.get("type")
    channel = event_channel(event)
    if kind == "StasisStart":
        return ChannelAnswered(channel, str(event.get("channel", {}).get("name", "")))
    if kind in ("ChannelDestroyed", "StasisEnd"):
        cause = event.get("cause")
        return ChannelHangup(
            channel, None if cause is None else int(cause), lost=bool(event.get("lost"))
        )
    if kind == "ChannelDtmfReceived":
        return KeyPressed(channel, str(event.get("digit", "")))
    if kind == "PlaybackFinished":
        return PlaybackDone(channel, str(event.get("playback", {}).get("id", "")))
    return None


def lost_channel(channel_id: str) -> ChannelHangup:
    """A channel found gone after a reconnect: it ended unseen."""
    return ChannelHangup(channel_id, lost=True)
