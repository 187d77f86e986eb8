"""The city's social-insurance system, as self-service sees it; a PostgreSQL-backed demo.

A real deployment replaces `DemoSocialInsurance` with an adapter to the city's system; the
call flow only uses the three methods of `SocialInsurancePort`. The demo citizens are
clearly fake: region code 990101 does not exist, names are 演示市民NNN.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import os
import random
from decimal import Decimal
from typing import Any, Literal, Protocol

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.config_files import ConfigError
from ivr import resident_id

log = structlog.get_logger("citizens")

Outcome = Literal["ok", "wrong", "locked", "unknown", "unavailable"]
DEMO_REGION = "990101"
DEMO_PASSWORD = "123456"
DEMO_INSTANCES = frozenset({"dev", "test"})


def refuse_demo_outside_dev(instance: str, allow_demo_citizens: bool) -> None:
    """The demo backend (50 citizens, password 123456) is the only one wired in: a production
    instance must not answer citizens from it unless told to in so many words."""
    if instance in DEMO_INSTANCES or allow_demo_citizens:
        return
    raise ConfigError(
        [
            f"instance {instance!r}: self-service would answer from the demo citizens "
            "(password 123456), and no adapter to the city's social-insurance system is "
            "configured. Connect one (hotline/citizens.py, SocialInsurancePort), or set "
            "HOTLINE_ALLOW_DEMO_CITIZENS=yes to run this instance on demo data on purpose."
        ]
    )


class SocialInsurancePort(Protocol):
    """What self-service asks of the social-insurance system."""

    async def verify(self, id_number: str, password: str, channel_id: str) -> Outcome:
        """Check the query password, counting failures and honouring locks.

        An ID number with no record must be answered, and counted toward the lock, exactly
        like a wrong password ("wrong", then "locked"): otherwise the answer tells anyone who
        calls whether a person's ID number is on file.
        """
        ...

    async def lookup(self, service: str, key: str) -> dict[str, Any] | None:
        """A query's data, or None when there is no record."""
        ...


def hash_password(password: str, salt: bytes | None = None) -> str:
    """scrypt, salted; stored as salt$hash in hex."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"{salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    """Constant-time comparison with a stored scrypt hash."""
    salt_hex, _, _ = stored.partition("$")
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt_hex)), stored)


# A salt and hash no password produces: unknown IDs are checked against it (same cost).
_NO_RECORD_HASH = f"{'00' * 16}${'00' * 32}"


def demo_id(n: int) -> str:
    """The n-th demo citizen's ID number (valid check digit, fake region)."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=397 * n)
    first17 = f"{DEMO_REGION}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + resident_id.check_digit(first17)


# One more failure for an identity: a lock still running is kept as it is, an expired lock
# starts the count again, and the lock_after-th failure locks it.
_COUNT_FAILURE = text(
    "INSERT INTO identity_locks AS l (id_number, failures, locked_until)"
    " VALUES (:id, 1, CASE WHEN 1 >= :after THEN CAST(:until AS timestamptz) END)"
    " ON CONFLICT (id_number) DO UPDATE SET"
    " failures = CASE WHEN l.locked_until > :now THEN l.failures"
    "  WHEN l.locked_until IS NULL THEN l.failures + 1 ELSE 1 END,"
    " locked_until = CASE WHEN l.locked_until > :now THEN l.locked_until"
    "  WHEN (CASE WHEN l.locked_until IS NULL THEN l.failures + 1 ELSE 1 END) >= :after"
    "  THEN CAST(:until AS timestamptz) END"
    " RETURNING failures, locked_until"
)


