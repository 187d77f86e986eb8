"""What the voice menu decides (actions) and what it is told (events): plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


# --- actions: carried out by the telephony adapter
@dataclass(frozen=True)
class Play:
    """Play prompts in order as one playback; `barge_in`: a key stops it."""

    playback_id: str
    prompts: tuple[str, ...]
    language: str
    barge_in: bool = True


@dataclass(frozen=True)
class StopPlayback:
    """Stop a playback that a key interrupted."""

    playback_id: str


@dataclass(frozen=True)
class StartTimer:
    """Report TimerExpired(token) after seconds, unless superseded."""

    token: str
    seconds: float


@dataclass(frozen=True)
class Visit:
    """The caller reached a menu node or a service (the IVR path; hot topics)."""

    node: str
    resumable: bool = True  # a restarted controller resumes the call here


@dataclass(frozen=True)
class EnterQueue:
    """Hand the caller to a queue for a person."""

    queue: str


@dataclass(frozen=True)
class TransferOut:
    """Connect the caller to another number through the trunk (the call leaves the menu)."""

    number: str


@dataclass(frozen=True)
class Hangup:
    """End the call from our side; `cause` is what the caller's phone is told (an ARI hang-up
    reason: "busy" refuses a call that was never answered with SIP 486 Busy Here)."""

    disposition: str
    cause: str = "normal"


@dataclass(frozen=True)
class VerifyIdentity:
    """Ask the social-insurance system whether this ID and query password match."""

    id_number: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Lookup:
    """Fetch a self-service answer: `key` is the verified ID, or a case number."""

    service: str
    key: str


@dataclass(frozen=True)
class StartRecording:
    """Record the caller (voice message) after a beep; `#` ends it."""

    name: str
    max_seconds: int


@dataclass(frozen=True)
class SaveVoicemail:
    """Keep a recorded voice message for an agent to answer by the deadline."""

    recording: str
    seconds: float
    callback_number: str


@dataclass(frozen=True)
class RequestCallback:
    """The caller waiting for a person will be called back on `number`, in their place."""

    number: str


@dataclass(frozen=True)
class ResumeWaiting:
    """The caller arranging a callback stays on the line after all: back to waiting, in place."""


@dataclass(frozen=True)
class DiscardRecording:
    """Delete a recording the caller cancelled or re-recorded."""

    name: str


Action = (
    Play
    | StopPlayback
    | StartTimer
    | Visit
    | EnterQueue
    | TransferOut
    | Hangup
    | VerifyIdentity
    | Lookup
    | StartRecording
    | SaveVoicemail
    | RequestCallback
    | ResumeWaiting
    | DiscardRecording
)


# --- events: results reported back by the adapter
@dataclass(frozen=True)
class PlaybackFinished:
    """A playback ended (played out or stopped)."""

    playback_id: str


@dataclass(frozen=True)
class DigitPressed:
    """A DTMF key."""

    digit: str


@dataclass(frozen=True)
class TimerExpired:
    """A StartTimer ran out."""

    token: str


@dataclass(frozen=True)
class IdentityChecked:
    """Outcome of VerifyIdentity."""

    outcome: Literal["ok", "wrong", "locked", "unknown", "unavailable"]
    birth_year: int | None = None


@dataclass(frozen=True)
class LookupDone:
    """Outcome of Lookup: data, or None when there is no record; `ok` False: system down."""

    service: str
    data: dict[str, Any] | None
    ok: bool = True


@dataclass(frozen=True)
class RecordingDone:
    """A recording ended: `seconds` long, or failed."""

    name: str
    seconds: float
    ok: bool = True


@dataclass(frozen=True)
class VoicemailSaved:
    """SaveVoicemail's outcome."""

    ok: bool


@dataclass(frozen=True)
class CallbackBooked:
    """RequestCallback's outcome: `booked`, `exists` (this number already has one pending:
    it keeps its place) or `limit` (this number's bookings for today are used up)."""

    outcome: str


Event = (
    PlaybackFinished
    | DigitPressed
    | TimerExpired
    | IdentityChecked
    | LookupDone
    | RecordingDone
    | VoicemailSaved
    | CallbackBooked
)


class UnexpectedEvent(Exception):
    """An event the current state does not expect (logged with the call id, never ignored)."""
