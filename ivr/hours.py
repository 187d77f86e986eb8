"""When people answer: weekly blocks, public holidays and make-up workdays (调休)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hotline.config_files import load_model

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Block(BaseModel):
    """One stretch of the day when people answer, e.g. 08:30–11:30."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _ordered(self) -> Block:
        if self.end <= self.start:
            raise ValueError(f"block ends ({self.end}) before it starts ({self.start})")
        return self

    def contains(self, moment: dt.time) -> bool:
        """Whether moment is inside [start, end)."""
        return self.start <= moment < self.end


Weekly = dict[str, list[Block]]  # weekday -> blocks


class BusinessHours(BaseModel):
    """The center's staffed hours; the voice menu itself runs 7×24."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Asia/Shanghai"
    weekly: dict[str, list[Block]]
    holidays: list[dt.date] = Field(default_factory=list, description="closed all day")
    workdays: dict[dt.date, str] = Field(
        default_factory=dict, description="make-up workday -> the weekday whose blocks apply"
    )
    # Duty rosters (e.g. expert seats' hours): name -> weekly blocks, over the same holidays
    # and make-up workdays; a queue names one (queues.yaml `duty:`).
    duty: dict[str, Weekly] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("weekly")
    @classmethod
    def _days(cls, weekly: dict[str, list[Block]]) -> dict[str, list[Block]]:
        for day in weekly:
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
        return weekly

    @field_validator("duty")
    @classmethod
    def _duty_days(
        cls, duty: dict[str, dict[str, list[Block]]]
    ) -> dict[str, dict[str, list[Block]]]:
        for name, weekly in duty.items():
            for day in weekly:
                if day not in WEEKDAYS:
                    raise ValueError(f"{name}: unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
        return duty

    @model_validator(mode="after")
    def _workday_names(self) -> BusinessHours:
        for date, like in self.workdays.items():
            if like not in WEEKDAYS:
                raise ValueError(f"workday {date}: unknown weekday {like!r}")
            if date in self.holidays:
                raise ValueError(f"{date} is both a holiday and a make-up workday")
        return self

    def blocks_on(self, date: dt.date, duty: str | None = None) -> list[Block]:
        """The staffed blocks of a calendar day (of the `duty` roster, if given)."""
        if date in self.holidays:
            return []
        weekly = self.weekly if duty is None else self.duty.get(duty, {})
        like = self.workdays.get(date) or WEEKDAYS[date.weekday()]
        return weekly.get(like, [])

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The center's calendar day at moment (an aware datetime)."""
        return moment.astimezone(ZoneInfo(self.timezone)).date()

    def on_duty(self, duty: str, moment: dt.datetime) -> bool:
        """Whether the `duty` roster (e.g. expert seats) is on at moment (an aware datetime);
        an unknown roster is never on."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        return any(b.contains(local.time()) for b in self.blocks_on(local.date(), duty))

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether people answer at moment (an aware datetime)."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        return any(b.contains(local.time()) for b in self.blocks_on(local.date()))


# A year of China's public holidays (法定节假日 with their bridging days) is 27-30 days off;
# a year listing fewer has not had the State Council's calendar added (it is published each
# autumn for the next year). Ten leaves room for a center that keeps only some of them.
YEAR_LISTED = 10
# From this day of the year on, next year's calendar is due.
NEXT_YEAR_DUE = (11, 1)


def listed_years(hours: BusinessHours) -> dict[int, int]:
    """Holidays listed per year."""
    years: dict[int, int] = {}
    for day in hours.holidays:
        years[day.year] = years.get(day.year, 0) + 1
    return years


def calendar_days_left(hours: BusinessHours, today: dt.date) -> int:
    """Days from today to the end of the calendar: the last day of the last year, from this
    one on without a gap, whose holidays are listed (0: this year's are not)."""
    years = listed_years(hours)
    year = today.year
    while years.get(year, 0) >= YEAR_LISTED:
        year += 1
    return max(0, (dt.date(year, 1, 1) - today).days)


def calendar_warnings(hours: BusinessHours, today: dt.date) -> list[str]:
    """What is missing from the calendar for this year and, from November, the next: until
    it is added, its holidays count as working days (work-order deadlines, duty hours, the
    menu's opening)."""
    years = listed_years(hours)
    due = [today.year]
    if (today.month, today.day) >= NEXT_YEAR_DUE:
        due.append(today.year + 1)
    return [
        f"holidays: {year} lists {years.get(year, 0)} day(s) off (a year of 法定节假日 has"
        f" about 28): until the State Council's {year} calendar is added, its holidays and"
        " 调休 count as ordinary days (work-order deadlines, duty hours, opening hours)"
        for year in due
        if years.get(year, 0) < YEAR_LISTED
    ]


def load_hours(config_dir: Path) -> BusinessHours:
    """Read `hours.yaml` from the config folder."""
    return load_model(config_dir / "hours.yaml", BusinessHours)


def working_days_after(start: dt.date, days: int, hours: BusinessHours) -> dt.date:
    """The date `days` working days after start (holidays and 调休 respected): deadlines."""
    current = start
    left = days
    for _ in range(days * 7 + 400):  # bounded even for a calendar with no working days
        if left == 0:
            return current
        current += dt.timedelta(days=1)
        if hours.blocks_on(current):
            left -= 1
    raise ValueError("the calendar has no working days to count")


def closing_time(moment: dt.datetime, working_days: int, hours: BusinessHours) -> dt.datetime:
    """When people stop answering on the `working_days`-th working day after moment's date
    (0: today, or the next working day if today's hours are over): callback deadlines."""
    tz = ZoneInfo(hours.timezone)
    local = moment.astimezone(tz)
    day = local.date()
    if working_days > 0:
        day = working_days_after(day, working_days, hours)
    else:
        blocks = hours.blocks_on(day)
        if not blocks or max(b.end for b in blocks) <= local.time():
            day = working_days_after(day, 1, hours)
    end = max(b.end for b in hours.blocks_on(day))
    return dt.datetime.combine(day, end, tz)