class DemoSocialInsurance:
    """Demo records in PostgreSQL; locks after `lock_after` wrong passwords."""

    def __init__(
        self, *, engine: AsyncEngine | None, lock_after: int = 3, lock_minutes: int = 30
    ) -> None:
        self._engine = engine
        self.lock_after = lock_after
        self.lock_minutes = lock_minutes

    async def verify(self, id_number: str, password: str, channel_id: str) -> Outcome:
        """Check the password; every attempt is recorded with the ID masked."""
        if self._engine is None:
            return "unavailable"
        now = dt.datetime.now(dt.UTC)
        try:
            # scrypt takes ~60 ms of CPU: computed in a thread, outside any transaction, so
            # neither the event loop nor the identity's row lock waits for it.
            async with self._engine.connect() as conn:
                # One row whether or not the ID is on file (an unknown ID can be locked too).
                row = (
                    await conn.execute(
                        text(
                            "SELECT c.password_hash, l.locked_until"
                            " FROM (SELECT CAST(:id AS varchar) AS id_number) q"
                            " LEFT JOIN demo_citizens c USING (id_number)"
                            " LEFT JOIN identity_locks l USING (id_number)"
                        ),
                        {"id": id_number},
                    )
                ).one()
            on_file = row.password_hash is not None
            locked_before = row.locked_until is not None and row.locked_until > now
            # No record: checked against a hash that never matches, so it costs the same
            # scrypt time and counts toward the lock like any wrong password.
            stored = row.password_hash if on_file else _NO_RECORD_HASH
            matches = (
                not locked_before
                and await asyncio.to_thread(password_matches, password, stored)
                and on_file
            )
            async with self._engine.begin() as conn:
                lock = (
                    await conn.execute(
                        text(
                            "SELECT failures, locked_until FROM identity_locks "
                            "WHERE id_number = :id FOR UPDATE"
                        ),
                        {"id": id_number},
                    )
                ).first()
                outcome: Outcome
                if lock is not None and lock.locked_until is not None and lock.locked_until > now:
                    outcome = "locked"  # checked again under the lock: it may have just locked
                elif matches:
                    outcome = "ok"
                    await conn.execute(
                        text("DELETE FROM identity_locks WHERE id_number = :id"), {"id": id_number}
                    )
                elif locked_before:
                    outcome = "locked"  # the lock ran out meanwhile: this attempt was not tried
                else:
                    # Counted in the upsert itself: two first wrong passwords at once both
                    # find no row to lock above, and each must still count.
                    counted = (
                        await conn.execute(
                            _COUNT_FAILURE,
                            {
                                "id": id_number,
                                "now": now,
                                "after": self.lock_after,
                                "until": now + dt.timedelta(minutes=self.lock_minutes),
                            },
                        )
                    ).one()
                    outcome = "locked" if counted.locked_until is not None else "wrong"
                await conn.execute(
                    text(
                        "INSERT INTO identity_attempts (at, channel_id, id_masked, outcome) "
                        "VALUES (:at, :ch, :masked, :outcome)"
                    ),
                    {
                        "at": now,
                        "ch": channel_id,
                        "masked": resident_id.mask(id_number),
                        "outcome": outcome,
                    },
                )
        except Exception as exc:
            log.warning("verify_unavailable", error=str(exc)[:200])
            return "unavailable"
        # Staff may see in the log that the ID has no record; the caller never hears it.
        log.info(
            "identity_attempt",
            id=resident_id.mask(id_number),
            outcome=outcome,
            on_file=on_file,
            call_id=channel_id,
        )
        return outcome

    async def lookup(self, service: str, key: str) -> dict[str, Any] | None:
        """Read a query's data; raises on a dead database (the caller maps it)."""
        assert self._engine is not None
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT * FROM demo_citizens WHERE id_number = :id"), {"id": key}
                )
            ).first()
        if row is None:
            return None
        if service == "pension":
            return {"months": row.pension_months, "balance": row.pension_balance}
        if service == "medical":
            return {"balance": row.medical_balance}
        if service == "payment":
            if row.last_payment_date is None:
                return None
            return {"date": row.last_payment_date, "amount": row.last_payment_amount}
        if service == "card":
            return {"status": row.card_status}
        raise ValueError(f"unknown service {service!r}")


async def seed_demo(engine: AsyncEngine, count: int = 50) -> int:
    """Create the demo citizens once (deterministic); returns how many were added. Case
    numbers are real work orders now (hotline/work_orders_store.py), not demo rows."""
    rng = random.Random(12333)
    async with engine.begin() as conn:
        existing = (await conn.execute(text("SELECT count(*) FROM demo_citizens"))).scalar_one()
        if existing:
            return 0
        demo_hash = hash_password(DEMO_PASSWORD)
        for n in range(1, count + 1):
            await conn.execute(
                text(
                    "INSERT INTO demo_citizens VALUES (:id, :name, :pw, :months, :pension, "
                    ":medical, :pay_date, :pay_amount, :card)"
                ),
                {
                    "id": demo_id(n),
                    "name": f"演示市民{n:03d}",
                    "pw": demo_hash,
                    "months": 12 * rng.randint(1, 40) + rng.randint(0, 11),
                    "pension": Decimal(rng.randint(100_000, 9_000_000)) / 100,
                    "medical": Decimal(rng.randint(0, 1_500_000)) / 100,
                    "pay_date": dt.date(2026, 11, 10) if n % 3 == 0 else None,
                    "pay_amount": Decimal(rng.randint(150_000, 800_000)) / 100,
                    "card": ("normal", "ready", "making", "lost")[n % 4],
                },
            )
        # The first citizen's figures are fixed, so tests and the README can quote them.
        await conn.execute(
            text(
                "UPDATE demo_citizens SET pension_months = 180, pension_balance = 12034.50, "
                "medical_balance = 3208.05, last_payment_date = '2026-11-10', "
                "last_payment_amount = 3456.78, card_status = 'normal' WHERE id_number = :id"
            ),
            {"id": demo_id(1)},
        )
    return count
