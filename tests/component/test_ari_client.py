"""The ARI client against a local fake Asterisk: reconnects, reconciles, maps errors.

A real Asterisk can't be made to drop the websocket on cue, so this is the one place a fake
server stands in (STYLE.md rule 8); the real path is covered in tests/e2e.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from hotline.telephony.ari import AriClient, AriError
from hotline.telephony.backoff import Backoff
from tests.support.web_server import local_server


class FakeAsterisk:
    """Accepts the events websocket, sends one event, then drops the connection."""

    def __init__(self) -> None:
        self.connections = 0
        self.auth: list[str] = []

    async def events(self, request: web.Request) -> web.WebSocketResponse:
        self.auth.append(request.headers.get("Authorization", ""))
        self.connections += 1
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "StasisStart", "n": self.connections}))
        await ws.send_str("not json")
        await ws.close()
        return ws

    async def channel(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "Channel not found"}, status=404)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAsterisk, str]]:
    fake = FakeAsterisk()
    app = web.Application()
    app.router.add_get("/ari/events", fake.events)
    app.router.add_delete("/ari/channels/{id}", fake.channel)
    async with local_server(app) as port:
        yield fake, f"http://127.0.0.1:{port}"


async def test_reconnects_after_drops_and_reconciles_each_time(
    fake: tuple[FakeAsterisk, str],
) -> None:
    server, url = fake
    events: list[dict[str, object]] = []
    reconciles = 0
    stop = asyncio.Event()

    async def reconcile() -> None:
        nonlocal reconciles
        reconciles += 1

    def on_event(event: dict[str, object]) -> None:
        events.append(event)
        if len(events) == 3:
            stop.set()

    async with aiohttp.ClientSession() as session:
        client = AriClient(base_url=url, username="u", password="p", app="hotline", session=session)
        await asyncio.wait_for(
            client.run_events(
                on_event=on_event,
                on_connected=reconcile,
                backoff=Backoff(initial=0.01, cap=0.05),
                stop=stop,
            ),
            timeout=20,
        )
    assert [e["n"] for e in events] == [1, 2, 3]  # the bad frame was skipped, not fatal
    assert reconciles == server.connections >= 3
    assert server.auth[0] == "Basic dTpw"  # u:p


async def test_a_dead_asterisk_is_retried_not_fatal() -> None:
    stop = asyncio.Event()
    attempts = 0

    def count(_: dict[str, object]) -> None:
        raise AssertionError("no events from nowhere")

    class CountingBackoff(Backoff):
        def next_delay(self) -> float:
            nonlocal attempts
            attempts += 1
            if attempts == 3:
                stop.set()
            return 0.01

    async def nothing() -> None:
        return None

    async with aiohttp.ClientSession() as session:
        client = AriClient(
            base_url="http://127.0.0.1:9", username="u", password="p", app="x", session=session
        )
        await asyncio.wait_for(
            client.run_events(
                on_event=count, on_connected=nothing, backoff=CountingBackoff(), stop=stop
            ),
            timeout=20,
        )
    assert attempts == 3
    assert not client.connected.is_set()


async def test_missing_channel_is_reported_as_gone(fake: tuple[FakeAsterisk, str]) -> None:
    _, url = fake
    async with aiohttp.ClientSession() as session:
        client = AriClient(base_url=url, username="u", password="p", app="x", session=session)
        with pytest.raises(AriError) as err:
            await client.hangup("nope")
        client.close()
    assert err.value.gone and "Channel not found" in str(err.value)


async def test_an_asterisk_that_does_not_answer_is_an_ari_error() -> None:
    """A request Asterisk leaves unanswered fails as AriError (status 0, not gone), the one
    failure the call path handles, rather than a bare TimeoutError that escapes it."""
    held: list[asyncio.StreamWriter] = []

    async def never_answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with aiohttp.ClientSession() as session:
        ari = AriClient(
            base_url=f"http://127.0.0.1:{port}",
            username="u",
            password="p",
            app="hotline",
            session=session,
            request_timeout=0.5,
        )
        with pytest.raises(AriError) as raised:
            await ari.answer("some-channel")
    assert raised.value.status == 0 and not raised.value.gone
    for writer in held:
        writer.close()
    server.close()
