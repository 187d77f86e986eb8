"""Business hours, and masking ID numbers in logs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hotline.config_files import ConfigError
from hotline.logs import mask_id_numbers
from ivr.hours import load_hours

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def hours_file(tmp_path: Path) -> Path:
    (tmp_path / "hours.yaml").write_text(
        "timezone: Asia/Shanghai\n"
        "weekly:\n"
        "  mon: [{start: '08:30', end: '11:30'}, {start: '13:00', end: '17:00'}]\n"
        "  sat: []\n"
        "holidays: [2026-10-05]\n"
        "workdays: {2026-10-10: mon}\n"
    )
    return tmp_path


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (dt.datetime(2026, 11, 23, 8, 29, tzinfo=SHANGHAI), False),
        (dt.datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI), True),
        (dt.datetime(2026, 11, 23, 11, 30, tzinfo=SHANGHAI), False),
        (dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI), False),
        (dt.datetime(2026, 11, 23, 16, 59, tzinfo=SHANGHAI), True),
        (dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC), True),  # 09:00 in Shanghai
        (dt.datetime(2026, 10, 5, 9, 0, tzinfo=SHANGHAI), False),  # a Monday holiday
        (dt.datetime(2026, 10, 10, 9, 0, tzinfo=SHANGHAI), True),  # Saturday make-up workday
        (dt.datetime(2026, 10, 17, 9, 0, tzinfo=SHANGHAI), False),  # an ordinary Saturday
    ],
)
def test_open_hours(hours_file: Path, moment: dt.datetime, open_: bool) -> None:
    assert load_hours(hours_file).is_open(moment) is open_


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "hours.yaml").write_text(
        "timezone: Asia/Shanghai\nweekly:\n  mon: [{start: '11:00', end: '09:00'}]\n  funday: []\n"
    )
    with pytest.raises(ConfigError) as err:
        load_hours(tmp_path)
    text = str(err.value)
    assert f"{tmp_path / 'hours.yaml'}:3: weekly.mon.0:" in text and "before it starts" in text


def test_broken_yaml_says_where(tmp_path: Path) -> None:
    (tmp_path / "hours.yaml").write_text("weekly:\n  mon: [\n")
    with pytest.raises(ConfigError, match=r"hours.yaml:\d+: not valid YAML"):
        load_hours(tmp_path)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("id=11010519491231002X ok", "id=110105********002X ok"),
        ("110105491231002", "110105*****1002"),
        ("phone 13800138000", "phone 13800138000"),
        ("two 110105194912310021,440301199001011234", "two 110105********0021,440301********1234"),
    ],
)
def test_id_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_id_numbers(text) == masked


def test_a_key_used_twice_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "hours.yaml").write_text(
        "weekly:\n  mon: []\n  mon: [{start: '08:00', end: '09:00'}]\n"
    )
    with pytest.raises(ConfigError, match=r"hours.yaml:3: weekly.mon: used twice"):
        load_hours(tmp_path)
