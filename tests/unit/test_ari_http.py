"""ARI's REST requests on kept-alive connections (telephony/ari_http.py), against real local
HTTP servers: connections reused and bounded, a connection Asterisk closed while idle, a
request it never answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from hotline.telephony import ari_http
from hotline.telephony.ari_http import AriHttp, AriUnreachable
from tests.support.web_server import answering, local_server

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(serve: Serve) -> AsyncIterator[str]:
    """A TCP server answering by hand; yields its base URL."""
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/ari"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request's head (these requests have no body)."""
    return await reader.readuntil(b"\r\n\r\n")


async def test_requests_share_one_connection_and_arrive_as_sent() -> None:
    transports: set[int] = set()
    seen: list[tuple[str, str, dict[str, str], object, str]] = []

    async def handler(request: web.Request) -> web.Response:
        transports.add(id(request.transport))
        body = await request.json() if request.can_read_body else None
        auth = request.headers["Authorization"]
        seen.append((request.method, request.path, dict(request.query), body, auth))
        if request.method == "DELETE":
            return web.Response(status=204)
        return web.json_response({"ok": True})

    async with local_server(answering(handler)) as port:
        http = AriHttp(f"http://127.0.0.1:{port}/ari", "Basic dTpw", limit=4)
        try:
            media = {"media": "sound:/x/welcome,sound:/x/main menu", "lang": "zh"}
            assert await http.request("POST", "/channels/1.2/play/p1", media, None, 5) == (
                200,
                b'{"ok": true}',
            )
            assert await http.request("DELETE", "/playbacks/p1", {}, None, 5) == (204, b"")
            body = json.dumps({"allowed": [{"type": "StasisStart"}]}).encode()
            assert (await http.request("PUT", "/applications/h/eventFilter", {}, body, 5))[0] == 200
        finally:
            http.close()
    allowed = {"allowed": [{"type": "StasisStart"}]}
    assert seen == [
        ("POST", "/ari/channels/1.2/play/p1", media, None, "Basic dTpw"),
        ("DELETE", "/ari/playbacks/p1", {}, None, "Basic dTpw"),
        ("PUT", "/ari/applications/h/eventFilter", {}, allowed, "Basic dTpw"),
    ]
    assert len(transports) == 1


async def test_a_connection_closed_while_idle_is_not_used_again() -> None:
    connections = 0

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()  # as Asterisk does after its keep-alive time

    async with raw_server(answer_once) as url:
        http = AriHttp(url, "Basic x", limit=4)
        assert await http.request("POST", "/channels/1/answer", {}, None, 5) == (204, b"")
        await asyncio.sleep(0.05)  # the close reaches the client
        assert await http.request("POST", "/channels/2/answer", {}, None, 5) == (204, b"")
        http.close()
    assert connections == 2


def drop_the_second_request() -> tuple[Serve, list[int]]:
    """A server whose first connection answers one request and drops the next unanswered
    (as Asterisk closing a kept-alive connection, or dying); later ones answer."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections) + 1)
        first = len(connections) == 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        if first:
            with contextlib.suppress(asyncio.IncompleteReadError):
                await read_request(reader)  # the second request: left unanswered
        writer.close()

    return serve, connections


async def test_a_get_or_delete_dropped_unanswered_is_sent_again_on_a_new_connection() -> None:
    serve, connections = drop_the_second_request()
    async with raw_server(serve) as url:
        http = AriHttp(url, "Basic x", limit=4)
        await http.request("POST", "/channels/1/answer", {}, None, 5)
        assert await http.request("DELETE", "/playbacks/p1", {}, None, 5) == (204, b"")
        http.close()
    assert connections == [1, 2]  # its answer came on the second connection


async def test_a_post_dropped_by_a_busy_connection_is_not_sent_twice() -> None:
    """Asterisk may have carried it out (an originate, an addChannel) before dropping."""
    serve, connections = drop_the_second_request()
    async with raw_server(serve) as url:
        http = AriHttp(url, "Basic x", limit=4)
        await http.request("POST", "/channels/1/answer", {}, None, 5)
        with pytest.raises(AriUnreachable):
            await http.request("POST", "/channels", {"endpoint": "PJSIP/1001"}, None, 5)
        http.close()
    assert connections == [1]


async def test_a_post_dropped_by_a_connection_idle_for_a_while_is_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Idle that long, the connection was closed by Asterisk's keep-alive timer: unread."""
    monkeypatch.setattr(ari_http, "RESEND_AFTER_IDLE", 0.05)
    serve, connections = drop_the_second_request()
    async with raw_server(serve) as url:
        http = AriHttp(url, "Basic x", limit=4)
        await http.request("POST", "/channels/1/answer", {}, None, 5)
        await asyncio.sleep(0.1)
        assert await http.request("POST", "/channels/2/answer", {}, None, 5) == (204, b"")
        http.close()
    assert connections == [1, 2]


