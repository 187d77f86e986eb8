"""ARI's REST requests over kept-alive HTTP/1.1 connections: asyncio protocols, httptools'
parser, one write a request.

Why not aiohttp's client here: a call makes about twenty requests, and aiohttp spent about
0.1 ms of CPU on each (URL objects, timers, response objects, tracing hooks), a third of the
controller's time under load (README "Capacity"). Asterisk's answers are small JSON bodies
with a Content-Length (`ast_http_send` always writes one; no redirects, no `100 Continue`:
we never send `Expect`); they need none of that. The events' websocket stays on aiohttp.
"""

from __future__ import annotations

import asyncio
from typing import cast
from urllib.parse import quote, urlsplit

import httptools

# A request whose connection Asterisk closed before answering anything is sent again on a new
# one when it cannot have been acted on twice: a GET or DELETE, or any request written on a
# connection idle this long (Asterisk closes idle ones after its `session_keep_alive`, 15 s,
# and a request written as it does so is never read). A busy connection that drops a POST
# (originate, addChannel) may have had it carried out: that is an error, not a repeat.
RESEND_AFTER_IDLE = 1.0
IDEMPOTENT = frozenset({"GET", "DELETE"})


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
        self.idle_since = 0.0  # loop time it was last put back in the pool

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

    def keepable(self) -> bool:
        """Open, and its last answer did not say `Connection: close`."""
        return self.open and self.reusable

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
        if url.scheme != "http":
            raise ValueError(f"ARI's address must be http:// (loopback or a private link): {url}")
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or 80
        self._prefix = url.path.rstrip("/")
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._head = f"HTTP/1.1\r\nHost: {host}:{self._port}\r\nAuthorization: {authorization}\r\n"
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(
        self, method: str, path: str, query: dict[str, str], body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        """(status, body) of one request; AriUnreachable or TimeoutError when none came."""
        target = quote(self._prefix + path)
        if query:
            target += "?" + "&".join(f"{quote(k)}={quote(v, safe=':/,')}" for k, v in query.items())
        head = f"{method} {target} {self._head}Content-Length: {len(body or b'')}\r\n"
        if body:
            head += "Content-Type: application/json\r\n"
        request = (head + "\r\n").encode() + (body or b"")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout), self._slots:
            while True:
                reused = bool(self._idle)
                connection = self._idle.pop() if reused else await self._connect()
                if not connection.open:
                    continue
                idle = loop.time() - connection.idle_since
                try:
                    answer = await connection.send(request)
                except AriUnreachable:
                    unread = reused and not connection.received
                    if unread and (method in IDEMPOTENT or idle >= RESEND_AFTER_IDLE):
                        continue  # see RESEND_AFTER_IDLE
                    raise
                except BaseException:  # cancelled or timed out: its answer may still come
                    connection.close()
                    raise
                if connection.keepable() and not self._closed:
                    connection.idle_since = loop.time()
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
        """Close the idle connections; those in use close when their request ends, and a
        request after this one opens a connection it closes after its answer."""
        self._closed = True
        for connection in self._idle:
            connection.close()
        self._idle.clear()
