"""Background tasks are supervised: a crash is logged and restarted, /health names what is
dead; one ARI event whose handler raises does not end the event stream for every call.

The ARI side uses a local fake Asterisk (a real one cannot be made to feed a handler that
raises); /health is the real web app, built without Asterisk as in test_web_token.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from hotline.tasks import TaskSupervisor
from hotline.telephony.ari import AriClient
from hotline.telephony.backoff import Backoff
from hotline.web import Metrics, make_app


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_an_event_whose_handler_raises_does_not_end_the_stream() -> None:
    """
    1. Asterisk sends three events on one websocket; the handler raises on the first.
    2. The other two still arrive on the same connection; the failure is logged with the
       call id.
    """
    connections = 0

    async def events(request: web.Request) -> web.WebSocketResponse:
        nonlocal connections
        connections += 1
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for call in ("c1", "c2", "c3"):
            await ws.send_str(json.dumps({"type": "StasisStart", "channel": {"id": call}}))
        await asyncio.sleep(30)  # stays connected
        return ws

    app = web.Application()
    app.router.add_get("/ari/events", events)
    received: list[str] = []
    stop = asyncio.Event()

    def on_event(event: dict[str, Any]) -> None:
        call = event["channel"]["id"]
        if call == "c1":
            raise KeyError("a bug in one call's handler")
        received.append(call)

    async def nothing() -> None:
        return None

    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        client = AriClient(
            base_url=str(server.make_url("")), username="u", password="p", app="x", session=session
        )
        with capture_logs() as logs:
            task = asyncio.create_task(
                client.run_events(
                    on_event=on_event,
                    on_connected=nothing,
                    backoff=Backoff(initial=5, cap=5),
                    stop=stop,
                )
            )
            await until(lambda: len(received) == 2 or task.done())
            assert not task.done()  # still reading events
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert received == ["c2", "c3"] and connections == 1
    failed = [e for e in logs if e["event"] == "event_handler_failed"]
    assert [(e["call_id"], e["log_level"]) for e in failed] == [("c1", "error")]
    assert not client.connected.is_set()


def controller(tasks: TaskSupervisor) -> Any:
    """Just what /health reads."""
    connected = asyncio.Event()
    connected.set()
    return SimpleNamespace(
        config=SimpleNamespace(api_token="t"),
        ari=SimpleNamespace(connected=connected),
        journal=SimpleNamespace(healthy=True, backlog=0, spool_bytes=0, alarm=None),
        calls={},
        draining=False,
        run_id="r",
        config_version="v",
        tasks=tasks,
        restoring=SimpleNamespace(pending=[]),
    )


async def test_a_crashed_task_is_named_in_health_and_restarted() -> None:
    """
    1. The event task crashes: its traceback is logged and /health answers 503 naming it.
    2. It is restarted after its backoff: /health is 200 again.
    3. A task that ends on its own before the controller stops is dead too.
    """
    stop = asyncio.Event()
    tasks = TaskSupervisor(stop, backoff=lambda: Backoff(initial=0.5, cap=0.5, jitter=0))
    runs = 0

    async def events() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("handler bug")
        await stop.wait()

    app = make_app(controller(tasks), SimpleNamespace(connected=True), Metrics())  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        with capture_logs() as logs:
            tasks.start("ari-events", events)
            await until(lambda: "ari-events" in tasks.dead)
            resp = await client.get("/health")
            body = await resp.json()
            assert resp.status == 503
            assert body["dead_tasks"] == {"ari-events": "crashed: RuntimeError: handler bug"}
            crash = next(e for e in logs if e["event"] == "task_crashed")
            assert crash["task"] == "ari-events" and crash["exc_info"] is True

            await until(lambda: tasks.restarts["ari-events"] == 1)
            resp = await client.get("/health")
            assert runs == 2 and resp.status == 200
            assert (await resp.json())["task_restarts"] == {"ari-events": 1}

            async def returns_early() -> None:
                return None

            tasks.start("router-ticker", returns_early)
            await until(lambda: "router-ticker" in tasks.dead)
            body = await (await client.get("/health")).json()
            assert body["dead_tasks"] == {"router-ticker": "ended"}
        stop.set()
        await tasks.stop()
