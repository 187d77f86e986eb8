"""Quality sampling (质检) in PostgreSQL: the daily draw (once a day, whoever asks), the
samples supervisors are to hear, their scores (each written with its audit row in one
transaction), and the scores per agent per month for the agents' report. Maths in
acd/quality.py; the tables are migration 0012_quality's."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.quality import (
    Form,
    QualityMonth,
    RecordedCall,
    SheetError,
    check_sheet,
    draw,
    monthly,
    weighted_score,
)
from acd.quality_config import QualityConfig
from hotline import audit

log = structlog.get_logger("quality")

MAX_COMMENT = 1000
MAX_LIST = 500  # one GET /quality/samples answer

_CLAIM_DAY = (
    "INSERT INTO quality_days (day, seed, share, minimum_per_agent, min_seconds, drawn_at)"
    " VALUES (:day, :seed, :share, :minimum, :min_seconds, now())"
    " ON CONFLICT (day) DO NOTHING RETURNING day"
)
# The day's recordings whose audio is still there, long enough to judge; a recording
# already sampled (a day drawn again after a restore) is not drawn twice.
_RECORDED = (
    "SELECT r.id, r.agent, r.channel_id FROM recordings r"
    " WHERE r.created_at >= :start AND r.created_at < :end AND r.purged_at IS NULL"
    " AND r.seconds >= :min_seconds"
    " AND NOT EXISTS (SELECT 1 FROM quality_samples s WHERE s.recording_id = r.id)"
)
_SAMPLES = (
    "SELECT s.id, s.day, s.agent, s.channel_id, s.recording_id, r.seconds, r.created_at,"
    " r.purged_at, q.score, q.scorer, q.scored_at, q.items, q.comment"
    " FROM quality_samples s JOIN recordings r ON r.id = s.recording_id"
    " LEFT JOIN quality_scores q ON q.sample_id = s.id"
    " WHERE (CAST(:day AS date) IS NULL OR s.day = :day)"
    " AND (CAST(:status AS text) = 'all' OR (q.id IS NULL) = (CAST(:status AS text) = 'open'))"
    " ORDER BY s.day DESC, s.agent, s.id LIMIT :limit"
)
_MONTHLY = (
    "SELECT s.agent, s.day, q.score FROM quality_samples s"
    " LEFT JOIN quality_scores q ON q.sample_id = s.id"
    " WHERE s.day >= :first AND s.day < :end"
)


class QualityError(Exception):
    """A score refused; `error_id` and `status` are what the API answers."""

    def __init__(self, error_id: str, status: int, message: str = "") -> None:
        super().__init__(message or error_id)
        self.error_id = error_id
        self.status = status


def day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The local day as an instant range (23 or 25 hours across a DST change)."""
    start = dt.datetime.combine(day, dt.time(), zone)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)


async def draw_day(
    engine: AsyncEngine,
    day: dt.date,
    config: QualityConfig,
    zone: ZoneInfo,
    seed: str | None = None,
) -> int | None:
    """Draw the day's sample once: the number of samples, or None if the day was drawn
    already (by an earlier round, or another process at the same moment: the day's row is
    claimed first, in the same transaction). A fresh random seed unless one is given; it is
    stored with the day."""
    seed = seed or secrets.token_hex(16)
    start, end = day_bounds(day, zone)
    async with engine.begin() as conn:
        claimed = await conn.scalar(
            text(_CLAIM_DAY),
            {
                "day": day,
                "seed": seed,
                "share": config.share,
                "minimum": config.minimum_per_agent,
                "min_seconds": config.min_seconds,
            },
        )
        if claimed is None:
            return None
        rows = (
            await conn.execute(
                text(_RECORDED), {"start": start, "end": end, "min_seconds": config.min_seconds}
            )
        ).all()
        calls = [RecordedCall(r.id, r.agent, r.channel_id) for r in rows]
        chosen = draw(calls, config.share, config.minimum_per_agent, seed)
        if chosen:
            await conn.execute(
                text(
                    "INSERT INTO quality_samples (day, recording_id, agent, channel_id)"
                    " VALUES (:day, :recording, :agent, :call)"
                ),
                [
                    {"day": day, "recording": c.recording, "agent": c.agent, "call": c.call}
                    for c in chosen
                ],
            )
        await conn.execute(
            text("UPDATE quality_days SET samples = :n WHERE day = :day"),
            {"n": len(chosen), "day": day},
        )
    log.info(
        "quality_sample_drawn",
        day=day.isoformat(),
        recordings=len(calls),
        samples=len(chosen),
        agents=len({c.agent for c in chosen}),
    )
    return len(chosen)


