"""A loopback TCP relay in front of the test PostgreSQL that can be taken away and brought
back, so the journal sees a database that is unreachable, then answers again (the real one
behind it keeps running for the test's own checks)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from sqlalchemy.engine import make_url


class DatabaseProxy:
    """`url` reaches PostgreSQL through here while `up`; nothing listens while down."""

    def __init__(self, database_url: str) -> None:
        real = make_url(database_url)
        self._target = (real.host or "127.0.0.1", real.port or 5432)
        with socket.socket() as probe:  # a free port, kept for the whole test
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = real.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        """Start relaying."""
        self._server = await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, reuse_address=True
        )

    async def down(self) -> None:
        """Refuse new connections and cut the open ones."""
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                with contextlib.suppress(OSError, RuntimeError):
                    dst.close()

        for task in (
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)
