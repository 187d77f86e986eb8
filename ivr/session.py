"""One caller's walk through the menu: a pure state machine, events in, actions out."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.menu import Menu, Node


# --- actions (decisions for the telephony adapter)
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
    """The caller entered a menu node (recorded as the IVR path)."""

    node: str


@dataclass(frozen=True)
class EnterQueue:
    """Hand the caller to a queue for a person."""

    queue: str


@dataclass(frozen=True)
class Hangup:
    """End the call from our side."""

    disposition: str


Action = Play | StopPlayback | StartTimer | Visit | EnterQueue | Hangup


# --- events (from the telephony adapter)
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


Event = PlaybackFinished | DigitPressed | TimerExpired


class UnexpectedEvent(Exception):
    """An event the current state does not expect (logged with the call id, never ignored)."""


@dataclass
class MenuSession:
    """Where one caller is in the menu. `is_open` says whether people answer right now."""

    menu: Menu
    language: str = "zh"
    is_open: bool = True
    node: str = ""
    phase: str = "new"  # new | intro | prompt | waiting | ending | done
    failures: int = 0
    playback: str | None = None
    timer: str | None = None
    _seq: int = 0
    path: list[str] = field(default_factory=list)

    def _id(self, kind: str) -> str:
        self._seq += 1
        return f"{kind}{self._seq}"

    def _current(self) -> Node:
        return self.menu.nodes[self.node]

    def start(self, node: str | None = None) -> list[Action]:
        """Begin (or, after a controller restart, resume at node)."""
        if node is not None and node in self.menu.nodes:
            return self._enter(node)
        if self.menu.intro:
            self.phase = "intro"
            return self._play(tuple(self.menu.intro), barge_in=True)
        return self._enter(self.menu.start)

    def _play(self, prompts: tuple[str, ...], barge_in: bool) -> list[Action]:
        self.playback = self._id("pb")
        self.timer = None
        return [Play(self.playback, prompts, self.language, barge_in)]

    def _enter(self, node: str, count_visit: bool = True) -> list[Action]:
        self.node = node
        self.phase = "prompt"
        actions: list[Action] = []
        if count_visit:
            self.failures = 0
            self.path.append(node)
            actions.append(Visit(node))
        return actions + self._play(tuple(self._current().prompt), barge_in=True)

    def _wait_for_key(self) -> list[Action]:
        node = self._current()
        if not node.options:
            return self._enter(node.next) if node.next else self._goodbye("self_service")
        self.phase = "waiting"
        self.timer = self._id("t")
        return [StartTimer(self.timer, node.timeout)]

    def _goodbye(self, disposition: str) -> list[Action]:
        self.phase = "ending"
        self._disposition = disposition
        return self._play(("goodbye",), barge_in=False)

    def _to_person(self, queue: str) -> list[Action]:
        self.phase = "done"
        self.playback = None
        self.timer = None
        return [EnterQueue(queue)]

    def _failed(self, prompt: str) -> list[Action]:
        self.failures += 1
        if self.failures >= self._current().retries:
            if self.is_open:
                return self._to_person(self.menu.operator_queue)
            return self._goodbye("self_service")
        self.phase = "prompt"
        return self._play((prompt, *self._current().prompt), barge_in=True)

    def handle(self, event: Event) -> list[Action]:
        """Feed one event; returns what to do next."""
        if self.phase == "done":
            return []
        match event:
            case PlaybackFinished(playback_id=pid):
                if pid != self.playback:
                    return []  # an earlier playback we already moved past (stopped by a key)
                self.playback = None
                if self.phase == "intro":
                    return self._enter(self.menu.start)
                if self.phase == "prompt":
                    return self._wait_for_key()
                if self.phase == "ending":
                    self.phase = "done"
                    return [Hangup(self._disposition)]
                raise UnexpectedEvent(f"playback finished in phase {self.phase}")
            case DigitPressed(digit=digit):
                return self._key(digit)
            case TimerExpired(token=token):
                if token != self.timer or self.phase != "waiting":
                    return []
                self.timer = None
                return self._failed("no-input")
        raise UnexpectedEvent(f"unknown event {event!r}")

    def _key(self, digit: str) -> list[Action]:
        actions: list[Action] = []
        if self.phase in ("intro", "prompt") and self.playback is not None:
            actions.append(StopPlayback(self.playback))
            self.playback = None
        elif self.phase == "ending":
            return []
        if self.phase == "intro":
            return actions + self._enter(self.menu.start)
        self.timer = None
        option = self._current().options.get(digit)
        if option is None:
            return actions + self._failed("invalid-key")
        if option.language is not None:
            self.language = option.language
        if option.goto is not None:
            return actions + self._enter(option.goto)
        if option.queue is not None:
            return actions + self._to_person(option.queue)
        return actions + self._goodbye("self_service")

    _disposition: str = "self_service"
