"""What each fact changes in PostgreSQL, written for batches.

A batch costs few round trips: one INSERT of every event (unnest of arrays), then one
executemany per kind of row change, with statements written once (asyncpg prepares and
caches them per connection). This replaced one SQLAlchemy statement per fact, which was
27% of the controller's CPU at 50 calls/s (PROFILE.md).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotline.store.journal import Fact

_EVENTS = (
    "INSERT INTO call_events (event_id, channel_id, at, kind, data)"
    " SELECT e, c, a, k, d::jsonb FROM unnest($1::uuid[], $2::text[], $3::timestamptz[],"
    " $4::text[], $5::text[]) WITH ORDINALITY AS f(e, c, a, k, d, n) ORDER BY n"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)

Args = Callable[["Fact"], tuple[Any, ...]]


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


# What a new fact changes besides its call_events row: the statement and its arguments.
# Replays change nothing (the event row exists, so its change is skipped).
_CHANGES: dict[str, tuple[str, Args]] = {
    "call_started": (
        "INSERT INTO calls (channel_id, linkedid, caller_number, dialed_number, language,"
        " started_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (channel_id) DO NOTHING",
        lambda f: (
            f.channel_id,
            f.data.get("linkedid"),
            f.data.get("caller"),
            f.data.get("dialed"),
            f.data.get("language"),
            f.at,
        ),
    ),
    "answered": (
        "UPDATE calls SET answered_at = COALESCE(answered_at, $2) WHERE channel_id = $1",
        lambda f: (f.channel_id, f.at),
    ),
    "node": (
        "UPDATE calls SET ivr_path = array_append(ivr_path, $2::text) WHERE channel_id = $1",
        lambda f: (f.channel_id, f.data["node"]),
    ),
    "adopted": (
        "UPDATE calls SET adoptions = adoptions + 1 WHERE channel_id = $1",
        lambda f: (f.channel_id,),
    ),
    "ended": (
        "UPDATE calls SET ended_at = COALESCE(ended_at, $2),"
        " disposition = COALESCE(disposition, $3), hangup_side = COALESCE(hangup_side, $4)"
        " WHERE channel_id = $1",
        lambda f: (f.channel_id, f.at, f.data.get("disposition"), f.data.get("side")),
    ),
    "queued": (
        "UPDATE calls SET queue = $2 WHERE channel_id = $1",
        lambda f: (f.channel_id, f.data["queue"]),
    ),
    "agent": (
        "UPDATE calls SET agent = $2 WHERE channel_id = $1",
        lambda f: (f.channel_id, f.data["agent"]),
    ),
    "voicemail": (
        "INSERT INTO voice_messages (channel_id, caller_number, callback_number, recording,"
        " seconds, created_at, due_on, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (recording) DO NOTHING",
        lambda f: (
            f.channel_id,
            f.data.get("caller"),
            f.data.get("callback"),
            f.data["recording"],  # None: a callback that expired (no audio)
            f.data["seconds"],
            f.at,
            _date(f.data["due_on"]),
            f.data.get("origin", "voicemail"),
        ),
    ),
    "survey": (
        "INSERT INTO surveys (channel_id, agent, score, at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        lambda f: (f.channel_id, f.data.get("agent"), f.data["score"], f.at),
    ),
    "segment_offered": (
        "INSERT INTO call_segments (channel_id, queue, agent, offered_at, consulted_by)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        lambda f: (
            f.channel_id,
            f.data["queue"],
            f.data.get("agent"),
            f.at,
            f.data.get("consulted_by"),  # an expert rung for a consult (acd/consult.py)
        ),
    ),
    # How a consult ended, on the asking agent's segment (still open: facts keep their order).
    # The segment keeps the last consult, but never forgets that an expert was brought in
    # (a three-way, then a later consult cancelled: the expert still had the question).
    "consult_ended": (
        "UPDATE call_segments SET consult_queue = $3, consult_expert = $4,"
        " consult_seconds = $5, consult_outcome = CASE"
        " WHEN consult_outcome IN ('complete', 'three_way') AND $6 NOT IN ('complete', 'three_way')"
        " THEN consult_outcome ELSE $6 END"
        " WHERE channel_id = $1 AND agent = $2 AND ended_at IS NULL",
        lambda f: (
            f.channel_id,
            f.data["agent"],
            f.data["queue"],
            f.data.get("expert"),
            f.data["seconds"],
            f.data["outcome"],
        ),
    ),
    "segment_answered": (
        "UPDATE call_segments SET answered_at = $2 WHERE channel_id = $1"
        " AND agent = $3 AND answered_at IS NULL",
        lambda f: (f.channel_id, f.at, f.data["agent"]),
    ),
    "segment_ended": (
        "UPDATE call_segments SET ended_at = $2, outcome = $4"
        " WHERE channel_id = $1 AND agent = $3 AND ended_at IS NULL",
        lambda f: (f.channel_id, f.at, f.data["agent"], f.data["outcome"]),
    ),
    # The agent's wrap-up topic: on their latest answered leg of the call (a later pick
    # replaces an earlier one).
    "wrap_up": (
        "UPDATE call_segments SET topic = $3 WHERE id = (SELECT id FROM call_segments"
        " WHERE channel_id = $1 AND agent = $2 AND answered_at IS NOT NULL"
        " ORDER BY offered_at DESC, id DESC LIMIT 1)",
        lambda f: (f.channel_id, f.data["agent"], f.data["topic"]),
    ),
    "callback_requested": (
        "INSERT INTO callbacks (channel_id, caller_number, number, queue, priority, entered,"
        " language, requested_at, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " to_timestamp($9::float8)) ON CONFLICT DO NOTHING",
        lambda f: (
            f.channel_id,
            f.data.get("caller"),
            f.data["number"],
            f.data["queue"],
            f.data["priority"],
            f.data["entered"],
            f.data["language"],
            f.at,
            f.data.get("deadline"),  # None: no hours known, or booked by an older release
        ),
    ),
    "callback_attempt": (
        "UPDATE callbacks SET attempts = GREATEST(attempts, $2), agent = $3 WHERE channel_id = $1",
        lambda f: (f.channel_id, f.data["attempt"], f.data.get("agent")),
    ),
    "callback_finished": (
        "UPDATE callbacks SET status = $2, finished_at = $3, agent = COALESCE($4, agent)"
        " WHERE channel_id = $1 AND status = 'pending'",
        lambda f: (f.channel_id, f.data["status"], f.at, f.data.get("agent")),
    ),
    "recording": (
        "INSERT INTO recordings (channel_id, agent, path, seconds, sha256, created_at,"
        " purge_after) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        lambda f: (
            f.channel_id,
            f.data.get("agent"),
            f.data["path"],
            f.data["seconds"],
            f.data["sha256"],
            f.at,
            _date(f.data["purge_after"]),
        ),
    ),
    "agent_state": (
        "INSERT INTO agent_state_changes (agent, status, reason, phone, at)"
        " VALUES ($1, $2, $3, $4, $5)",
        lambda f: (
            f.data["agent"],
            f.data["status"],
            f.data.get("reason", ""),
            f.data.get("phone"),
            f.at,
        ),
    ),
}


async def apply_facts(pg: Any, facts: Sequence[Fact]) -> int:
    """Write facts on an asyncpg connection inside a transaction; a fact already stored is
    skipped. Returns how many were new.

    Changes of one call (or agent) keep their order: the n-th change of each call in the
    batch goes in round n, and a round runs one executemany per kind."""
    if not facts:
        return 0
    new = {
        row[0]
        for row in await pg.fetch(
            _EVENTS,
            [f.event_id for f in facts],
            [f.channel_id for f in facts],
            [f.at for f in facts],
            [f.kind for f in facts],
            [json.dumps(f.data, ensure_ascii=False) for f in facts],
        )
    }
    rounds: list[dict[str, list[tuple[Any, ...]]]] = []
    seen: dict[str, int] = {}
    for fact in facts:
        change = _CHANGES.get(fact.kind)
        if change is None or fact.event_id not in new:
            continue
        n = seen.get(fact.channel_id, 0)
        seen[fact.channel_id] = n + 1
        if n == len(rounds):
            rounds.append({})
        rounds[n].setdefault(fact.kind, []).append(change[1](fact))
    for changes in rounds:
        for kind, rows in changes.items():
            await pg.executemany(_CHANGES[kind][0], rows)
    return len(new)
