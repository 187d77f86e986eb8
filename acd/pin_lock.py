"""Hot-desking PINs (*61 工号*PIN): a limit on wrong guesses, like the self-service password.

A 6-digit PIN falls to guessing unless wrong attempts are limited. Failures are counted per
agent (someone guessing one agent's PIN) and per desk phone (someone at one phone trying
many agents' numbers); either reaching `lock_after` within `lock_minutes` locks that agent's
PIN, or PIN logins from that phone, for `lock_minutes`. While locked even the right PIN is
refused, so a lock cannot be used to confirm a guess. An agent can still log in at their own
phone with *61 alone (the phone's account identifies them; no PIN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PinOutcome = Literal["ok", "wrong", "locked"]


@dataclass
class _Tally:
    failures: list[float] = field(default_factory=list)  # times of recent wrong attempts
    locked_until: float = 0.0


@dataclass
class PinLock:
    """Counts wrong PINs per agent and per phone; pure, the caller gives the time."""

    lock_after: int = 3
    lock_minutes: float = 30
    _tallies: dict[tuple[str, str], _Tally] = field(default_factory=dict)

    def attempt(self, *, agent: str | None, phone: str, correct: bool, now: float) -> PinOutcome:
        """Record one *61 工号*PIN attempt; `ok` only if the PIN is right and nothing is locked.

        `agent` is None for a 工号 that is no agent's: only the phone counts it (so keying
        made-up numbers cannot grow the table).
        """
        self._forget_expired(now)
        keys: list[tuple[str, str]] = [("phone", phone)]
        if agent is not None:
            keys.insert(0, ("agent", agent))
        if any(self._locked_until(key, now) for key in keys):
            return "locked"
        if correct and agent is not None:
            # Only the agent knows their PIN, so a success clears their own count; the
            # phone's count stays, or one known PIN would let a phone guess forever.
            self._tallies.pop(("agent", agent), None)
            return "ok"
        outcome: PinOutcome = "wrong"
        window = self.lock_minutes * 60
        for key in keys:
            tally = self._tallies.setdefault(key, _Tally())
            tally.failures = [t for t in tally.failures if now - t < window] + [now]
            if len(tally.failures) >= self.lock_after:
                tally.locked_until = now + window
                tally.failures = []
                outcome = "locked"
        return outcome

    def locked_until(self, kind: Literal["agent", "phone"], name: str, now: float) -> float:
        """When the lock on this agent's PIN or this phone ends; 0.0 if not locked."""
        return self._locked_until((kind, name), now)

    def _locked_until(self, key: tuple[str, str], now: float) -> float:
        tally = self._tallies.get(key)
        if tally is None or tally.locked_until <= now:
            return 0.0
        return tally.locked_until

    def _forget_expired(self, now: float) -> None:
        window = self.lock_minutes * 60
        for key, tally in list(self._tallies.items()):
            if tally.locked_until <= now and all(now - t >= window for t in tally.failures):
                del self._tallies[key]

    def reconfigure(self, lock_after: int, lock_minutes: float) -> None:
        """New limits from `config apply`; counts and locks in progress are kept."""
        self.lock_after, self.lock_minutes = lock_after, lock_minutes
