"""A small typed ARI client: REST calls (telephony/ari_http.py) and the /ari/events
websocket (aiohttp).

Why our own: ari-py does not import on Python 3, aioari awaits handlers inside its websocket
reader and has no reconnect, ari-client spun the loop at 100% CPU on close (ASTERISK.md).
Here the reader never awaits a handler: events are handed to `on_event`, which must only
enqueue (see telephony/mailbox.py), so one slow call never delays another.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp
import structlog

from hotline.telephony.ari_http import AriHttp, AriUnreachable
from hotline.telephony.backoff import Backoff

log = structlog.get_logger("ari")

Event = dict[str, Any]


# Requests in flight to ARI at most (more wait for a free connection): below Asterisk's HTTP
# `sessionlimit` (http.conf.j2), which refuses a session past it by closing the connection.
MAX_CONNECTIONS = 64
# Requests Asterisk answers only once a channel's prompt has ended (adding caller and agent to
# their bridge waits for the agent's number, about 3 s) have connections of their own: at
# 20 answers a second they would hold most of the ones every other call needs.
WAITING_CONNECTIONS = 100


class AriError(Exception):
    """ARI answered with an error status."""

    def __init__(self, status: int, method: str, path: str, message: str) -> None:
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status
        self.message = str(message)

    @property
    def gone(self) -> bool:
        """The channel, bridge or playback no longer exists: normal when a caller hangs up
        (a channel named in a request's parameters, as `addChannel`'s, is a 400)."""
        return self.status == 404 or (self.status == 400 and self.message == "Channel not found")


class AriClient:
    """REST + events for one Stasis application."""

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        app: str,
        session: aiohttp.ClientSession,
        request_timeout: float = 10.0,
        on_request: Callable[[str, str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._session = session  # the events' websocket
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._http = AriHttp(f"{self.base_url}/ari", f"Basic {token}", MAX_CONNECTIONS)
        self._waiting_http = AriHttp(f"{self.base_url}/ari", f"Basic {token}", WAITING_CONNECTIONS)
        self._timeout = request_timeout
        self.connected = asyncio.Event()
        self.connections = 0
        self._wake = asyncio.Event()
        self._on_request = on_request  # (method, resource): counted in /metrics

    def reconnect_now(self) -> None:
        """Skip the rest of the backoff wait (the supervisor says Asterisk is back)."""
        self._wake.set()

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        behind_prompt: float | None = None,
    ) -> Any:
        """One REST call; returns parsed JSON (or None for 204). `behind_prompt`: the
        seconds to wait for a request Asterisk answers only once a channel's prompt has
        ended (on connections of its own, WAITING_CONNECTIONS)."""
        if self._on_request is not None:
            self._on_request(method, resource_of(path))
        query = {
            k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (params or {}).items()
        }
        http, timeout = self._http, self._timeout
        if behind_prompt is not None:
            http, timeout = self._waiting_http, behind_prompt
        content = None if body is None else json.dumps(body).encode()
        try:
            status, answer = await http.request(method, path, query, content, timeout)
        except (TimeoutError, AriUnreachable) as exc:
            # One kind of failure for the call path to handle: an Asterisk too busy to answer
            # (or a request waiting for a free connection) is not a programming error.
            raise AriError(0, method, path, f"no answer from Asterisk: {exc!r}") from exc
        if status >= 400:
            message = payload = answer.decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                message = json.loads(payload).get("message", payload)
            raise AriError(status, method, path, message)
        return json.loads(answer) if answer else None

    def close(self) -> None:
        """Close the kept-alive REST connections (the websocket ends with its session)."""
        self._http.close()
        self._waiting_http.close()

    # --- channels
    async def answer(self, channel_id: str) -> None:
        """Answer a ringing channel."""
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        """Hang up a channel."""
        await self.request("DELETE", f"/channels/{channel_id}", {"reason": reason})

    async def play(self, channel_id: str, media: list[str], playback_id: str, lang: str) -> None:
        """Play media URIs in order as one playback."""
        await self.request(
            "POST",
            f"/channels/{channel_id}/play/{playback_id}",
            {"media": ",".join(media), "lang": lang},
        )

    async def stop_playback(self, playback_id: str) -> None:
        """Stop a playback (barge-in)."""
        await self.request("DELETE", f"/playbacks/{playback_id}")

    async def start_moh(self, channel_id: str, moh_class: str = "default") -> None:
        """Music on hold on a channel."""
        await self.request("POST", f"/channels/{channel_id}/moh", {"mohClass": moh_class})

    async def get_channel(self, channel_id: str) -> Event:
        """A channel's current state."""
        result: Event = await self.request("GET", f"/channels/{channel_id}")
        return result

    async def get_variable(self, channel_id: str, name: str) -> str:
        """A channel variable's value; "" when unset (ARI answers 404 for that too)."""
        try:
            result = await self.request(
                "GET", f"/channels/{channel_id}/variable", {"variable": name}
            )
        except AriError as exc:
            if exc.gone:
                return ""
            raise
        return str(result.get("value", ""))

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        """Set a channel variable (survives a controller restart: the channel keeps it)."""
        await self.request(
            "POST", f"/channels/{channel_id}/variable", {"variable": name, "value": value}
        )

    async def application_channel_ids(self) -> list[str]:
        """Channels currently in our Stasis application."""
        result = await self.request("GET", f"/applications/{self.app}")
        return list(result.get("channel_ids", []))

    # --- events
    def events_url(self) -> str:
        """The websocket URL for our application."""
        base = self.base_url.replace("http://", "ws://").replace("https://", "wss://")
        return f"{base}/ari/events?{urlencode({'app': self.app, 'subscribeAll': 'false'})}"

    async def run_events(
        self,
        *,
        on_event: Callable[[Event], None],
        on_connected: Callable[[], Awaitable[None]],
        backoff: Backoff | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Receive events forever, reconnecting with backoff; reconcile on every (re)connect."""
        backoff = backoff or Backoff()
        loop = asyncio.get_running_loop()
        while stop is None or not stop.is_set():
            started = loop.time()
            try:
                async with self._session.ws_connect(
                    self.events_url(), headers=self._headers, heartbeat=20
                ) as ws:
                    self.connections += 1
                    self._wake.clear()
                    log.info("ari_connected", app=self.app, connection=self.connections)
                    self.connected.set()
                    try:
                        await on_connected()
                    except Exception:  # reconciliation trouble must not kill the event stream
                        log.exception("reconcile_failed")
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            try:
                                event = json.loads(msg.data)
                            except ValueError:
                                log.warning("ari_bad_frame", data=str(msg.data)[:200])
                                continue
                            try:
                                on_event(event)
                            except Exception:  # one event's trouble must not end the stream
                                log.exception(
                                    "event_handler_failed",
                                    kind=event.get("type"),
                                    call_id=(event.get("channel") or {}).get("id"),
                                )
                        elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                            break
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                log.warning("ari_connect_failed", error=str(exc)[:200])
            finally:  # whatever ends the connection, /health must not say connected
                self.connected.clear()
            backoff.connected_for(loop.time() - started)
            if stop is not None and stop.is_set():
                return
            delay = backoff.next_delay()
            log.info("ari_reconnecting", in_seconds=round(delay, 2))
            waits = [asyncio.ensure_future(self._wake.wait())]
            if stop is not None:
                waits.append(asyncio.ensure_future(stop.wait()))
            _done, pending = await asyncio.wait(
                waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED
            )
            for waiting in pending:
                waiting.cancel()


def resource_of(path: str) -> str:
    """A request path without its ids, as a metric label: `/channels/ID/play/ID` is
    `channels/play` (ARI paths alternate collection and id)."""
    return "/".join(path.strip("/").split("/")[0::2])


def event_channel(event: dict[str, Any]) -> str:
    """The channel an ARI event concerns: its own, or the target of a playback/recording
    (PlaybackFinished carries no channel, and the survey plays on the call-back channel)."""
    channel = event.get("channel")
    if channel is not None:
        return str(channel.get("id", ""))
    for key in ("playback", "recording"):
        target = str(event.get(key, {}).get("target_uri", ""))
        if target.startswith("channel:"):
            return target.split(":", 1)[1]
    return ""