async def samples(
    engine: AsyncEngine, day: dt.date | None = None, status: str = "open"
) -> list[dict[str, Any]]:
    """Samples (of `day`, or any day), `open` (not scored), `scored` or `all`; newest day
    first, then by agent."""
    async with engine.connect() as conn:
        rows = (
            (await conn.execute(text(_SAMPLES), {"day": day, "status": status, "limit": MAX_LIST}))
            .mappings()
            .all()
        )
    out = []
    for row in rows:
        item: dict[str, Any] = {
            "id": row["id"],
            "day": row["day"].isoformat(),
            "agent": row["agent"],
            "call": row["channel_id"],
            "recording": row["recording_id"],
            "seconds": round(row["seconds"], 1),
            "recorded_at": row["created_at"].isoformat(),
            "audio_purged": row["purged_at"] is not None,
            "score": None,
        }
        if row["score"] is not None:
            item["score"] = {
                "score": float(row["score"]),
                "scorer": row["scorer"],
                "scored_at": row["scored_at"].isoformat(),
                "items": row["items"],
                "comment": row["comment"],
            }
        out.append(item)
    return out


@dataclass(frozen=True)
class Scorer:
    """Who scores: the signed-in principal, their roles, their address (for the audit)."""

    who: str
    role: str = ""
    source: str = ""


async def score(
    engine: AsyncEngine,
    sample_id: int,
    form: Form,
    given: dict[str, object],
    scorer: Scorer,
    comment: str = "",
) -> dict[str, Any]:
    """Score a sample on the form as it is now: checked, weighed, stored with the points,
    weights and scales, and audited (`quality.score`) in one transaction. A sample is
    scored once (409 already_scored)."""
    try:
        sheet = check_sheet(form, given)
    except SheetError as exc:
        raise QualityError(exc.error_id, 400, str(exc)) from exc
    if len(comment) > MAX_COMMENT:
        raise QualityError("comment_too_long", 400, f"at most {MAX_COMMENT} characters")
    total = weighted_score(form, sheet)
    items = {
        i.item: {"given": sheet[i.item], "points": i.points, "weight": i.weight} for i in form.items
    }
    async with engine.begin() as conn:
        sample = (
            await conn.execute(
                text(
                    "SELECT s.id, s.agent, s.recording_id, s.day"
                    " FROM quality_samples s WHERE s.id = :id"
                ),
                {"id": sample_id},
            )
        ).first()
        if sample is None:
            raise QualityError("no_such_sample", 404)
        # Two supervisors scoring the same sample at once: the second waits on the key,
        # then inserts nothing.
        scored_at = await conn.scalar(
            text(
                "INSERT INTO quality_scores (sample_id, scorer, scored_at, score, items, form,"
                " comment) VALUES (:id, :scorer, now(), :score, CAST(:items AS jsonb), :form,"
                " :comment) ON CONFLICT (sample_id) DO NOTHING RETURNING scored_at"
            ),
            {
                "id": sample_id,
                "scorer": scorer.who,
                "score": total,
                "items": json.dumps(items),
                "form": form.digest(),
                "comment": comment,
            },
        )
        if scored_at is None:
            raise QualityError("already_scored", 409, "this sample has its score")
        detail = {
            "agent": sample.agent,
            "recording": sample.recording_id,
            "day": sample.day.isoformat(),
            "score": total,
            "items": sheet,
        }
        entry = audit.Entry(
            scorer.who, "quality.score", scorer.role, str(sample_id), scorer.source, "ok", detail
        )
        await audit.write(conn, entry)
    log.info("quality_scored", sample=sample_id, agent=sample.agent, score=total)
    return {
        "sample": sample_id,
        "agent": sample.agent,
        "score": total,
        "scorer": scorer.who,
        "scored_at": scored_at.isoformat(),
        "items": items,
    }


async def per_agent_month(
    engine: AsyncEngine, first: dt.date, end: dt.date
) -> dict[str, dict[str, QualityMonth]]:
    """Samples and scores per agent per month, of the calls of days first ≤ day < end."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(_MONTHLY), {"first": first, "end": end})).all()
    return monthly((r.agent, r.day, None if r.score is None else float(r.score)) for r in rows)
