"""What happens on the channels of a conversation (an agent's phone, the call-back line), as
small typed values: the telephony adapter reads them out of ARI's JSON, the core reacts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelAnswered:
    """A channel we placed was answered and entered our application (ARI StasisStart)."""

    channel: str
    name: str = ""  # Asterisk's channel name (AMI actions such as MixMonitor need it)


@dataclass(frozen=True)
class ChannelHangup:
    """A channel ended (ARI ChannelDestroyed, or StasisEnd: it left our application).
    `cause`: Q.850, None when the event gives none (StasisEnd); `lost`: it ended while the
    controller was disconnected, so the cause is not known."""

    channel: str
    cause: int | None = None
    lost: bool = False


@dataclass(frozen=True)
class KeyPressed:
    """A DTMF key on a channel (ARI ChannelDtmfReceived)."""

    channel: str
    digit: str


@dataclass(frozen=True)
class PlaybackDone:
    """A playback on a channel ended (ARI PlaybackFinished)."""

    channel: str
    playback_id: str


ChannelEvent = ChannelAnswered | ChannelHangup | KeyPressed | PlaybackDone
