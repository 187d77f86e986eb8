"""Mandarin reading of numbers, amounts, dates and codes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.speech import PROMPT_TEXT, amount, date, digits, integer, months


def say(ids: list[str]) -> str:
    return "".join(PROMPT_TEXT[i] for i in ids)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (101, "一百零一"),
        (110, "一百一十"),
        (1005, "一千零五"),
        (1050, "一千零五十"),
        (10000, "一万"),
        (10005, "一万零五"),
        (12034, "一万二千零三十四"),
        (100015, "十万零一十五"),
        (1000000, "一百万"),
        (10000000, "一千万"),
        (100000500, "一亿零五百"),
        (100001000, "一亿零一千"),
        (123456789, "一亿二千三百四十五万六千七百八十九"),
        (-3, "负三"),
    ],
)
def test_integers(n: int, text: str) -> None:
    assert say(integer(n)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("12034.50", "一万二千零三十四元五角"),
        ("12034.05", "一万二千零三十四元零五分"),
        ("12034.56", "一万二千零三十四元五角六分"),
        ("3000", "三千元整"),
        ("0.50", "五角"),
        ("0", "零元整"),
        (Decimal("1.005"), "一元零一分"),
    ],
)
def test_amounts(value: str | Decimal, text: str) -> None:
    assert say(amount(value)) == text


def test_dates_and_codes() -> None:
    assert say(date(dt.date(2026, 11, 23))) == "二零二六年十一月二十三日"
    assert say(digits("11010519491231002X")) == "一一零一零五一九四九一二三一零零二叉"
    assert say(months(180)) == "一百八十个月"


@given(st.integers(min_value=0, max_value=10**12))
def test_every_number_reads_without_doubled_zeros(n: int) -> None:
    ids = integer(n)
    assert all(i in PROMPT_TEXT for i in ids)
    text = say(ids)
    assert "零零" not in text
    assert n == 0 or not text.endswith("零")
