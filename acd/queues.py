"""Queues that supervisors edit (dialplan/queues.yaml): skills, strategy, escalation, limits."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from acd.roster import Skill
from hotline.config_files import ConfigError, LocatedYaml
from ivr.hours import BusinessHours
from ivr.numbering import NumberPlan


class Strategy(StrEnum):
    """How the router picks among qualified ready agents."""

    best_skill = "best_skill"  # highest level, then longest idle (the default)
    longest_idle = "longest_idle"
    fewest_calls = "fewest_calls"
    round_robin = "round_robin"
    ring_all = "ring_all"  # every qualified ready phone rings; first to answer takes it


class Step(BaseModel):
    """After `after` seconds of waiting: accept lower levels, and/or move to another queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    after: float = Field(gt=0)
    min_level: int | None = Field(default=None, ge=1, le=5)
    overflow_to: str | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Step:
        if self.min_level is None and self.overflow_to is None:
            raise ValueError("a step needs min_level or overflow_to")
        return self


class QueueSpec(BaseModel):
    """One queue (a line of business)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skill: Skill | None = Field(default=None, description="None: any logged-in agent")
    min_level: int = Field(default=1, ge=1, le=5)
    strategy: Strategy = Strategy.best_skill
    steps: list[Step] = Field(default_factory=list)
    ring_seconds: float = Field(default=15, gt=0, le=120)
    wrapup_seconds: float = Field(default=10, ge=0, le=600)
    max_wait_seconds: float = Field(default=600, gt=0)
    max_waiting: int = Field(default=50, ge=1)
    announce_every_seconds: float = Field(default=30, gt=0)
    # Before the caller is put through, the agent hears this queue's name and the wait.
    whisper: bool = False
    # An agent consulting this queue (** then a key of `transfers`) waits this long for an
    # expert to answer; then they are told no expert is free and are back with the caller.
    consult_timeout: float = Field(default=30, gt=0, le=300)
    # At max_wait_seconds: book a callback in the caller's place (when callbacks are enabled),
    # or take a voice message.
    on_max_wait: Literal["callback", "voicemail"] = "callback"
    # A booked callback must be made by the end of the staffed hours of this many working
    # days after the booking (0: today); after that it becomes a voice message to answer.
    callback_within_days: int = Field(default=1, ge=0, le=15)
    # A duty roster of hours.yaml (`duty:`): outside it nobody takes transfers to this queue
    # (expert seats off duty); None: the queue follows the center's staffed hours.
    duty: str | None = None

    @model_validator(mode="after")
    def _steps_in_order(self) -> QueueSpec:
        afters = [s.after for s in self.steps]
        if afters != sorted(afters):
            raise ValueError("steps must be in order of `after`")
        return self


class Priorities(BaseModel):
    """Added to a call's priority; FIFO within equal priority."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    senior: int = 10  # caller 60 or older (from the verified ID)
    callback: int = 20  # a returning virtual-hold callback
    repeat: int = 5  # called within the last 24 hours
    senior_age: int = 60


class CallbackPolicy(BaseModel):
    """Virtual hold: a waiting caller presses `key`, hangs up and keeps their place."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    key: str = Field(default="1", pattern=r"^[0-9*#]$")
    offer_every_seconds: float = Field(default=60, gt=0, description="offer with the position")
    ring_seconds: float = Field(default=30, gt=0, le=120)
    attempts: int = Field(default=3, ge=1, le=10)
    retry_after_seconds: float = Field(default=120, ge=0)
    # At most one pending callback per number, and this many bookings per number a day.
    max_per_number_per_day: int = Field(default=3, ge=1)
    # Numbers the center dials back (a toll-fraud and harassment guard): regexes, whole match.
    numbers: NumberPlan = Field(default_factory=NumberPlan)


class HotDeskPolicy(BaseModel):
    """Wrong PINs for *61 工号*PIN before that agent's PIN (or that phone) is locked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lock_after: int = Field(default=3, ge=1, le=10)
    lock_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)


