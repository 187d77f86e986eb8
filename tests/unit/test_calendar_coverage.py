"""The holiday calendar running out (ivr/hours.py): hours.yaml lists each year's 法定节假日
and 调休 by hand, from the State Council's yearly notice; a year left out would count the
Spring Festival as working days. The shipped calendar, a hand-made one, the CLI's warning."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.hours import BusinessHours, calendar_days_left, calendar_warnings, load_hours

ROOT = Path(__file__).resolve().parents[2]


def _hours(*years_listed: tuple[int, int]) -> BusinessHours:
    """A calendar listing `n` holidays (from 1 January on) in each (year, n)."""
    days = [
        dt.date(year, 1, 1) + dt.timedelta(days=i) for year, n in years_listed for i in range(n)
    ]
    return BusinessHours(weekly={"mon": [{"start": "09:00", "end": "17:00"}]}, holidays=days)


def test_days_left_run_to_the_end_of_the_last_listed_year_without_a_gap() -> None:
    hours = _hours((2026, 28), (2027, 29), (2029, 28))
    assert calendar_days_left(hours, dt.date(2026, 12, 2)) == 395  # to 1 January 2028
    assert calendar_days_left(hours, dt.date(2027, 12, 31)) == 1
    assert calendar_days_left(hours, dt.date(2028, 3, 1)) == 0  # 2028 is missing
    # A year with only New Year's Day listed is not a calendar.
    assert calendar_days_left(_hours((2026, 28), (2027, 1)), dt.date(2026, 12, 2)) == 30


def test_next_years_calendar_is_asked_for_from_november() -> None:
    hours = _hours((2026, 28), (2027, 1))
    assert calendar_warnings(hours, dt.date(2026, 10, 31)) == []
    [warning] = calendar_warnings(hours, dt.date(2026, 11, 1))
    assert warning.startswith("holidays: 2027 lists 1 day(s) off")
    assert len(calendar_warnings(_hours(), dt.date(2026, 11, 1))) == 2  # this year's too
    assert calendar_warnings(_hours((2026, 28), (2027, 28)), dt.date(2026, 12, 2)) == []


def test_the_shipped_calendar_has_2026_entered() -> None:
    hours = load_hours(ROOT / "dialplan")
    assert calendar_days_left(hours, dt.date(2026, 6, 1)) == 214  # to 1 January 2027


def test_config_check_warns_of_a_missing_year_and_still_passes(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "dialplan", config)
    text = (config / "hours.yaml").read_text()
    # Only this year's New Year's Day: whatever today is, this year is incomplete.
    this_year = dt.datetime.now(ZoneInfo("Asia/Shanghai")).year  # the calendar's own
    kept = [line for line in text.splitlines() if not line.strip().startswith("- 20")]
    holidays_at = kept.index("holidays:")
    kept.insert(holidays_at + 1, f"  - {this_year}-01-01")
    kept = [line for line in kept if not line.strip()[:4].isdigit() or ":" not in line.strip()]
    kept = [line if line != "workdays:" else "workdays: {}" for line in kept]
    (config / "hours.yaml").write_text("\n".join(kept) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "config", "check"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
            "HOTLINE_CONFIG_DIR": str(config),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"warning: {config / 'hours.yaml'}: holidays: {this_year} lists 1 day(s) off" in (
        done.stdout
    )
