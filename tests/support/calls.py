"""Reading call records back from PostgreSQL in tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import asyncpg


async def wait_for_call(
    db: asyncpg.Connection,
    caller: str,
    until: Callable[[asyncpg.Record], bool] = lambda r: r["ended_at"] is not None,
    timeout: float = 30,
) -> asyncpg.Record:
    """The caller's call row once `until` holds (the journal writes asynchronously)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    row: Any = None
    while loop.time() < deadline:
        row = await db.fetchrow(
            "SELECT * FROM calls WHERE caller_number = $1 ORDER BY id DESC LIMIT 1", caller
        )
        if row is not None and until(row):
            return row
        await asyncio.sleep(0.2)
    raise AssertionError(f"call from {caller} never reached the expected state; last: {row}")


async def events_of(db: asyncpg.Connection, channel_id: str) -> list[asyncpg.Record]:
    """All call events of a channel, in order."""
    return list(
        await db.fetch(
            "SELECT kind, data, at FROM call_events WHERE channel_id = $1 ORDER BY at, id",
            channel_id,
        )
    )


def event_data(event: asyncpg.Record) -> dict[str, Any]:
    """The data of a call event (asyncpg hands jsonb over as text)."""
    data = event["data"]
    return dict(json.loads(data) if isinstance(data, str) else data)


def prompts_played(events: list[asyncpg.Record]) -> list[str]:
    """The prompt ids the caller was played, in order (from Asterisk's PlaybackFinished)."""
    import json

    out = []
    for event in events:
        if event["kind"] == "prompt_played":
            data = event["data"] if isinstance(event["data"], dict) else json.loads(event["data"])
            for media in data["media"].split(","):
                out.append(media.rsplit("/", 1)[-1])
    return out
