"""API tokens for machines: one per client, with roles, stored as a sha256 digest, revocable.

A token is 32 random bytes, so a fast digest is enough (no dictionary to guess from); the
token itself is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline import audit
from hotline.accounts import ROLES, AccountError, check_roles

PREFIX = "hlt_"  # recognisable in a leaked config or log, for secret scanners

# 48, not 64: "token:<name>" is who read a recording (64 characters kept), and a revoked
# token's name gets "~<id>" appended.
CLIENT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,47}")
# Only machines have the "office" role: a responsible office answering work orders through
# the API, bound to its office code (migration 0010_work_orders).
TOKEN_ROLES = (*ROLES, "office")
OFFICE_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def digest(token: str) -> str:
    """What is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


async def add(
    engine: AsyncEngine, name: str, roles: list[str], who: str, office: str | None = None
) -> str:
    """A new token for client `name`; returns it (the only time it is seen). The "office"
    role needs `office` (the code of the office it answers for) and no other role."""
    if not CLIENT_NAME.fullmatch(name):
        raise AccountError("client name: lower-case letters, digits, . _ - (at most 48)")
    if "office" in roles or office is not None:
        if roles != ["office"] or office is None or not OFFICE_CODE.fullmatch(office):
            raise AccountError("an office's token has the role office alone and --office CODE")
    else:
        roles = check_roles(roles)
    token = PREFIX + secrets.token_urlsafe(32)
    async with engine.begin() as conn:
        if (
            await conn.execute(text("SELECT 1 FROM api_tokens WHERE name = :n"), {"n": name})
        ).first():
            raise AccountError(f"a token for {name} exists (revoke it first)")
        await conn.execute(
            text(
                "INSERT INTO api_tokens (name, token_sha256, roles, created_at, office)"
                " VALUES (:name, :digest, :roles, now(), :office)"
            ),
            {"name": name, "digest": digest(token), "roles": roles, "office": office},
        )
        detail: dict[str, object] = {"roles": roles}
        if office is not None:
            detail["office"] = office
        await audit.write(conn, audit.Entry(who, "token.add", target=name, detail=detail))
    return token


async def revoke(engine: AsyncEngine, name: str, who: str) -> None:
    """The client's token stops working at its next request. The row stays (and its name is
    free again once revoked: it is renamed), so the audit log's `token:<name>` stays readable."""
    async with engine.begin() as conn:
        found = await conn.execute(
            text(
                "UPDATE api_tokens SET revoked_at = now(), name = name || '~' || id"
                " WHERE name = :name AND revoked_at IS NULL RETURNING id"
            ),
            {"name": name},
        )
        if found.scalar() is None:
            raise AccountError(f"no active token named {name}")
        await audit.write(conn, audit.Entry(who, "token.revoke", target=name))


async def listing(engine: AsyncEngine) -> list[dict[str, object]]:
    """Every token ever made, without digests."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT name, roles, office, created_at, revoked_at FROM api_tokens ORDER BY id")
        )
        return [dict(row) for row in rows.mappings()]


async def lookup(engine: AsyncEngine, token: str) -> tuple[str, frozenset[str], str | None] | None:
    """The client's name, roles and office (an office's token) for a valid, unrevoked token."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT name, roles, office FROM api_tokens"
                    " WHERE token_sha256 = :digest AND revoked_at IS NULL"
                ),
                {"digest": digest(token)},
            )
        ).first()
    return (row.name, frozenset(row.roles), row.office) if row else None
