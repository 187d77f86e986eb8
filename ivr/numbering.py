"""Which numbers the center may dial back: its numbering plan, never premium or abroad.

A callback number typed by a caller is dialled automatically through the carrier trunk, so
an open plan would let anyone make the center call premium-rate or international numbers
(toll fraud) or ring a stranger again and again (harassment).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Mainland mobile (11 digits, 13x–19x); fixed line with its area code (0 + 2–3 digits +
# 7–8 digits; 00 is the international prefix); a local fixed line (7–8 digits, 2–8 first).
# Short service numbers (95xxx, 10xxx), 400/800 numbers and 00… are outside all three.
DEFAULT_PATTERNS = ("1[3-9][0-9]{9}", "0[1-9][0-9]{8,10}", "[2-8][0-9]{6,7}")


class NumberPlan(BaseModel):
    """Numbers accepted as callback numbers: each must match one pattern whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    patterns: tuple[str, ...] = Field(default=DEFAULT_PATTERNS, min_length=1)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a regular expression: {exc}") from exc
        return patterns

    def allows(self, number: str) -> bool:
        """Whether the center may dial `number` back (digits only, whole match)."""
        return number.isdigit() and any(re.fullmatch(p, number) for p in self.patterns)
