"""The audit log: who did or heard what, append-only (PostgreSQL refuses UPDATE and DELETE).

Every config apply, account change, forced agent state change, login failure and lockout,
refusal and recording access is one row. Rows are written by the product only with INSERT;
the table's triggers (migration 0009_accounts) refuse any change or deletion.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = structlog.get_logger("audit")

_INSERT = text(
    "INSERT INTO audit_log (who, role, what, target, source, outcome, detail)"
    " VALUES (:who, :role, :what, :target, :source, :outcome, CAST(:detail AS jsonb))"
)
MAX_ROWS = 1000  # one GET /audit answer


@dataclass(frozen=True)
class Entry:
    """One audited act: `who` is an account name, `token:<client>` or `cli:<os user>`."""

    who: str
    what: str
    role: str = ""
    target: str = ""
    source: str = ""
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        """The row's values, cut to the columns' sizes (input may echo a stranger's text)."""
        return {
            "who": self.who[:80],
            "role": self.role[:32],
            "what": self.what[:48],
            "target": self.target[:200],
            "source": self.source[:64],
            "outcome": self.outcome[:32],
            "detail": json.dumps(self.detail, ensure_ascii=False),
        }


async def write(conn: AsyncConnection, entry: Entry) -> None:
    """Add the row inside the caller's transaction (the act and its audit commit together)."""
    await conn.execute(_INSERT, entry.params())
    log.info("audited", **{k: v for k, v in entry.params().items() if k != "detail"})


async def record(engine: AsyncEngine | None, entry: Entry) -> bool:
    """Add the row in a transaction of its own; False (and an error log) when it could not be
    written. Without a database (HTTP-only tests) the structured log is the only trace."""
    if engine is None:
        log.warning("audit_without_database", **entry.params())
        return False
    try:
        async with engine.begin() as conn:
            await write(conn, entry)
    except Exception:
        log.exception("audit_not_written", **entry.params())
        return False
    return True


@dataclass(frozen=True)
class Query:
    """GET /audit's filters; None means no bound."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    who: str | None = None
    what: str | None = None  # an exact kind (`recording.access`) or a prefix ending in `.`
    limit: int = 200


async def read(engine: AsyncEngine, query: Query) -> list[dict[str, Any]]:
    """Rows matching the filters, newest first."""
    what_exact = query.what if query.what and not query.what.endswith(".") else None
    what_prefix = query.what if query.what and query.what.endswith(".") else None
    async with engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    text(
                        "SELECT id, at, who, role, what, target, source, outcome, detail"
                        " FROM audit_log"
                        " WHERE (CAST(:since AS timestamptz) IS NULL OR at >= :since)"
                        " AND (CAST(:until AS timestamptz) IS NULL OR at < :until)"
                        " AND (CAST(:who AS text) IS NULL OR who = :who)"
                        " AND (CAST(:what AS text) IS NULL OR what = :what)"
                        " AND (CAST(:prefix AS text) IS NULL OR starts_with(what, :prefix))"
                        " ORDER BY at DESC, id DESC LIMIT :limit"
                    ),
                    {
                        "since": query.since,
                        "until": query.until,
                        "who": query.who,
                        "what": what_exact,
                        "prefix": what_prefix,
                        "limit": min(max(query.limit, 1), MAX_ROWS),
                    },
                )
            )
            .mappings()
            .all()
        )
    return [{**row, "at": row["at"].isoformat()} for row in rows]
