"""The console in the browser: its pages (static files shipped in this package, no build
step) and the supervisors' live wallboard over a websocket.

The pages hold no data and are open like the login; what they show comes from routes that
the role table guards (GET /session, the websockets). The wallboard is computed from the
controller's memory (the router, and today's tally fed by the journal's facts), never from
the database: while someone watches, the picture is taken every TICK seconds and, when it
changed, each client is sent what changed since what it was last sent. A slow client
misses intermediate pictures rather than queueing them (its Feed holds one reference).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import WSMsgType, web

from acd.consult import consulted_on
from acd.wallboard import (
    AgentView,
    CallView,
    DayTally,
    StateClock,
    desk_picture,
    diff,
    picture,
)
from hotline import access, console_calls, desk_work_order, sessions
from hotline.store.journal import Fact

if TYPE_CHECKING:
    from hotline.controller import Controller
    from hotline.desk import Desk

log = structlog.get_logger("console")

STATIC = Path(__file__).parent / "console_static"
MEDIA = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
# The files there, by name: nothing else is ever served (no path from the request is opened).
FILES = {p.name: p for p in STATIC.iterdir() if p.suffix in MEDIA} if STATIC.is_dir() else {}
HEADERS = {
    # No inline script, no other origin: an injected string cannot become code. Audio may
    # play from memory (blob:): the quality page fetches a recording once, audited once.
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; media-src 'self' blob:; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
TICK = 0.25  # seconds between two pictures while someone watches
SEND_TIMEOUT = 10.0  # a client that takes longer to accept one message is dropped
RECHECK = 60.0  # the session (or token) behind a feed is checked again this often


@dataclass(eq=False)  # each client's feed is its own, kept in a set
class Feed:
    """One client: the picture it was last sent and whether a newer one is there. However
    many pictures a slow client misses, it holds one reference and gets one change."""

    sent: dict[str, Any] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def message(self, current: dict[str, Any], now: float) -> dict[str, Any] | None:
        """The whole picture first, then what changed (None: nothing did)."""
        if self.sent is None:
            self.sent = current
            return {"type": "snapshot", "now": round(now, 3), "board": current}
        patch = diff(self.sent, current)
        self.sent = current
        if not patch:
            return None
        return {"type": "change", "now": round(now, 3), "patch": patch}


class Wallboard:
    """Today's tally (from the journal's facts) and the current picture, published to the
    feeds of the supervisors watching."""

    def __init__(self, desk: Desk | None) -> None:
        self.desk = desk
        self.tally = DayTally()
        self.clock = StateClock()
        self.current: dict[str, Any] = {}
        self.feeds: set[Feed] = set()
        self._task: asyncio.Task[None] | None = None

    def _day(self, now: float) -> dt.date:
        if self.desk is not None:
            return self.desk.local_day(now)
        return dt.datetime.fromtimestamp(now, dt.UTC).date()

    def observe(self, fact: Fact) -> None:
        """A journal fact (Journal.observers): today's figures move on."""
        at = fact.at.timestamp()
        self.tally.observe(fact.channel_id, fact.kind, fact.data, at, self._day(at))

    def refresh(self, now: float) -> bool:
        """Take the picture; when it changed, wake every feed. True if it changed."""
        self.tally.roll(self._day(now))
        router = self.desk.router if self.desk is not None else None
        board = picture(
            list(router.config.queues) if router else [],
            list(router.waiting.values()) if router else [],
            [
                AgentView(a.number, a.status, a.reason, a.current_call)
                for a in (router.agents.values() if router else [])
            ],
            self.tally,
            self.clock,
            now,
        )
        if board == self.current:
            return False
        self.current = board
        for feed in self.feeds:
            feed.ready.set()
        return True

    def join(self) -> Feed:
        """A new client: it gets the current picture at once; pictures are taken from now on."""
        self.refresh(time.time())
        feed = Feed()
        feed.ready.set()
        self.feeds.add(feed)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="wallboard")
        return feed

    def leave(self, feed: Feed) -> None:
        """A client went: with nobody watching, no picture is taken."""
        self.feeds.discard(feed)

    async def _watch(self) -> None:
        while self.feeds:
            try:
                self.refresh(time.time())
            except Exception:  # the board must outlive a bad picture
                log.exception("wallboard_picture_failed")
            await asyncio.sleep(TICK)

    async def close(self) -> None:
        """Stop taking pictures (the app is shutting down)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


WALLBOARD = web.AppKey("wallboard", Wallboard)


async def _page(name: str) -> web.StreamResponse:
    path = FILES.get(name)
    if path is None:
        raise web.HTTPNotFound()
    body = await asyncio.to_thread(path.read_bytes)
    return web.Response(body=body, content_type=MEDIA[path.suffix], headers=HEADERS)


async def console_file(request: web.Request) -> web.StreamResponse:
    """GET /console/{file}: a page, style sheet or script of the console."""
    return await _page(request.match_info["file"])


async def console_index(_request: web.Request) -> web.StreamResponse:
    """GET /console/: the shell; it sends the person to the login or to their page."""
    return await _page("index.html")


async def to_console(_request: web.Request) -> web.StreamResponse:
    """GET /: people find the console."""
    raise web.HTTPFound("/console/")


async def serve_feed(
    request: web.Request, wallboard: Wallboard, view: Callable[[], dict[str, Any]]
) -> web.WebSocketResponse:
    """Send a feed's messages until the client leaves, is too slow, or loses its access.
    The feed wakes whenever the board changed; what it sends is `view()`'s changes."""
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await ws.prepare(request)
    feed = wallboard.join()
    reader = asyncio.create_task(_until_closed(ws))
    loop = asyncio.get_running_loop()
    checked = loop.time()
    try:
        while not reader.done():
            waiter = asyncio.create_task(feed.ready.wait())
            await asyncio.wait(
                {waiter, reader}, timeout=RECHECK, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            if loop.time() - checked >= RECHECK:
                checked = loop.time()
                if not await access.still_allowed(request):
                    await ws.close(code=4401, message=b"session ended")
                    break
            if not feed.ready.is_set() or reader.done():
                continue
            feed.ready.clear()
            message = feed.message(view(), time.time())
            if message is not None:
                await asyncio.wait_for(ws.send_json(message), SEND_TIMEOUT)
    except (TimeoutError, ConnectionError) as exc:
        log.info("console_client_dropped", why=type(exc).__name__, source=access.source(request))
    finally:
        wallboard.leave(feed)
        reader.cancel()
        await ws.close()
    return ws


async def _until_closed(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the client sends, until it closes."""
    async for message in ws:
        if message.type is WSMsgType.ERROR:
            return


def _cross_origin(request: web.Request) -> web.Response | None:
    # A page of another site may open a websocket here with the browser's cookie.
    if sessions.same_origin(request.headers.get("Origin"), request.host):
        return None
    return web.json_response({"error_id": "cross_origin"}, status=403)


async def wallboard_live(request: web.Request) -> web.StreamResponse:
    """GET /console/wallboard/live (websocket, supervisors): the board, then its changes."""
    wallboard = request.app[WALLBOARD]
    return _cross_origin(request) or await serve_feed(request, wallboard, lambda: wallboard.current)


def desk_view(controller: Controller, wallboard: Wallboard, number: str) -> dict[str, Any]:
    """An agent's own desk, from the router and the call they are on."""
    router = controller.desk.router if controller.desk is not None else None
    agent = router.agents.get(number) if router is not None else None
    view = AgentView(agent.number, agent.status, agent.reason) if agent else None
    call = None
    current = agent.current_call if agent else None
    # An expert consulted is on the consult request: they see the caller held for it.
    consulted = consulted_on(current)
    flow = getattr(controller, "calls", {}).get(consulted or current or "")
    if flow is not None:
        person = flow.person
        queue = person.queue if person is not None else ""
        answered = person.answered_at if person is not None else None
        if consulted is not None:
            consult = getattr(getattr(person, "conversation", None), "consult", None)
            answered = getattr(consult, "answered_at", None) or None
        call = CallView(queue, flow.caller_number, answered, consulted=consulted is not None)
    known = wallboard.clock.since.get(number)
    reasons = sorted(set(router.config.pause_reasons.values())) if router is not None else []
    experts = sorted(set(router.config.transfers.values())) if router is not None else []
    return desk_picture(number, view, known[2] if known else None, call, reasons, experts)


def add_routes(app: web.Application, controller: Controller) -> None:
    """The console's pages and feeds; the wallboard counts the journal's facts from now on."""
    # Tests build the app around stand-ins of the controller: some have no desk or journal.
    wallboard = Wallboard(getattr(controller, "desk", None))
    app[WALLBOARD] = wallboard
    callers = console_calls.add_routes(app, controller, wallboard.tally)
    desk_work_order.add_routes(app, controller, callers)
    observers = getattr(getattr(controller, "journal", None), "observers", None)
    if observers is not None:
        observers += [wallboard.observe, callers.observe]

    async def stop(_app: web.Application) -> None:
        for observe in (wallboard.observe, callers.observe):
            if observers is not None and observe in observers:
                observers.remove(observe)
        await wallboard.close()

    async def desk_live(request: web.Request) -> web.StreamResponse:
        """GET /console/desk/live (websocket, agents): their own state and current call."""
        number = access.principal(request).agent
        if number is None:  # an agent account always has one; a token has none
            return web.json_response({"error_id": "no_agent_number"}, status=403)
        refused = _cross_origin(request)
        if refused is not None:
            return refused
        return await serve_feed(
            request, wallboard, lambda: desk_view(controller, wallboard, number)
        )

    app.on_cleanup.append(stop)
    app.router.add_get("/", to_console)
    app.router.add_get("/console/", console_index)
    app.router.add_get("/console/wallboard/live", wallboard_live)
    app.router.add_get("/console/desk/live", desk_live)
    app.router.add_get("/console/{file}", console_file)
