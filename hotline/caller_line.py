"""What the parts of a call (its time with the ACD, self-service) need of the call itself
(hotline/callflow.py's CallFlow): the caller's line, the menu session, the journal, the log.

A Protocol, so that person_leg.py, selfservice.py and their helpers name no module above
them: CallFlow creates them and hands itself to them only as a CallerLine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from hotline.citizens import SocialInsurancePort
from hotline.telephony.ari import AriClient
from ivr.actions import Action
from ivr.session import MenuSession


@dataclass(frozen=True)
class CallWorkOrder:
    """A work order opened from a call (an agent's consult found no expert): what the call
    knows of it; the owner is the agent, the recording the agent's of this call."""

    call_id: str
    caller_number: str
    id_number: str
    line: str
    owner: str
    recording: str | None


class CallServices(Protocol):
    """What the parts of a call (the ACD, self-service) ask of the controller's services."""

    @property
    def ari(self) -> AriClient:
        """Asterisk's REST interface."""
        ...

    @property
    def citizens(self) -> SocialInsurancePort:
        """The social-insurance system."""
        ...

    @property
    def post(self) -> Callable[[str, Any], None]:
        """Deliver an item to a call's mailbox."""
        ...

    @property
    def voicemail_due(self) -> Callable[[dt.date], dt.date]:
        """By when a voice message left on `day` must be answered."""
        ...

    @property
    def case_progress(self) -> Callable[[str, str], Awaitable[dict[str, Any] | None]] | None:
        """A work order's progress by its number and the calling number (None: no database)."""
        ...

    @property
    def open_work_order(self) -> Callable[[CallWorkOrder], Awaitable[str]] | None:
        """Open a work order for a call; its number (None: no database, no work orders)."""
        ...


class CallerLine(Protocol):
    """The call: which channel the caller is on now, and how to record and act on it."""

    call_id: str
    channel_id: str
    channel_name: str
    caller_number: str
    hanging_up: bool
    hangup_requested_by_us: bool
    session: MenuSession
    log: Any

    @property
    def services(self) -> CallServices:
        """The controller's services."""
        ...

    def fact(self, kind: str, **data: Any) -> None:
        """Record something about this call in the journal."""
        ...

    def settle(self, disposition: str) -> None:
        """How the call ended, as far as the center is concerned."""
        ...

    def finish(self, side: str, why: str, disposition: str | None = None) -> None:
        """The call is over: close its record."""
        ...

    async def execute(self, actions: list[Action]) -> None:
        """Carry out menu actions on the caller's line."""
        ...

    def global_id(self, local_id: str) -> str:
        """A playback's or recording's name as Asterisk knows it."""
        ...

    def media(self, prompts: Iterable[str], language: str | None = None) -> list[str]:
        """ARI media URIs of prompts."""
        ...
