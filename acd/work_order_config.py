"""`dialplan/work_orders.yaml`: deadlines by type and the responsible offices."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from acd.order_calls import FollowUpPolicy
from acd.work_orders import KIND_DAYS, DeadlinePolicy
from hotline.config_files import ConfigError, LocatedYaml

OFFICE_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


class Office(BaseModel):
    """An office that answers work orders; the prompt is its name, read by the voice menu."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    prompt: str


class FollowUp(BaseModel):
    """The follow-up call after an order is answered (acd/order_calls.FollowUpPolicy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    after_minutes: float = Field(default=60, ge=0, le=7 * 24 * 60)
    without_callback_hours: float = Field(default=24, ge=0, le=30 * 24)
    attempts: int = Field(default=3, ge=1, le=10)
    retry_after_minutes: float = Field(default=120, ge=0, le=7 * 24 * 60)
    ring_seconds: int = Field(default=30, ge=5, le=120)

    def policy(self) -> FollowUpPolicy:
        """The pure core's rules."""
        return FollowUpPolicy(**self.model_dump())


class WorkOrdersConfig(BaseModel):
    """Working days per type, the near-due warning, the offices by code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deadlines: dict[str, int] = Field(default_factory=lambda: dict(KIND_DAYS))
    near_due_working_days: int = Field(default=1, ge=0, le=30)
    offices: dict[str, Office] = Field(default_factory=dict)
    follow_up: FollowUp = Field(default_factory=FollowUp)

    @field_validator("deadlines")
    @classmethod
    def _days(cls, deadlines: dict[str, int]) -> dict[str, int]:
        for kind, days in deadlines.items():
            if not 1 <= days <= 250:
                raise ValueError(f"{kind}: between 1 and 250 working days")
        if "voice_message" not in deadlines:
            raise ValueError("voice_message needs a deadline (voice messages are work orders)")
        return deadlines

    @field_validator("offices")
    @classmethod
    def _codes(cls, offices: dict[str, Office]) -> dict[str, Office]:
        for code in offices:
            if not OFFICE_CODE.fullmatch(code):
                raise ValueError(f"office code {code!r}: lower-case letters, digits and -")
        return offices

    def policy(self) -> DeadlinePolicy:
        """The deadline rules of the pure core."""
        return DeadlinePolicy(dict(self.deadlines), self.near_due_working_days)


def load_work_orders(config_dir: Path, prompts: set[str] | None = None) -> WorkOrdersConfig:
    """Read `work_orders.yaml` (defaults when absent) and check that office names can be said."""
    path = config_dir / "work_orders.yaml"
    if not path.exists():
        return WorkOrdersConfig()
    doc = LocatedYaml(path)
    config = doc.validate(WorkOrdersConfig)
    problems = [
        doc.problem(
            ("offices", code, "prompt"), f"no prompt {office.prompt!r} in sounds/prompts.yaml"
        )
        for code, office in config.offices.items()
        if prompts is not None and office.prompt not in prompts
    ]
    if problems:
        raise ConfigError(problems)
    return config
