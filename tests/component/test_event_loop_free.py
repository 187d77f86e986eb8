"""CPU-heavy work stays off the event loop (one blocked loop stalls every call): asyncio's
debug mode reports every callback that runs longer than `slow_callback_duration`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from acd.queues import QueuesConfig
from acd.router import Router
from hotline.citizens import DemoSocialInsurance, demo_id, seed_demo
from hotline.desk import Desk
from hotline.store.journal import Journal
from tests.support.system import SystemUnderTest

SLOW = 0.04  # a scrypt check takes ~60 ms of CPU here, hashing 90 MB ~75 ms


@contextmanager
def slow_callbacks(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Collects asyncio's "Executing … took N seconds" warnings while active."""
    loop = asyncio.get_running_loop()
    found: list[str] = []
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW
    try:
        with caplog.at_level(logging.WARNING, logger="asyncio"):
            yield found
            found += [r.getMessage() for r in caplog.records if "took" in r.getMessage()]
    finally:
        loop.set_debug(False)


async def test_a_password_check_does_not_block_the_event_loop(
    system: SystemUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_async_engine(system.instance.database_url or "")
    citizens = DemoSocialInsurance(engine=engine, lock_after=3)
    try:
        await seed_demo(engine)
        async with engine.begin() as conn:  # a lock left by an earlier run on this database
            await conn.execute(
                text("DELETE FROM identity_locks WHERE id_number = :id"), {"id": demo_id(8)}
            )
        await citizens.lookup("card", demo_id(8))  # connections made before watching
        with slow_callbacks(caplog) as slow:
            outcomes = [
                await citizens.verify(demo_id(8), password, "loop-1")
                for password in ("000000", "123456", "123456")
            ]
    finally:
        await engine.dispose()
    assert outcomes == ["wrong", "ok", "ok"]
    assert slow == []


async def test_storing_a_recording_hashes_it_off_the_event_loop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    audio = tmp_path / "monitor" / "call-1001.wav"
    audio.parent.mkdir()
    await asyncio.to_thread(audio.write_bytes, os.urandom(90 * 1024 * 1024))  # 1.5 hours
    journal = Journal(engine=None, spool_dir=tmp_path / "journal")
    desk = Desk(
        router=Router(QueuesConfig.model_validate({"queues": {"general": {}}}), []),
        ari=cast(Any, None),
        ami=cast(Any, None),  # StopMixMonitor fails quietly: the file is closed already
        journal=journal,
        post=lambda _call, _item: None,
        recordings_dir=Path("/monitor"),
        host_root=tmp_path,
    )
    with slow_callbacks(caplog) as slow:
        desk.stop_recording("PJSIP/x", "call-1", "1001", "/monitor/call-1001.wav")
        for _ in range(400):  # at most 20 s
            if journal.backlog:
                break
            await asyncio.sleep(0.05)
    journal.close()
    assert journal.backlog == 1
    assert slow == []
