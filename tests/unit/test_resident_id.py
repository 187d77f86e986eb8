"""GB 11643 resident ID numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.resident_id import InvalidResidentId, check_digit, from_keypad, mask, validate

TODAY = dt.date(2026, 11, 23)


def test_known_check_digits() -> None:
    assert check_digit("11010519491231002") == "X"
    assert validate("11010519491231002x", TODAY) == "11010519491231002X"
    assert validate(from_keypad("11010519491231002*"), TODAY) == "11010519491231002X"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1101051949123100", "18 characters"),
        ("11010519491231002A", "digit or X"),
        ("110105194913310021", "not a date"),
        ("110105203001010010", "impossible"),
        ("110105194912310021", "check digit"),
    ],
)
def test_invalid(text: str, why: str) -> None:
    with pytest.raises(InvalidResidentId, match=why) as err:
        validate(text, TODAY)
    assert text not in str(err.value)  # messages never carry the number


def test_mask() -> None:
    assert mask("11010519491231002X") == "110105********002X"
