"""When the supervisor starts a part again after it died: backoff, and crash loops slowed.

Pure: the caller passes the clock. A part that keeps dying is never restarted in a tight
loop; one that ran long enough is forgiven and restarts at once again next time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from hotline.telephony.backoff import Backoff


@dataclass(frozen=True)
class RestartDecision:
    """What to do after an exit: wait `delay` seconds, then start again."""

    delay: float
    crash_loop: bool
    exits_in_window: int


def _default_backoff() -> Backoff:
    # The first restart is almost immediate: an Asterisk crash must be repaired in seconds.
    return Backoff(initial=0.2, factor=2.0, cap=10.0, jitter=0.1, stable_after=30.0)


@dataclass
class RestartPolicy:
    """Delays between restarts of one part.

    Each exit waits the next backoff delay; a run that lasted `backoff.stable_after`
    seconds resets the delays. `loop_exits` exits within `loop_window` seconds is a crash
    loop: reported, and every restart then waits at least `loop_delay`, until a run lasts
    `backoff.stable_after` seconds again.
    """

    backoff: Backoff = field(default_factory=_default_backoff)
    loop_window: float = 60.0
    loop_exits: int = 5
    loop_delay: float = 30.0
    _exits: deque[float] = field(default_factory=deque)
    _looping: bool = False

    def after_exit(self, now: float, ran_for: float) -> RestartDecision:
        """The part exited at `now` after running `ran_for` seconds: how long to wait."""
        self.backoff.connected_for(ran_for)
        if ran_for >= self.backoff.stable_after:
            self._exits.clear()  # it had recovered: an old loop is over
            self._looping = False
        self._exits.append(now)
        while self._exits and self._exits[0] < now - self.loop_window:
            self._exits.popleft()
        delay = self.backoff.next_delay()
        # Once looping, slower restarts spread the exits out of the window: stay slow anyway.
        self._looping = self._looping or len(self._exits) >= self.loop_exits
        if self._looping:
            delay = max(delay, self.loop_delay)
        return RestartDecision(
            delay=delay, crash_loop=self._looping, exits_in_window=len(self._exits)
        )
