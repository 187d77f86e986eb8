"""The controller's pool gives up on a database that accepts connections and never answers
(a host dropping packets looks the same to asyncpg) instead of waiting asyncpg's 60 s."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from hotline.controller_process import CONNECT_SECONDS, database_engine


async def test_a_silent_database_fails_the_connection_soon() -> None:
    held: list[asyncio.StreamWriter] = []

    async def never_answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # keep the connection open and say nothing

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = database_engine(f"postgresql+asyncpg://hotline:x@127.0.0.1:{port}/hotline", 1)
    try:

        async def connect() -> None:
            async with engine.connect():
                pass

        attempt = asyncio.create_task(connect())
        # The bound is far above CONNECT_SECONDS and far below asyncpg's own 60 s.
        done, _ = await asyncio.wait({attempt}, timeout=CONNECT_SECONDS * 4)
        if not done:
            attempt.cancel()
            pytest.fail("the connection attempt was still waiting")
        assert isinstance(attempt.exception(), TimeoutError)
        assert held  # it did reach the listener: the timeout is the connection's own
    finally:
        await engine.dispose()
        for writer in held:
            writer.close()
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
