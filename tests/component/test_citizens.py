"""Self-service identity against a real PostgreSQL: an ID with no record gives nothing away."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from hotline.citizens import DemoSocialInsurance, demo_id, seed_demo
from ivr import resident_id
from tests.support.system import SystemUnderTest

NOT_ON_FILE = "11010519491231002" + resident_id.check_digit("11010519491231002")


async def test_an_id_with_no_record_is_answered_and_locked_like_a_wrong_password(
    system: SystemUnderTest, db: asyncpg.Connection
) -> None:
    """
    1. Three wrong passwords for a demo citizen: wrong, wrong, locked.
    2. Three passwords for an ID number with no record: the same answers, the same lock.
    """
    known = demo_id(7)
    await db.execute("DELETE FROM identity_locks WHERE id_number = ANY($1)", [known, NOT_ON_FILE])
    assert system.instance.database_url is not None
    engine = create_async_engine(system.instance.database_url)
    citizens = DemoSocialInsurance(engine=engine, lock_after=3, lock_minutes=30)
    try:
        await seed_demo(engine)  # once per database; the controller may not have run yet
        assert await db.fetchval("SELECT count(*) FROM demo_citizens WHERE id_number = $1", known)
        assert not await db.fetchval(
            "SELECT count(*) FROM demo_citizens WHERE id_number = $1", NOT_ON_FILE
        )
        answers = {
            id_number: [
                await citizens.verify(id_number, password, "citizens-test")
                for password in ("000000", "000001", "000002", "123456")
            ]
            for id_number in (known, NOT_ON_FILE)
        }
    finally:
        await engine.dispose()
    assert answers[known] == ["wrong", "wrong", "locked", "locked"]
    assert answers[NOT_ON_FILE] == answers[known]
    locked = await db.fetchval(
        "SELECT count(*) FROM identity_locks WHERE id_number = ANY($1) AND locked_until > now()",
        [known, NOT_ON_FILE],
    )
    assert locked == 2


async def test_wrong_passwords_at_the_same_moment_each_count(
    system: SystemUnderTest, db: asyncpg.Connection
) -> None:
    """Three wrong passwords for one fresh ID, checked at once (three callers, or one script
    on three lines), lock it as three one after another would."""
    target = demo_id(31)  # no other test uses it: it ends locked
    await db.execute("DELETE FROM identity_locks WHERE id_number = $1", target)
    assert system.instance.database_url is not None
    engine = create_async_engine(system.instance.database_url)
    citizens = DemoSocialInsurance(engine=engine, lock_after=3, lock_minutes=30)
    try:
        await seed_demo(engine)
        # Holding the attempts table makes the three checks overlap for sure: each waits there
        # (or on the first one's new lock row) until all three have read "no lock yet".
        blocker = await asyncpg.connect(system.dsn)
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE identity_attempts IN EXCLUSIVE MODE")
        checks = asyncio.gather(
            *(citizens.verify(target, f"00000{i}", f"concurrent-{i}") for i in range(3))
        )
        for _ in range(200):
            waiting = await db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database() AND query LIKE '%identity_%'"
            )
            if waiting >= 3:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the three checks never waited together: the test proves nothing")
        await transaction.rollback()
        await blocker.close()
        answers = await checks
    finally:
        await engine.dispose()
    assert sorted(answers) == ["locked", "wrong", "wrong"]
    row = await db.fetchrow(
        "SELECT failures, locked_until > now() AS locked FROM identity_locks WHERE id_number = $1",
        target,
    )
    assert row is not None and row["failures"] == 3 and row["locked"]
