"""Browser sessions: a random cookie (only its digest is stored), idle and absolute expiry,
a CSRF token per session, and a per-address limit on failed attempts."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.accounts import Account

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live and how their cookie is sent. The cookie's name carries the
    instance: cookies are per host, not per port, and two instances may share a host."""

    idle_seconds: int = 30 * 60
    max_seconds: int = 12 * 3600
    cookie_secure: bool = False  # set when the API is reached over HTTPS (a proxy in front)
    instance: str = "dev"
    max_failures_per_address: int = 20
    address_window_seconds: int = 10 * 60

    @property
    def cookie_name(self) -> str:
        """The session cookie's name for this instance."""
        return f"hotline-session-{self.instance}"


def csrf_ok(method: str, by_cookie: bool, expected: str | None, given: str | None) -> bool:
    """Whether a request may go on as far as CSRF is concerned: reads, and requests not
    authenticated by the cookie (bearer tokens are never sent by a browser on its own),
    always; a cookie-authenticated change only with the session's token in the header."""
    if method.upper() in SAFE_METHODS or not by_cookie:
        return True
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def same_origin(origin: str | None, host: str) -> bool:
    """Whether a login may come from the page that sent it: no Origin (a script, curl) or
    the API's own host. A page elsewhere posting a login form would sign the victim's
    browser into an account of the attacker's (login CSRF); SameSite cannot stop that,
    there being no cookie yet."""
    if not origin:
        return True
    return urlsplit(origin).netloc.lower() == host.lower()


@dataclass
class AddressLimiter:
    """Failed attempts (logins, unknown tokens or cookies) per source address in a sliding
    window; over the limit, the address is refused without checking. Kept in memory: a
    controller restart clears it (the accounts' own lockouts are in the database)."""

    limit: int
    window: float
    failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self.failures.setdefault(address, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, address: str, now: float) -> bool:
        """Whether the address has used up its failures for now."""
        blocked = len(self._recent(address, now)) >= self.limit
        if not self.failures[address]:
            del self.failures[address]  # forgotten addresses cost no memory
        return blocked

    def failed(self, address: str, now: float) -> bool:
        """Count a failure; True when this one reached the limit."""
        times = self._recent(address, now)
        times.append(now)
        return len(times) == self.limit

    def succeeded(self, address: str, at: float) -> None:
        """Take back the attempt counted at `at` (counted before the check, so that attempts
        sent in parallel cannot all pass the limit while their checks run)."""
        times = self.failures.get(address)
        if times is not None and at in times:
            times.remove(at)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Session:
    """A live session: whose it is and the token its state-changing requests must carry."""

    account: Account
    csrf_token: str


async def open_session(engine: AsyncEngine, account: Account, source: str) -> tuple[str, str]:
    """A new session; returns the cookie value and the CSRF token."""
    key, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO web_sessions (key_sha256, account_id, csrf_token, source,"
                " created_at, last_seen) VALUES (:key, :account, :csrf, :source, now(), now())"
            ),
            {"key": _digest(key), "account": account.id, "csrf": csrf, "source": source[:64]},
        )
    return key, csrf


async def find(engine: AsyncEngine, key: str, policy: SessionPolicy) -> Session | None:
    """The session of a cookie, if it has neither been idle too long nor lived too long and
    its account is enabled; each use moves its idle deadline. Expired sessions are deleted."""
    if len(key) > 100:
        return None
    idle = dt.timedelta(seconds=policy.idle_seconds)
    oldest = dt.timedelta(seconds=policy.max_seconds)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "DELETE FROM web_sessions WHERE last_seen < now() - CAST(:idle AS interval)"
                " OR created_at < now() - CAST(:oldest AS interval)"
            ),
            {"idle": idle, "oldest": oldest},
        )
        row = (
            await conn.execute(
                text(
                    "UPDATE web_sessions s SET last_seen = now() FROM accounts a"
                    " WHERE s.key_sha256 = :key AND a.id = s.account_id"
                    " AND a.disabled_at IS NULL"
                    " RETURNING a.id, a.name, a.roles, a.agent, a.office, s.csrf_token"
                ),
                {"key": _digest(key)},
            )
        ).first()
    if row is None:
        return None
    account = Account(row.id, row.name, frozenset(row.roles), row.agent, row.office)
    return Session(account, row.csrf_token)


async def close(engine: AsyncEngine, key: str) -> None:
    """Log out: the cookie is worthless from now on."""
    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM web_sessions WHERE key_sha256 = :key"), {"key": _digest(key)}
        )
