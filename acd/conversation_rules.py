"""The small decisions of a conversation with the ACD, as pure functions.

What an ended offer means (busy, no answer...), what the agent hears before the caller, what a
waiting caller is told, how an agent's `*` + key is read, who goes first, and how a call ends
for the center when the caller hangs up. The shell (hotline/person_leg.py) only carries them out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from acd.queues import whisper_prompt
from ivr import resident_id
from ivr.speech import integer

# Q.850 causes of an agent phone that did not answer (0: ended without a cause, e.g. the ring
# timeout of the originate) and of one that was busy.
NO_ANSWER_CAUSES = frozenset({0, 16, 18, 19})
BUSY_CAUSES = frozenset({17})

OfferOutcome = Literal["lost", "busy", "no_answer", "unreachable"]


def offer_outcome(cause: int, lost: bool = False) -> OfferOutcome:
    """Why an agent's ringing phone ended without the agent taking the call (`lost`: it ended
    while the controller was disconnected from Asterisk, so how is not known)."""
    if lost:
        return "lost"
    if cause in BUSY_CAUSES:
        return "busy"
    if cause in NO_ANSWER_CAUSES:
        return "no_answer"
    return "unreachable"


def whisper_prompts(queue: str, waited_seconds: float) -> tuple[str, ...]:
    """What the agent hears before the caller is put through: the queue and the wait."""
    minutes = max(1, round(waited_seconds / 60))
    return (whisper_prompt(queue), "whisper-waited", *integer(minutes), "minutes")


def announcement_prompts(position: int, wait_seconds: float, offer_callback: bool) -> list[str]:
    """What a waiting caller is told: their place and the expected wait (when known), and
    the callback offer."""
    prompts: list[str] = []
    if position:
        minutes = max(1, round(wait_seconds / 60))
        prompts += ["queue-position", *integer(position), "queue-position-unit"]
        prompts += ["queue-wait", *integer(minutes), "minutes"]
    if offer_callback:
        prompts.append("callback-offer")
    return prompts


@dataclass(frozen=True)
class AgentKeys:
    """The keys an agent pressed during a conversation: `*` then a key of `transfers`
    (queues.yaml) hands the caller to that queue; `*` `*` then the key consults it first
    (acd/consult.py). Any other key after `*` cancels it."""

    pending: str = ""

    def press(self, digit: str, transfers: dict[str, str]) -> tuple[AgentKeys, str | None]:
        """The keys after `digit`, and the queue to transfer to if the pair is complete."""
        if digit == "*":
            return AgentKeys("**" if self.pending == "*" else "*"), None
        if self.pending != "*":
            return AgentKeys(), None
        return AgentKeys(), transfers.get(digit)

    def consult_target(self, digit: str, transfers: dict[str, str]) -> str | None:
        """The queue to consult, if `digit` completes `*` `*` + key."""
        return transfers.get(digit) if self.pending == "**" and digit != "*" else None


def caller_priority(verified_id: str | None, today: dt.date, senior_age: int, bonus: int) -> int:
    """Seniors (from the verified ID's birth date) go first; FIFO within a priority."""
    if verified_id is None:
        return 0
    born = resident_id.birth_date(verified_id)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return bonus if age >= senior_age else 0


def repeat_priority(missed_callbacks: int, earlier_calls: int, callback: int, repeat: int) -> int:
    """Callers whose callback did not reach them, then callers who called within 24 hours,
    go ahead (their question is still open)."""
    if missed_callbacks:
        return callback
    return repeat if earlier_calls else 0


def disposition_when_caller_left(phase: str) -> str | None:
    """How the call ends for the center when the caller hangs up in `phase` (None: the
    phase does not settle it). Gone while the agent heard the whisper: never put through."""
    if phase in ("waiting", "arranging", "whisper"):
        return "abandoned"
    if phase in ("talking", "consulting", "three_way"):
        return "answered"
    return None
