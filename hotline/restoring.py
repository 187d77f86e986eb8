"""Putting back what the controller had before a restart, until it is back.

Agents' states and booked callbacks come from PostgreSQL (hotline/restore.py), which may be
away when the controller starts. Whatever could not be restored is retried with backoff in
the background while calls are served; /health lists it as pending meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from acd.router import Decision
from hotline.telephony.backoff import Backoff

if TYPE_CHECKING:
    from hotline.desk import Desk
    from hotline.store.journal import Journal

log = structlog.get_logger("controller")

Restore = Callable[[], Awaitable[bool]]  # True once restored (or nothing to restore)


class Restoring:
    """What is still to be restored, and the loop that retries it."""

    def __init__(self, journal: Journal, backoff: Backoff | None = None) -> None:
        self._journal = journal
        self._backoff = backoff or Backoff(initial=2.0, cap=60.0)
        self._later: dict[str, Restore] = {}

    @property
    def pending(self) -> list[str]:
        """What is not restored yet."""
        return list(self._later)

    async def attempt(self, name: str, now: Restore, later: Restore | None = None) -> bool:
        """Try `now`; if the database could not say, retry with `later` (default: `now`)."""
        if await now():
            return True
        self._later[name] = later or now
        log.warning("restore_pending", what=name)
        return False

    async def run(self) -> None:
        """Retry with backoff until everything is restored, then end."""
        while self._later:
            await asyncio.sleep(self._backoff.next_delay())
            # This run's own facts (agents' changes, callbacks finished) must be in the
            # database before it is asked: else a stale state would be put back. They get
            # there as soon as the database answers again.
            await self._journal.written_through(self._journal.watermark)
            for name, restore in list(self._later.items()):
                if await restore():
                    del self._later[name]
                    log.info("restored_late", what=name)


class AppliedRouter:
    """The router as `restore.agent_states` uses it, for a restore while calls are served:
    its decisions (offers to the agents who come back) are carried out, not dropped."""

    def __init__(self, desk: Desk) -> None:
        self._desk = desk
        self.agents = desk.router.agents

    def login(self, number: str, now: float, phone: str | None = None) -> list[Decision]:
        """Log in and carry out what follows."""
        self._desk.apply(self._desk.router.login(number, now, phone))
        return []

    def pause(self, number: str, reason: str, now: float) -> list[Decision]:
        """Pause and carry out what follows."""
        self._desk.apply(self._desk.router.pause(number, reason, now))
        return []
