"""Watching Asterisk from the outside: an ARI app subscribed to every channel's events.

Tests assert on what Asterisk itself reports (dialplan applications run, channels left
behind), independently of what the controller believes it did.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

import aiohttp

Event = dict[str, Any]


class AriObserver:
    """Collects all ARI events (subscribeAll) and answers REST queries."""

    def __init__(self, *, port: int, user: str, password: str) -> None:
        self.base = f"http://127.0.0.1:{port}/ari"
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AriObserver:
        self._session = aiohttp.ClientSession(headers=self.headers)
        connected = asyncio.Event()
        self._task = asyncio.create_task(self._read(connected))
        await asyncio.wait_for(connected.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None and self._session is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._session.close()

    async def _read(self, connected: asyncio.Event) -> None:
        assert self._session is not None
        url = self.base.replace("http", "ws") + "/events?app=test-observer&subscribeAll=true"
        async with self._session.ws_connect(url) as ws:
            connected.set()
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.events.append(json.loads(msg.data))
                    self._changed.set()

    async def wait_for(
        self, match: Callable[[Event], bool], timeout: float = 30, since: int = 0
    ) -> Event:
        """The first event (already seen or coming) that matches; `since`: only events from
        that index of `events` on (what came after a moment of the test)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = since
        while True:
            for event in self.events[seen:]:
                if match(event):
                    return event
            seen = len(self.events)
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("no matching ARI event")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def call_from(self, number: str, timeout: float = 30) -> str:
        """The channel id of the call from `number`, once Asterisk has created it."""
        created = await self.wait_for(
            lambda e: (
                e.get("type") == "ChannelCreated" and e["channel"]["caller"]["number"] == number
            ),
            timeout,
        )
        return str(created["channel"]["id"])

    async def heard(
        self, number: str, done: Callable[[list[str]], bool], timeout: float = 60
    ) -> tuple[str, list[str]]:
        """Wait until the prompts played so far to the call from `number` satisfy `done`
        (see `prompts_heard`); its channel id and those prompts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        channel = await self.call_from(number, timeout)
        await self.wait_for(
            lambda e: (
                e.get("type") == "PlaybackStarted" and done(prompts_heard(self.events, channel))
            ),
            max(0.0, deadline - loop.time()),
        )
        return channel, prompts_heard(self.events, channel)

    def dialplan_apps(self, channel_name_prefix: str = "PJSIP/trunk") -> list[tuple[str, str]]:
        """(application, data) of every dialplan step the trunk's channels ran, in order."""
        return [
            (e["dialplan_app"], e["dialplan_app_data"])
            for e in self.events
            if e.get("type") == "ChannelDialplan"
            and e["channel"]["name"].startswith(channel_name_prefix)
        ]

    async def hang_up(self, channel_id: str) -> None:
        """Hang a channel up from outside the controller (as a caller's phone would)."""
        assert self._session is not None
        async with self._session.delete(f"{self.base}/channels/{channel_id}") as resp:
            assert resp.status in (204, 404), resp.status

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        """Set a channel variable from outside the controller."""
        assert self._session is not None
        params = {"variable": name, "value": value}
        async with self._session.post(
            f"{self.base}/channels/{channel_id}/variable", params=params
        ) as resp:
            assert resp.status == 204, resp.status

    async def bridges(self) -> list[Event]:
        """Bridges Asterisk has right now."""
        assert self._session is not None
        async with self._session.get(f"{self.base}/bridges") as resp:
            result: list[Event] = await resp.json()
            return result

    async def channels(self) -> list[Event]:
        """Channels Asterisk has right now."""
        assert self._session is not None
        async with self._session.get(f"{self.base}/channels") as resp:
            result: list[Event] = await resp.json()
            return result


def prompts_heard(events: list[Event], channel_id: str) -> list[str]:
    """Prompt ids Asterisk started playing to a channel, in order (each media of a list)."""
    out = []
    for e in events:
        # Asterisk raises PlaybackStarted for each media of a list (PlaybackContinuing
        # repeats the one just finished).
        if (
            e.get("type") == "PlaybackStarted"
            and e["playback"].get("target_uri") == f"channel:{channel_id}"
        ):
            out.append(e["playback"]["media_uri"].rsplit("/", 1)[-1])
    return out
