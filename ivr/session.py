"""One caller's walk through the menu and its self-service steps: a pure state machine.

Events in (keys, playbacks finished, timers, results of look-ups), actions out; it never
waits on anything. The telephony adapter (hotline/callflow.py) carries the actions out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr import resident_id
from ivr.actions import (
    Action,
    CallbackBooked,
    DigitPressed,
    DiscardRecording,
    EnterQueue,
    Event,
    Hangup,
    IdentityChecked,
    Lookup,
    LookupDone,
    Play,
    PlaybackFinished,
    RecordingDone,
    RequestCallback,
    ResumeWaiting,
    SaveVoicemail,
    StartRecording,
    StartTimer,
    StopPlayback,
    TimerExpired,
    TransferOut,
    UnexpectedEvent,
    VerifyIdentity,
    Visit,
    VoicemailSaved,
)
from ivr.menu import Menu, Node, Option
from ivr.numbering import NumberPlan
from ivr.readout import readout
from ivr.speech import digits as read_digits

IDENTIFIED_SERVICES = ("pension", "medical", "payment", "card")
PLAYING = ("intro", "prompt", "ask", "telling", "confirm_ask", "record_intro", "ending")


@dataclass
class Entry:
    """Digits being collected for one purpose (id, password, case)."""

    purpose: str
    prompt: str
    length: int  # exact length, or the maximum when `exact` is False
    exact: bool
    buffer: str = ""
    tries: int = 0


@dataclass
class MenuSession:
    """Where one caller is. `is_open`: whether people answer right now."""

    menu: Menu
    language: str = "zh"
    is_open: bool = True
    caller_number: str = ""
    node: str = ""
    phase: str = "new"
    failures: int = 0
    playback: str | None = None
    timer: str | None = None
    path: list[str] = field(default_factory=list)
    disposition: str = "self_service"
    verified_id: str | None = None
    service: str | None = None
    then: str = ""
    entry: Entry | None = None
    pending_id: str = ""
    recording: str | None = None
    recorded_seconds: float = 0.0
    confirm_tries: int = 0
    # Callers end a full-length entry with # out of habit; that # must not act as a new key.
    swallow_hash: bool = False
    callback_numbers: NumberPlan = field(default_factory=NumberPlan)
    _seq: int = 0

    # --- plumbing
    def _id(self, kind: str) -> str:
        self._seq += 1
        return f"{kind}{self._seq}"

    def _current(self) -> Node:
        return self.menu.nodes[self.node]

    def _play(self, prompts: tuple[str, ...], phase: str, barge_in: bool = True) -> list[Action]:
        self.phase = phase
        self.playback = self._id("pb")
        self.timer = None
        return [Play(self.playback, prompts, self.language, barge_in)]

    def _wait(self, phase: str, seconds: float) -> list[Action]:
        self.phase = phase
        self.timer = self._id("t")
        return [StartTimer(self.timer, seconds)]

    def _stop_playing(self) -> list[Action]:
        if self.playback is None:
            return []
        stop: list[Action] = [StopPlayback(self.playback)]
        self.playback = None
        return stop

    def hand_over(self) -> list[Action]:
        """A person takes the caller now (a callback's turn came before they hung up)."""
        self.phase = "done"
        self.timer = None
        return self._stop_playing()

    @property
    def collecting_secret(self) -> bool:
        """Keys now are part of an ID number, password or case number: never log them."""
        return self.entry is not None and self.phase in ("ask", "collecting")

    # --- menu
    def start(self, node: str | None = None) -> list[Action]:
        """Begin (or, after a controller restart, resume at node)."""
        if node is not None and node in self.menu.nodes:
            return self._enter(node)
        if self.menu.intro:
            return self._play(tuple(self.menu.intro), "intro")
        return self._enter(self.menu.start)

    def _enter(self, node: str) -> list[Action]:
        self.node = node
        self.failures = 0
        self.path.append(node)
        return [Visit(node), *self._play(tuple(self._current().prompt), "prompt")]

    def _wait_for_key(self) -> list[Action]:
        node = self._current()
        if not node.options:
            return self._enter(node.next) if node.next else self._goodbye("self_service")
        return self._wait("waiting", node.timeout)

    def _goodbye(self, disposition: str) -> list[Action]:
        self.disposition = disposition
        return self._play(("goodbye",), "ending", barge_in=False)

    def refuse(self, disposition: str) -> list[Action]:
        """The center takes no more calls: say that all lines are busy, in the caller's
        language and then in the other (nobody has chosen one yet), and hang up as busy.
        Played before any answer (early media): the caller is not charged for a refusal."""
        self.disposition = disposition
        return self._play(("lines-busy",), "refusing", barge_in=False)

    def _to_person(self, queue: str) -> list[Action]:
        if not self.is_open:
            # Nobody answers now: say when people do, and take a message instead.
            return self.overflow_to_voicemail("fallback-closed")
        self.phase = "done"
        self.playback = None
        self.timer = None
        self.disposition = "queued"
        return [EnterQueue(queue)]

    def _failed(self, prompt: str) -> list[Action]:
        self.failures += 1
        if self.failures >= self._current().retries:
            if self.is_open:
                return self._to_person(self.menu.operator_queue)
            return self._goodbye("self_service")
        return self._play((prompt, *self._current().prompt), "prompt")

    def _choose(self, digit: str) -> list[Action]:
        option = self._current().options.get(digit)
        if option is None:
            return self._failed("invalid-key")
        if option.language is not None:
            self.language = option.language
        if option.goto is not None:
            return self._enter(option.goto)
        if option.queue is not None:
            return self._to_person(option.queue)
        if option.service is not None:
            return self._start_service(option)
        if option.transfer is not None:
            self.phase = "done"
            self.playback = None
            self.disposition = "transferred"
            return [TransferOut(option.transfer)]
        return self._goodbye("self_service")

    # --- events
    def handle(self, event: Event) -> list[Action]:
        """Feed one event; returns what to do next."""
        if self.phase == "done":
            return []
        match event:
            case PlaybackFinished(playback_id=pid):
                if pid != self.playback:
                    return []  # an earlier playback we moved past (a key stopped it)
                self.playback = None
                return self._played()
            case DigitPressed(digit=digit):
                return self._key(digit)
            case TimerExpired(token=token):
                if token != self.timer:
                    return []
                self.timer = None
                return self._timeout()
            case (
                IdentityChecked() | LookupDone() | RecordingDone() | VoicemailSaved()
            ) | CallbackBooked():
                if self.phase not in ("pending", "recording"):
                    raise UnexpectedEvent(f"{type(event).__name__} in phase {self.phase}")
                return self._result(event)
        raise UnexpectedEvent(f"unknown event {event!r}")

    def _played(self) -> list[Action]:
        phase = self.phase
        if phase == "intro":
            return self._enter(self.menu.start)
        if phase == "prompt":
            return self._wait_for_key()
        if phase == "ask":
            return self._wait("collecting", self.menu.selfservice.digit_timeout)
        if phase == "telling":
            return self._after_service()
        if phase == "confirm_ask":
            return self._wait("confirm_wait", self.menu.selfservice.digit_timeout)
        if phase == "callback_ask":
            return self._wait("callback_wait", self.menu.selfservice.digit_timeout)
        if phase == "record_intro":
            self.phase = "recording"
            self.recording = self._id("vm")
            return [StartRecording(self.recording, self.menu.selfservice.voicemail_max_seconds)]
        if phase == "ending":
            self.phase = "done"
            return [Hangup(self.disposition)]
        if phase == "refusing":
            self.phase = "refused"
            self.playback = self._id("pb")
            other = "en" if self.language == "zh" else "zh"
            return [Play(self.playback, ("lines-busy",), other, barge_in=False)]
        if phase == "refused":
            self.phase = "done"
            return [Hangup(self.disposition, cause="busy")]
        if phase == "resuming":
            return self._back_to_queue()
        raise UnexpectedEvent(f"playback finished in phase {phase}")

    def _key(self, digit: str) -> list[Action]:
        if self.swallow_hash:
            self.swallow_hash = False
            if digit == "#":
                return []
        phase = self.phase
        if phase in (
            "pending",
            "recording",
            "record_intro",
            "ending",
            "resuming",
            "refusing",
            "refused",
        ):
            return []  # keys mean nothing while we wait on the system or say goodbye
        actions = self._stop_playing()
        self.timer = None
        if phase == "intro":
            self.node = self.menu.start
            self.path.append(self.node)
            return [*actions, Visit(self.node), *self._choose(digit)]
        if phase in ("prompt", "waiting"):
            return actions + self._choose(digit)
        if phase in ("ask", "collecting"):
            return actions + self._entry_key(digit)
        if phase == "telling":
            return actions + self._after_service()
        if phase in ("confirm_ask", "confirm_wait"):
            return actions + self._confirm(digit)
        if phase in ("callback_ask", "callback_wait"):
            return actions + self._callback_key(digit)
        raise UnexpectedEvent(f"key in phase {phase}")

    def _timeout(self) -> list[Action]:
        if self.phase == "waiting":
            return self._failed("no-input")
        if self.phase == "collecting":
            entry = self.entry
            assert entry is not None
            if entry.buffer and not entry.exact:
                return self._entry_done()
            return self._entry_retry("no-input")
        if self.phase == "confirm_wait":
            return self._confirm("")
        if self.phase == "callback_wait":
            return self._callback_key("")  # silence keeps the calling number
        return []

    def overflow_to_voicemail(self, why: str = "queue-overflow") -> list[Action]:
        """No person can take the call now: say why (a prompt) and offer a voice message."""
        self.service = "voicemail"
        self.then = self.menu.start
        self.path.append("svc:voicemail")
        return [
            Visit("svc:voicemail", resumable=False),
            *self._play((why, "voicemail-intro"), "record_intro", False),
        ]

    # --- self-service
    def _start_service(self, option: Option) -> list[Action]:
        service = option.service
        assert service is not None
        self.service = service
        self.then = option.then or self.node
        visit: list[Action] = [Visit(f"svc:{service}", resumable=False)]
        self.path.append(f"svc:{service}")
        if service in IDENTIFIED_SERVICES:
            if self.verified_id is not None:
                return visit + self._pending(Lookup(service, self.verified_id))
            return visit + self._ask(Entry("id", "enter-id", 18, exact=True))
        if service == "case":
            return visit + self._ask(Entry("case", "enter-case", 20, exact=False))
        if service == "referral":
            prompts: list[str] = ["referral-intro"]
            for referral in self.menu.referrals:
                prompts += [referral.prompt, *read_digits(referral.number)]
            return visit + self._play(tuple(prompts), "telling")
        return visit + self._play(("voicemail-intro",), "record_intro", barge_in=False)

    def _ask(self, entry: Entry, before: tuple[str, ...] = ()) -> list[Action]:
        self.entry = entry
        entry.buffer = ""
        return self._play((*before, entry.prompt), "ask")

    def _entry_key(self, digit: str) -> list[Action]:
        entry = self.entry
        assert entry is not None
        if digit == "#":
            return self._entry_done()
        if digit == "*" and entry.purpose == "callback":
            if self.service == "queue_callback":
                return self._back_to_queue()  # changed their mind: keep waiting
            return []  # no letters in a phone number; keep collecting
        if digit == "*" and entry.purpose != "id":
            return self._after_service()  # `*` leaves the service
        entry.buffer += digit
        if len(entry.buffer) >= entry.length:
            self.swallow_hash = True
            return self._entry_done()
        return self._wait("collecting", self.menu.selfservice.digit_timeout)

    def _entry_retry(self, prompt: str) -> list[Action]:
        entry = self.entry
        assert entry is not None
        entry.tries += 1
        if entry.tries >= self.menu.selfservice.entry_retries:
            if self.service == "queue_callback":
                return self._back_to_queue()
            if entry.purpose == "callback":  # a voice message: the calling number stands
                self.entry = None
                return self._save("")
            return self._tell(("service-unavailable",) if prompt == "unavailable" else ())
        return self._ask(entry, before=(prompt,))

    def _entry_done(self) -> list[Action]:
        entry = self.entry
        assert entry is not None
        if entry.purpose == "id":
            try:
                self.pending_id = resident_id.validate(resident_id.from_keypad(entry.buffer))
            except resident_id.InvalidResidentId:
                return self._entry_retry("id-invalid")
            return self._ask(Entry("password", "enter-password", 6, exact=True))
        if entry.purpose == "password":
            if len(entry.buffer) != 6 or not entry.buffer.isdigit():
                return self._entry_retry("password-wrong")
            return self._pending(VerifyIdentity(self.pending_id, entry.buffer))
        if not entry.buffer:
            return self._entry_retry("no-input")
        if entry.purpose == "callback":
            if not self.callback_numbers.allows(entry.buffer):
                return self._entry_retry("callback-invalid")
            self.entry = None
            return self._save(entry.buffer)
        return self._pending(Lookup("case", entry.buffer))

    def _pending(self, action: Action) -> list[Action]:
        self.phase = "pending"
        self.timer = None
        return [action]

    def _tell(self, prompts: tuple[str, ...]) -> list[Action]:
        self.entry = None
        if not prompts:
            return self._after_service()
        return self._play(prompts, "telling")

    def _after_service(self) -> list[Action]:
        self.service = None
        self.entry = None
        return self._enter(self.then or self.menu.start)

    def _result(self, event: Event) -> list[Action]:
        match event:
            case IdentityChecked(outcome="ok"):
                self.verified_id = self.pending_id
                assert self.service is not None
                return self._pending(Lookup(self.service, self.pending_id))
            case IdentityChecked(outcome="wrong" | "unknown"):
                # An ID with no record sounds exactly like a wrong password: a different
                # answer would tell any caller whether someone's ID number is on file.
                entry = self.entry
                assert entry is not None and entry.purpose == "password"
                return self._entry_retry("password-wrong")
            case IdentityChecked(outcome="locked"):
                return self._tell(("id-locked",))
            case IdentityChecked():
                return self._tell(("service-unavailable",))
            case LookupDone(service=service, data=data, ok=ok):
                if not ok:
                    return self._tell(("service-unavailable",))
                if data is None:
                    return self._tell(("no-record",))
                return self._tell(readout(service, data))
            case RecordingDone(name=name, seconds=seconds, ok=ok):
                if not ok or seconds < 1:
                    return [DiscardRecording(name), *self._tell(("voicemail-too-short",))]
                self.recorded_seconds = seconds
                self.confirm_tries = 0
                return self._play(("voicemail-confirm",), "confirm_ask")
            case VoicemailSaved(ok=ok):
                self.recording = None
                return self._tell(("voicemail-saved",) if ok else ("service-unavailable",))
            case CallbackBooked(outcome="booked"):
                self.disposition = "callback"
                return self._play(("callback-registered",), "ending", barge_in=False)
            case CallbackBooked(outcome="exists"):
                self.disposition = "callback_duplicate"
                return self._play(("callback-exists",), "ending", barge_in=False)
            case CallbackBooked():
                return self._play(("callback-limit",), "resuming", barge_in=False)
        raise UnexpectedEvent(f"unexpected result {event!r}")

    def _ask_callback(self, before: tuple[str, ...] = ()) -> list[Action]:
        """回电号码: the calling number unless the caller gives another one (or it is not a
        number the center may dial)."""
        if not self.callback_numbers.allows(self.caller_number):
            return self._ask(Entry("callback", "enter-callback", 20, exact=False), before)
        self.confirm_tries = 0
        number = ("callback-number", *read_digits(self.caller_number), "callback-confirm")
        return self._play((*before, *number), "callback_ask")

    def _callback_key(self, digit: str) -> list[Action]:
        if digit in ("1", ""):
            return self._save(self.caller_number)
        if digit == "2":
            return self._ask(Entry("callback", "enter-callback", 20, exact=False))
        return self._ask_callback()

    def ask_queue_callback(self, before: tuple[str, ...] = ()) -> list[Action]:
        """A caller waiting for a person pressed the callback key (or waited too long):
        which number to call back; `before`: prompts that say why."""
        self.service = "queue_callback"
        self.path.append("svc:queue_callback")
        return [Visit("svc:queue_callback", resumable=False), *self._ask_callback(before)]

    def _back_to_queue(self) -> list[Action]:
        """No callback after all: the caller waits on the line, in the place they had."""
        self.service = None
        self.entry = None
        self.phase = "done"
        self.playback = None
        self.timer = None
        self.disposition = "queued"
        return [ResumeWaiting()]

    def _save(self, callback_number: str) -> list[Action]:
        if self.service == "queue_callback":
            self.entry = None
            return self._pending(RequestCallback(callback_number))
        assert self.recording is not None
        self.disposition = "voicemail"
        return self._pending(SaveVoicemail(self.recording, self.recorded_seconds, callback_number))

    def _confirm(self, digit: str) -> list[Action]:
        assert self.recording is not None
        if digit == "1" or (digit == "" and self.confirm_tries >= 2):
            return self._ask_callback()
        if digit == "2":
            old = self.recording
            return [DiscardRecording(old), *self._play(("voicemail-intro",), "record_intro", False)]
        if digit == "3":
            old = self.recording
            self.recording = None
            return [DiscardRecording(old), *self._tell(("voicemail-cancelled",))]
        self.confirm_tries += 1
        return self._play(("voicemail-confirm",), "confirm_ask")
