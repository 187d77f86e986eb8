"""Per-call ordered event handling: one queue and one consumer task per call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger("mailbox")

T = TypeVar("T")


class Mailboxes(Generic[T]):
    """Events for a call are handled in order; calls are handled independently."""

    def __init__(self, handler: Callable[[str, T], Awaitable[bool]]) -> None:
        """handler(call_id, item) returns True when the call is over and its mailbox can go."""
        self._handler = handler
        self._queues: dict[str, asyncio.Queue[T]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def post(self, call_id: str, item: T) -> None:
        """Enqueue without waiting; starts the call's consumer if needed."""
        queue = self._queues.get(call_id)
        if queue is None:
            queue = self._queues[call_id] = asyncio.Queue()
            self._tasks[call_id] = asyncio.create_task(self._consume(call_id, queue))
        queue.put_nowait(item)

    def __contains__(self, call_id: str) -> bool:
        return call_id in self._queues

    def __len__(self) -> int:
        return len(self._queues)

    async def _consume(self, call_id: str, queue: asyncio.Queue[T]) -> None:
        try:
            while True:
                item = await queue.get()
                try:
                    done = await self._handler(call_id, item)
                except Exception:  # one call's bug must not stop the others
                    log.exception("call_handler_failed", call_id=call_id)
                    done = False
                if done and queue.empty():
                    return
        finally:
            self._queues.pop(call_id, None)
            self._tasks.pop(call_id, None)

    async def close(self) -> None:
        """Cancel every consumer."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
