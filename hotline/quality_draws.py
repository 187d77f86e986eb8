"""The daily quality draw (质检), in the controller's background: every few minutes, each of
the last few days that is over (by an hour, so that the calls open at midnight have ended
and their recordings are stored) and not drawn yet gets its sample. Drawing a day twice is
impossible (quality_days' key, hotline/quality_store.py), so a restart, a second round or
a second controller changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.quality_config import QualityConfig
from hotline import quality_store

log = structlog.get_logger("quality")

EVERY_SECONDS = 300.0
SETTLE = dt.timedelta(hours=1)  # a day is drawn this long after it ended
CATCH_UP_DAYS = 3  # days missed while the controller was away are drawn, this far back


def due_days(now: dt.datetime, zone: ZoneInfo) -> list[dt.date]:
    """The days that may be drawn now, oldest first: those over by SETTLE, CATCH_UP_DAYS
    of them."""
    last = (now.astimezone(zone) - SETTLE).date() - dt.timedelta(days=1)
    return [last - dt.timedelta(days=back) for back in range(CATCH_UP_DAYS - 1, -1, -1)]


async def one_round(
    engine: AsyncEngine, config: QualityConfig, zone: ZoneInfo, now: dt.datetime
) -> dict[dt.date, int]:
    """Draw the due days not drawn yet; the samples drawn per day."""
    days = due_days(now, zone)
    async with engine.connect() as conn:
        done = set(
            (
                await conn.execute(
                    text("SELECT day FROM quality_days WHERE day = ANY(:days)"), {"days": days}
                )
            ).scalars()
        )
    drawn: dict[dt.date, int] = {}
    for day in days:
        if day in done:
            continue
        count = await quality_store.draw_day(engine, day, config, zone)
        if count is not None:
            drawn[day] = count
    return drawn


async def keep(
    engine: AsyncEngine,
    config_now: Callable[[], QualityConfig],
    zone_now: Callable[[], ZoneInfo],
    stop: asyncio.Event,
    caught_up: Callable[[], bool],
    every: float = EVERY_SECONDS,
) -> None:
    """`one_round` every `every` seconds until `stop`, with the config as ops last applied
    it; skipped while the journal is behind (the day's recordings may not be written yet)."""
    while not stop.is_set():
        try:
            if caught_up():
                await one_round(engine, config_now(), zone_now(), dt.datetime.now(dt.UTC))
        except Exception as exc:  # the database away: the next round retries
            log.warning("quality_draw_failed", error=str(exc)[:200])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
