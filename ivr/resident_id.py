"""The 18-digit resident identity number (GB 11643-1999): check digit and birth date."""

from __future__ import annotations

import datetime as dt

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


class InvalidResidentId(ValueError):
    """Not a valid resident ID number; the message is safe to log (no full number)."""


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def from_keypad(keys: str) -> str:
    """Keypad entry to ID text: `*` stands for X (the keypad has no letters)."""
    return keys.replace("*", "X")


def validate(text: str, today: dt.date | None = None) -> str:
    """Return the normalised ID (upper-case X) or raise InvalidResidentId."""
    value = text.strip().upper()
    if len(value) != 18:
        raise InvalidResidentId(f"an ID number has 18 characters, not {len(value)}")
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise InvalidResidentId("an ID number is 17 digits and a digit or X")
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidResidentId("the birth date in the ID number is not a date") from exc
    if born > (today or dt.date.today()) or born.year < 1900:
        raise InvalidResidentId("the birth date in the ID number is impossible")
    if check_digit(value[:17]) != value[17]:
        raise InvalidResidentId("the check digit does not match")
    return value


def birth_date(valid_id: str) -> dt.date:
    """Date of birth of a validated ID."""
    return dt.date(int(valid_id[6:10]), int(valid_id[10:12]), int(valid_id[12:14]))


def mask(valid_id: str) -> str:
    """First 6 and last 4 characters, the rest hidden."""
    return valid_id[:6] + "*" * (len(valid_id) - 10) + valid_id[-4:]
