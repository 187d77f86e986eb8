"""CPU-heavy work stays off the event loop (one blocked loop stalls every call).

What is measured is the CPU time of the loop's own thread while the work is done, against
the same work run on the loop once, in the same run: CPU time, not the clock, so a busy
machine that preempts the loop cannot fail these tests, and a regression (the work back on
the loop) costs the loop's thread several times the baseline."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from acd.queues import QueuesConfig
from acd.router import Router
from hotline.citizens import (
    DemoSocialInsurance,
    demo_id,
    hash_password,
    password_matches,
    seed_demo,
)
from hotline.desk import Desk
from hotline.store.journal import Journal
from tests.support.system import SystemUnderTest


@contextmanager
def loop_cpu() -> Iterator[list[float]]:
    """The CPU seconds the calling thread (the event loop's, in a test) spends inside."""
    spent: list[float] = []
    start = time.thread_time()
    try:
        yield spent
    finally:
        spent.append(time.thread_time() - start)


async def test_a_password_check_does_not_block_the_event_loop(
    system: SystemUnderTest,
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
        await citizens.verify(demo_id(8), "123456", "loop-0")  # code paths warmed up
        with loop_cpu() as on_loop:
            outcomes = [
                await citizens.verify(demo_id(8), password, "loop-1")
                for password in ("000000", "123456", "123456")
            ]
    finally:
        await engine.dispose()
    stored = hash_password("x")
    with loop_cpu() as one_check:
        password_matches("123456", stored)  # one scrypt, as if on the loop
    assert outcomes == ["wrong", "ok", "ok"]
    # Three checks on the loop would cost it three scrypts; off it, the queries' share only.
    assert on_loop[0] < one_check[0] / 2, (on_loop, one_check)


async def test_storing_a_recording_hashes_it_off_the_event_loop(
    tmp_path: Path,
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
    with loop_cpu() as on_loop:
        desk.stop_recording("PJSIP/x", "call-1", "1001", "/monitor/call-1001.wav")
        for _ in range(400):  # at most 20 s
            if journal.backlog:
                break
            await asyncio.sleep(0.05)
    journal.close()
    with loop_cpu() as one_hash:
        hashlib.sha256(audio.read_bytes()).hexdigest()  # read and hashed, as if on the loop
    assert journal.backlog == 1
    assert on_loop[0] < one_hash[0] / 2, (on_loop, one_hash)
