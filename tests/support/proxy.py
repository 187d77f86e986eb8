"""A TCP proxy on loopback that a test can cut: the controller's ARI link, broken on demand
while Asterisk and the calls go on (a network blip, an Asterisk HTTP restart)."""

from __future__ import annotations

import asyncio
import contextlib


class CuttableProxy:
    """127.0.0.1:port → 127.0.0.1:target; `cut` drops every connection and refuses new
    ones for a while."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.refusing = False
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _drop(self) -> None:
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def cut(self) -> None:
        """Drop the link; nothing gets through until `mend`."""
        self.refusing = True
        self._drop()

    def mend(self) -> None:
        """Let connections through again."""
        self.refusing = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._links -= {writer, up_writer}
