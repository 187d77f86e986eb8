"""ARI's REST requests over kept-alive HTTP/1.1 connections: asyncio protocols, httptools'
parser, one write a request.

Why not aiohttp's client here: a call makes about twenty requests, and aiohttp spent about
0.1 ms of CPU on each (URL objects, timers, response objects, tracing hooks), a third of the
controller's time under load (README "Capacity"). Asterisk's answers are small JSON bodies
with a Content-Length; they need none of that. The events' websocket stays on aiohttp.
"""

from __future__ import annotations

import asyncio
from typing import cast
from urllib.parse import quote, urlsplit

import httptools


class AriUnreachable(ConnectionError):
    """No answer from Asterisk: refused, closed before answering, or not understood."""


class _Connection(asyncio.Protocol):
    """One kept-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.open = True
        self.reusable = True
        self.received = False  # any byte of the current answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(AriUnreachable(f"unreadable answer from Asterisk: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(AriUnreachable(f"Asterisk closed the connection ({exc or 'end of stream'})"))

    # httptools' callbacks
    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive()
        answer, self.answer = self.answer, None
        if answer is not None and not answer.done():
            answer.set_result((self.parser.get_status_code(), b"".join(self.body)))

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        """Write a request; the future is its (status, body)."""
        assert self.transport is not None
        self.body, self.received = [], False
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.answer

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        answer, self.answer = self.answer, None
        if answer is not None and not answer.done():
            answer.set_exception(exc)
        if self.transport is not None:
            self.transport.close()


class AriHttp:
    """At most `limit` connections to one Asterisk; requests beyond wait for a free one."""

    def __init__(self, base_url: str, authorization: str, limit: int) -> None:
        url = urlsplit(base_url)
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or 80
        self._prefix = url.path.rstrip("/")
        self._head = f"HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: {authorization}\r\n"
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Connection] = []

    async def request(
        self, method: str, path: str, query: dict[str, str], body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        """(status, body) of one request; AriUnreachable or TimeoutError when none came."""
        target = quote(self._prefix + path)
        if query:
            target += "?" + "&".join(f"{k}={quote(v, safe=':/,')}" for k, v in query.items())
        head = f"{method} {target} {self._head}Content-Length: {len(body or b'')}\r\n"
        if body:
            head += "Content-Type: application/json\r\n"
        request = (head + "\r\n").encode() + (body or b"")
        async with asyncio.timeout(timeout), self._slots:
            while True:
                reused = bool(self._idle)
                connection = self._idle.pop() if reused else await self._connect()
                if not connection.open:
                    continue
                try:
                    answer = await connection.send(request)
                except AriUnreachable:
                    # Asterisk closes a connection idle for its keep-alive time: a request
                    # written as it did so was not read. Once more, on a new connection.
                    if reused and not connection.received:
                        continue
                    raise
                except BaseException:  # cancelled or timed out: its answer may still come
                    connection.close()
                    raise
                if connection.reusable and connection.open:
                    self._idle.append(connection)
                else:
                    connection.close()
                return answer

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _transport, connection = await loop.create_connection(
                _Connection, self._host, self._port
            )
        except OSError as exc:
            raise AriUnreachable(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        return connection

    def close(self) -> None:
        """Close the idle connections (those in use close when their request ends)."""
        for connection in self._idle:
            connection.close()
        self._idle.clear()
