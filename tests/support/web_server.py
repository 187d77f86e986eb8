"""Small real HTTP servers on loopback for tests of our clients (aiohttp's server)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web


def answering(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.Application:
    """An application that hands every request, whatever its method and path, to `handler`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@contextlib.asynccontextmanager
async def local_server(app: web.Application) -> AsyncIterator[int]:
    """Serve `app` on a free port of 127.0.0.1 for the block; yields the port."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
