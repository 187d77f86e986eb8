"""Reading numbers, amounts, dates and codes aloud in Mandarin by composing short prompts.

Each function returns prompt ids (see `PROMPT_TEXT`): `d0`..`d9` are the digits, `u10`,
`u100`, `u1000`, `u1e4`, `u1e8` the units 十 百 千 万 亿, and so on. Standard reading:
12034.50 元 → 一万二千零三十四元五角; 15 → 十五; 100015 → 十万零一十五.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

DIGITS = "零一二三四五六七八九"
PROMPT_TEXT: dict[str, str] = {
    **{f"d{i}": DIGITS[i] for i in range(10)},
    "u10": "十",
    "u100": "百",
    "u1000": "千",
    "u1e4": "万",
    "u1e8": "亿",
    "yuan": "元",
    "jiao": "角",
    "fen": "分",
    "zheng": "整",
    "year": "年",
    "month": "月",
    "day": "日",
    "months": "个月",
    "letter-x": "叉",
    "minus": "负",
}
_SMALL_UNITS = ("", "u10", "u100", "u1000")


def _group(n: int) -> list[str]:
    """0 < n < 10000, with 零 for inner zeros (一千零五, 一千零五十)."""
    out: list[str] = []
    digits = f"{n:04d}"
    zero_pending = False
    started = False
    for pos, ch in enumerate(digits):
        d = int(ch)
        unit = _SMALL_UNITS[3 - pos]
        if d == 0:
            zero_pending = started
            continue
        if zero_pending:
            out.append("d0")
            zero_pending = False
        out.append(f"d{d}")
        if unit:
            out.append(unit)
        started = True
    return out


def integer(n: int) -> list[str]:
    """A whole number, 0 ≤ |n| < 10^16."""
    if n < 0:
        return ["minus", *integer(-n)]
    if n == 0:
        return ["d0"]
    if n >= 10**16:
        raise ValueError(f"{n} is too large to read")
    groups = [n // 10**8, (n // 10**4) % 10**4, n % 10**4]
    units = ["u1e8", "u1e4", ""]
    out: list[str] = []
    for i, (value, unit) in enumerate(zip(groups, units, strict=True)):
        if value == 0:
            continue
        if out and (value < 1000 or groups[i - 1] == 0):
            out.append("d0")  # 一万零五百, 一亿零五
        out += integer(value) if value >= 10**4 else _group(value)
        if unit:
            out.append(unit)
    # 十五 rather than 一十五 when the number starts with ten-something.
    if len(out) >= 2 and out[0] == "d1" and out[1] == "u10":
        out = out[1:]
    return out


def amount(yuan: Decimal | float | str) -> list[str]:
    """Money in 元, to the 分: 12034.50 → 一万二千零三十四元五角."""
    value = Decimal(str(yuan)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value < 0:
        return ["minus", *amount(-value)]
    whole = int(value)
    cents = int((value - whole) * 100)
    jiao, fen = divmod(cents, 10)
    out: list[str] = []
    if whole or not cents:
        out += [*integer(whole), "yuan"]
    if jiao:
        out += [f"d{jiao}", "jiao"]
    if fen:
        if whole and not jiao:
            out.append("d0")
        out += [f"d{fen}", "fen"]
    if not cents:
        out.append("zheng")
    return out


def date(day: dt.date) -> list[str]:
    """二〇二六年十一月二十三日: the year digit by digit, month and day as numbers."""
    return [
        *(f"d{c}" for c in f"{day.year:04d}"),
        "year",
        *integer(day.month),
        "month",
        *integer(day.day),
        "day",
    ]


def digits(code: str) -> list[str]:
    """One by one, as for ID and case numbers: X is read 叉; other characters are skipped."""
    out = []
    for ch in code:
        if ch.isdigit():
            out.append(f"d{ch}")
        elif ch in "Xx":
            out.append("letter-x")
    return out


def months(n: int) -> list[str]:
    """A count of months: 一百八十个月."""
    return [*integer(n), "months"]
