"""Reconnect delays: exponential, capped, with jitter so many controllers don't stampede."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays before reconnect attempts; reset after a connection that proved stable."""

    initial: float = 0.2
    factor: float = 2.0
    cap: float = 10.0
    jitter: float = 0.1
    stable_after: float = 5.0
    rng: random.Random = field(default_factory=random.Random)
    _attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; grows until the cap."""
        base = min(self.cap, self.initial * self.factor**self._attempt)
        self._attempt += 1
        return max(0.0, base * (1 + self.rng.uniform(-self.jitter, self.jitter)))

    def connected_for(self, seconds: float) -> None:
        """Report how long the last connection lasted; a stable one resets the delays."""
        if seconds >= self.stable_after:
            self._attempt = 0