class OutsideNumber(BaseModel):
    """Another department's number, reached by blind transfer through the trunk."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(pattern=r"^[0-9]{3,20}$")
    key: str | None = Field(default=None, description="* then this key on the desk phone")
    ring_seconds: int = Field(default=30, ge=5, le=120)


class QueuesConfig(BaseModel):
    """All queues."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queues: dict[str, QueueSpec]
    priorities: Priorities = Field(default_factory=Priorities)
    greet_with_agent_number: bool = True  # "工号1024为您服务"
    callback: CallbackPolicy = Field(default_factory=CallbackPolicy)
    # An agent on a call presses * and a key to hand the caller to that queue (expert seats),
    # or * * and the key to consult it first (acd/consult.py).
    transfers: dict[str, str] = Field(default_factory=dict)
    # Other departments an agent hands the caller to through the trunk (blind): name -> number.
    outside: dict[str, OutsideNumber] = Field(default_factory=dict)
    hot_desk: HotDeskPolicy = Field(default_factory=HotDeskPolicy)
    # Pause reason codes for the desk phone: *63 then the code (*63 alone: the first one).
    pause_reasons: dict[str, str] = Field(
        default_factory=lambda: {
            "1": "break",
            "2": "meeting",
            "3": "training",
            "4": "meal",
            "5": "after_call_work",
        },
        min_length=1,
    )


def whisper_prompt(queue: str) -> str:
    """The prompt with a queue's name, which the agent hears before the caller."""
    return f"queue-name-{queue}"


def on_duty(spec: QueueSpec | None, hours: BusinessHours | None, now: float) -> bool:
    """Whether a queue's duty roster is on at `now` (a queue without one always is)."""
    if spec is None or spec.duty is None or hours is None:
        return True
    return hours.on_duty(spec.duty, dt.datetime.fromtimestamp(now, dt.UTC))


def load_queues(
    config_dir: Path, prompts: set[str] | None = None, duties: set[str] | None = None
) -> QueuesConfig:
    """Read and check `queues.yaml` (and, given the prompt ids, that whispers can be said;
    given hours.yaml's duty rosters, that each queue's `duty` is one of them)."""
    doc = LocatedYaml(config_dir / "queues.yaml")
    config = doc.validate(QueuesConfig)
    problems = []
    for name, spec in config.queues.items():
        if spec.duty is not None and duties is not None and spec.duty not in duties:
            problems.append(
                doc.problem(("queues", name, "duty"), f"no duty roster {spec.duty!r} in hours.yaml")
            )
    for name, spec in config.queues.items():
        if spec.whisper and prompts is not None and whisper_prompt(name) not in prompts:
            problems.append(
                doc.problem(
                    ("queues", name, "whisper"),
                    f"no prompt {whisper_prompt(name)!r} in sounds/prompts.yaml",
                )
            )
    for key, target in config.transfers.items():
        if target not in config.queues:
            problems.append(doc.problem(("transfers", key), f"unknown queue {target!r}"))
        if len(key) != 1 or key not in "123456789#":
            # `*` `0` is the agent's: cancel a consult, or a work order after one.
            problems.append(doc.problem(("transfers", key), "a transfer key is 1-9 or #"))
    taken: dict[str, str] = {}
    for name, dest in config.outside.items():
        where = ("outside", name, "key")
        if not re.fullmatch(r"[a-z0-9_]{1,16}", name):
            problems.append(doc.problem(("outside", name), "a name of a-z, 0-9 and _ (16 at most)"))
        if dest.key is not None and (len(dest.key) != 1 or dest.key not in "123456789#"):
            problems.append(doc.problem(where, "a transfer key is 1-9 or #"))
        elif dest.key is not None and dest.key in config.transfers:
            problems.append(doc.problem(where, f"key {dest.key!r} is a queue's in `transfers`"))
        elif dest.key is not None and dest.key in taken:
            problems.append(doc.problem(where, f"key {dest.key!r} is {taken[dest.key]!r}'s too"))
        if dest.key is not None:
            taken.setdefault(dest.key, name)
    for name, spec in config.queues.items():
        for i, step in enumerate(spec.steps):
            if step.overflow_to is not None and step.overflow_to not in config.queues:
                problems.append(
                    doc.problem(
                        ("queues", name, "steps", i, "overflow_to"),
                        f"unknown queue {step.overflow_to!r}",
                    )
                )
    if problems:
        raise ConfigError(problems)
    return config
