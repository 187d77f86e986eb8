"""People's accounts: argon2-hashed passwords, roles, an agent's 工号 or an office's code,
lockout after failures.

Every change to an account is written to the audit log in the same transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline import audit

ROLES = ("agent", "supervisor", "ops", "auditor")
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
AGENT_NUMBER = re.compile(r"[0-9]{3,16}")
# A person of a responsible office answers its work orders in the console: the role "office"
# alone, bound to an office code of work_orders.yaml (migration 0017_office_accounts).
OFFICE = "office"
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # argon2 hashes anything, but a megabyte "password" is only a cost to us
HASHER = PasswordHasher()  # argon2id, the library's defaults (RFC 9106's low-memory choice)
# Verified when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash("no such account: this hash is only ever compared against")


class AccountError(Exception):
    """A change refused: bad name, role, password, unknown or duplicate account."""


def password_problems(password: str, name: str) -> list[str]:
    """Why a new password is refused (empty: accepted). Length over composition rules
    (NIST SP 800-63B), and none a person could guess from the account itself."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"at most {MAX_PASSWORD} characters")
    if name and name.lower() in password.lower():
        problems.append("must not contain the account name")
    if len(set(password)) < 5:
        problems.append("at least 5 different characters")
    return problems


def check_roles(roles: list[str]) -> list[str]:
    """The roles, each known, without repeats, in the table's order."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise AccountError(f"roles must be among {', '.join(ROLES)} (got {', '.join(unknown)})")
    return [r for r in ROLES if r in roles]


@dataclass(frozen=True)
class LockoutPolicy:
    """`max_failures` wrong passwords in a row lock the account for `lock_seconds`."""

    max_failures: int = 5
    lock_seconds: int = 15 * 60


def after_failure(
    failures: int, now: dt.datetime, policy: LockoutPolicy
) -> tuple[int, dt.datetime | None]:
    """The account's failure count and lock after one more wrong password. Reaching the
    limit locks it and starts counting again from zero, for when the lock ends."""
    failures += 1
    if failures >= policy.max_failures:
        return 0, now + dt.timedelta(seconds=policy.lock_seconds)
    return failures, None


@dataclass(frozen=True)
class Account:
    """Who a logged-in person is."""

    id: int
    name: str
    roles: frozenset[str]
    agent: str | None
    office: str | None = None  # an office account's office code


Outcome = Literal["ok", "unknown", "bad_password", "locked", "disabled"]


@dataclass(frozen=True)
class Login:
    """The result of a login attempt; `locked_now` when this failure locked the account."""

    outcome: Outcome
    account: Account | None = None
    locked_now: bool = False


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(
    engine: AsyncEngine, name: str, password: str, policy: LockoutPolicy
) -> Login:
    """Check a password (argon2 off the event loop) and count failures; the row is locked
    meanwhile so that parallel guesses are all counted."""
    if len(password) > MAX_PASSWORD or not NAME.fullmatch(name):
        await asyncio.to_thread(_verify, _DUMMY_HASH, "x")
        return Login("unknown")
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT id, name, password_hash, roles, agent, office, disabled_at,"
                    " failed_logins, locked_until, now() AS now FROM accounts"
                    " WHERE name = :name FOR UPDATE"
                ),
                {"name": name},
            )
        ).first()
        good = await asyncio.to_thread(_verify, row.password_hash if row else _DUMMY_HASH, password)
        if row is None:
            return Login("unknown")
        if row.disabled_at is not None:
            return Login("disabled")
        if row.locked_until is not None and row.locked_until > row.now:
            return Login("locked")
        if good:
            await conn.execute(
                text("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = :id"),
                {"id": row.id},
            )
            account = Account(row.id, row.name, frozenset(row.roles), row.agent, row.office)
            return Login("ok", account)
        failures, until = after_failure(row.failed_logins, row.now, policy)
        await conn.execute(
            text(
                "UPDATE accounts SET failed_logins = :failures,"
                " locked_until = COALESCE(:until, locked_until) WHERE id = :id"
            ),
            {"id": row.id, "failures": failures, "until": until},
        )
        return Login("bad_password", locked_now=until is not None)


def _checked_password(name: str, password: str) -> str:
    problems = password_problems(password, name)
    if problems:
        raise AccountError("password refused: " + "; ".join(problems))
    return HASHER.hash(password)


def _office_roles(roles: list[str], office: str | None, offices: Collection[str]) -> list[str]:
    """An office account's roles: "office" alone, with a code work_orders.yaml names."""
    if roles != [OFFICE] or office is None:
        raise AccountError("an office's account has the role office alone and --office CODE")
    if office not in offices:
        known = ", ".join(sorted(offices)) or "none configured"
        raise AccountError(f"no office {office!r} in work_orders.yaml (known: {known})")
    return roles