async def test_a_connection_in_use_when_closed_is_not_kept() -> None:
    answered = asyncio.Event()
    open_connections = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_connections
        open_connections += 1
        await read_request(reader)
        await asyncio.sleep(0.05)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readexactly(1)  # until the client closes
        open_connections -= 1
        answered.set()
        writer.close()

    async with raw_server(slow) as url:
        http = AriHttp(url, "Basic x", limit=4)
        request = asyncio.ensure_future(http.request("GET", "/asterisk/info", {}, None, 5))
        await asyncio.sleep(0.01)
        http.close()
        assert await request == (204, b"")
        await asyncio.wait_for(answered.wait(), 5)
    assert open_connections == 0


def test_only_plain_http_is_spoken() -> None:
    with pytest.raises(ValueError, match="http://"):
        AriHttp("https://127.0.0.1:8089/ari", "Basic x", limit=1)


async def test_a_new_connection_closed_unanswered_is_unreachable() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async with raw_server(hang_up) as url:
        http = AriHttp(url, "Basic x", limit=4)
        with pytest.raises(AriUnreachable):
            await http.request("POST", "/channels/1/answer", {}, None, 5)
        http.close()


async def test_a_request_never_answered_times_out_and_its_connection_is_closed() -> None:
    ended = asyncio.Event()

    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # until the client gives up
        ended.set()
        writer.close()

    async with raw_server(never) as url:
        http = AriHttp(url, "Basic x", limit=4)
        with pytest.raises(TimeoutError):
            await http.request("POST", "/channels/1/answer", {}, None, 0.2)
        await asyncio.wait_for(ended.wait(), 5)
        http.close()


async def test_no_more_connections_than_the_limit() -> None:
    open_now = most = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        try:
            while True:
                try:
                    await read_request(reader)
                except asyncio.IncompleteReadError:
                    return
                await asyncio.sleep(0.02)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        finally:
            open_now -= 1
            writer.close()

    async with raw_server(slow) as url:
        http = AriHttp(url, "Basic x", limit=2)
        answers = await asyncio.gather(
            *(http.request("GET", f"/channels/{n}", {}, None, 5) for n in range(6))
        )
        http.close()
    assert answers == [(200, b"{}")] * 6
    assert most == 2


async def test_nothing_listening_is_unreachable() -> None:
    http = AriHttp("http://127.0.0.1:9/ari", "Basic x", limit=2)
    with pytest.raises(AriUnreachable):
        await http.request("GET", "/asterisk/info", {}, None, 5)


async def _two_requests_on_this_loop() -> list[tuple[int, bytes]]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError):
            for _ in range(2):
                await read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    http = AriHttp(f"http://127.0.0.1:{port}/ari", "Basic x", limit=2)
    try:
        return [await http.request("GET", "/asterisk/info", {}, None, 5) for _ in range(2)]
    finally:
        http.close()
        server.close()


def test_requests_work_on_the_controllers_loop() -> None:
    """The controller runs on uvloop, whose transports are not asyncio's classes (its own
    process: a uvloop run inside pytest's loop hangs on close when the client fails)."""
    script = (
        "import uvloop; from tests.unit.test_ari_http import _two_requests_on_this_loop as t; "
        "print(uvloop.run(t()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "[(200, b'{}'), (200, b'{}')]", done.stderr[-2000:]
