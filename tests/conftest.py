"""Shared fixtures. The real system (Asterisk + PostgreSQL) starts once per session, only when
a test asks for it; pure unit tests need neither."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings

from tests.support.desk import desk  # noqa: F401  (the fixture, for the ACD scenarios)
from tests.support.observer import AriObserver
from tests.support.sipp import Caller, hang_up_leftovers
from tests.support.system import SystemUnderTest, bring_up, tear_down

# Property tests draw the same examples on every run: a failure is reproducible, and CI never
# fails on a rare draw it did not make the day before (HYPOTHESIS_PROFILE=explore for
# fresh random draws when hunting, as a ring-all offer made twice was found).
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def system() -> Iterator[SystemUnderTest]:
    work_dir = Path(tempfile.mkdtemp(prefix="hotline-e2e-"))
    system = bring_up(work_dir)
    asyncio.run(_truncate(system.dsn))
    # Facts an earlier run's controller left in its spool would be written into the emptied
    # tables by this run's first controller (an earlier failed run's callers, re-inserted).
    shutil.rmtree(system.settings.state / "journal", ignore_errors=True)
    try:
        yield system
    finally:
        tear_down(system)


async def _truncate(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        # Every run starts from empty call records (demo citizens stay).
        await conn.execute(
            "TRUNCATE calls, call_events, call_segments, surveys, recording_access, recordings,"
            " voice_messages, identity_attempts, identity_locks, agent_state_changes, callbacks,"
            " quality_scores, quality_samples, quality_days RESTART IDENTITY"
        )
    finally:
        await conn.close()


@pytest.fixture
async def running(system: SystemUnderTest) -> AsyncIterator[SystemUnderTest]:
    """The system with a controller connected (restarted if a test stopped it); calls a
    failed test left behind are hung up afterwards."""
    if not system.controller.running:
        system.controller.start()
    yield system
    await hang_up_leftovers()


@pytest.fixture
async def db(system: SystemUnderTest) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(system.dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def observer(system: SystemUnderTest) -> AsyncIterator[AriObserver]:
    s = system.instance
    async with AriObserver(
        port=s.settings.ports.ari, user=s.secrets.ari_user, password=s.secrets.ari_password
    ) as obs:
        yield obs


@pytest.fixture
def caller(system: SystemUnderTest) -> Caller:
    return Caller(sip_port=system.settings.ports.sip, work_dir=system.work_dir)