async def add(
    engine: AsyncEngine,
    name: str,
    password: str,
    roles: list[str],
    agent: str | None,
    who: str,
    office: str | None = None,
    offices: Collection[str] = (),
) -> None:
    """A new account (audited as `account.add` by `who`). An office's account (role
    "office") needs `office`, one of `offices` (the codes of work_orders.yaml)."""
    if not NAME.fullmatch(name):
        raise AccountError("name: lower-case letters, digits, . _ - (at most 64)")
    if agent is not None and not AGENT_NUMBER.fullmatch(agent):
        raise AccountError("agent: the 工号, digits only")
    if OFFICE in roles or office is not None:
        roles = _office_roles(roles, office, offices)
    else:
        roles = check_roles(roles)
    if "agent" in roles and agent is None:
        raise AccountError("an agent account needs its 工号 (--agent)")
    hashed = await asyncio.to_thread(_checked_password, name, password)
    async with engine.begin() as conn:
        taken = (
            await conn.execute(
                text("SELECT 1 FROM accounts WHERE name = :name OR agent = :agent"),
                {"name": name, "agent": agent},
            )
        ).first()
        if taken:
            raise AccountError(f"an account named {name} or for agent {agent} exists")
        await conn.execute(
            text(
                "INSERT INTO accounts (name, password_hash, roles, agent, office, created_at)"
                " VALUES (:name, :hash, :roles, :agent, :office, now())"
            ),
            {"name": name, "hash": hashed, "roles": roles, "agent": agent, "office": office},
        )
        detail: dict[str, object] = {"roles": roles, "agent": agent}
        if office is not None:
            detail["office"] = office
        await audit.write(conn, audit.Entry(who, "account.add", target=name, detail=detail))


async def listing(engine: AsyncEngine) -> list[dict[str, object]]:
    """Every account, without its hash."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT name, roles, agent, office, created_at, disabled_at, locked_until,"
                " (SELECT count(*) FROM web_sessions s WHERE s.account_id = a.id) AS sessions"
                " FROM accounts a ORDER BY name"
            )
        )
        return [dict(row) for row in rows.mappings()]


async def _change(
    engine: AsyncEngine, name: str, sql: str, params: dict[str, object], entry: audit.Entry
) -> None:
    """One UPDATE of an account by name, its sessions ended, audited; unknown: AccountError."""
    async with engine.begin() as conn:
        found = await conn.execute(
            text(f"UPDATE accounts SET {sql} WHERE name = :name RETURNING id"),
            {**params, "name": name},
        )
        account_id = found.scalar()
        if account_id is None:
            raise AccountError(f"no account named {name}")
        # Whatever changed (roles, password, enabled), sessions opened before it end now.
        await conn.execute(
            text("DELETE FROM web_sessions WHERE account_id = :id"), {"id": account_id}
        )
        await audit.write(conn, entry)


async def set_disabled(engine: AsyncEngine, name: str, disabled: bool, who: str) -> None:
    """Disable (sessions ended at once) or enable an account."""
    sql = "disabled_at = now()" if disabled else "disabled_at = NULL"
    what = "account.disable" if disabled else "account.enable"
    await _change(engine, name, sql, {}, audit.Entry(who, what, target=name))


async def set_roles(
    engine: AsyncEngine, name: str, roles: list[str], agent: str | None, who: str
) -> None:
    """Replace an account's roles (and 工号 when given)."""
    roles = check_roles(roles)
    if agent is not None and not AGENT_NUMBER.fullmatch(agent):
        raise AccountError("agent: the 工号, digits only")
    sql = "roles = :roles, agent = COALESCE(:agent, agent)"
    entry = audit.Entry(who, "account.roles", target=name, detail={"roles": roles})
    await _change(engine, name, sql, {"roles": roles, "agent": agent}, entry)


async def reset_password(engine: AsyncEngine, name: str, password: str, who: str) -> None:
    """A new password; also lifts a lockout."""
    hashed = await asyncio.to_thread(_checked_password, name, password)
    sql = "password_hash = :hash, failed_logins = 0, locked_until = NULL"
    await _change(
        engine, name, sql, {"hash": hashed}, audit.Entry(who, "account.password", target=name)
    )
