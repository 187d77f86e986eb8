"""The controller's background tasks, supervised: each has a name; a crash is logged with its
traceback and the task restarted with backoff; /health names every task that is dead."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable

import structlog

from hotline.telephony.backoff import Backoff

log = structlog.get_logger("controller")


class TaskSupervisor:
    """Starts, watches and stops the named background tasks of one controller."""

    def __init__(
        self, stop: asyncio.Event | None = None, backoff: Callable[[], Backoff] | None = None
    ) -> None:
        """`stop`: the controller's; once set, a task that returns has simply finished."""
        self._backoff = backoff or (lambda: Backoff(initial=1.0, cap=30.0, stable_after=60.0))
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = stop or asyncio.Event()
        self.dead: dict[str, str] = {}  # name -> why, while the task is not running
        self.crashes: Counter[str] = Counter()
        self.restarts: Counter[str] = Counter()

    def start(self, name: str, run: Callable[[], Awaitable[None]], *, forever: bool = True) -> None:
        """Run `run()` as task `name`. `forever`: it should only end when the controller
        stops, so ending early is a failure too, and it is restarted; otherwise it is done
        once it returns (a crash still restarts it)."""
        self._tasks[name] = asyncio.create_task(self._guard(name, run, forever), name=name)

    async def _guard(self, name: str, run: Callable[[], Awaitable[None]], forever: bool) -> None:
        backoff = self._backoff()
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await run()
            except Exception as exc:
                self.crashes[name] += 1
                self.dead[name] = f"crashed: {type(exc).__name__}: {exc}"[:300]
                log.exception("task_crashed", task=name, crashes=self.crashes[name])
            else:
                if not forever or self._stopping.is_set():
                    return
                self.dead[name] = "ended"
                log.error("task_ended", task=name)
            backoff.connected_for(loop.time() - started)
            delay = backoff.next_delay()
            log.info("task_restarting", task=name, in_seconds=round(delay, 2))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            self.dead.pop(name, None)
            self.restarts[name] += 1

    def running(self, name: str) -> bool:
        """Whether the task exists and has not finished."""
        task = self._tasks.get(name)
        return task is not None and not task.done()

    async def stop(self, *names: str) -> None:
        """Cancel the named tasks (all when none is named) and wait for them."""
        if not names:
            self._stopping.set()
        tasks = [self._tasks[n] for n in names or list(self._tasks) if n in self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
