"""What the router knows and decides: agents, waiting callers, and decisions as data."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


class AgentStatus(StrEnum):
    """Where an agent is; every change is reported as AgentChanged and stored."""

    logged_out = "logged_out"
    ready = "ready"
    offered = "offered"
    on_call = "on_call"
    wrap_up = "wrap_up"
    paused = "paused"


@dataclass
class Agent:
    """An agent as the router sees them."""

    number: str
    skills: dict[str, int]
    status: AgentStatus = AgentStatus.logged_out
    reason: str = ""
    idle_since: float = 0.0
    calls: int = 0
    wrap_until: float = 0.0
    reachable: bool = True
    skip_until: float = 0.0
    offered_call: str | None = None
    current_call: str | None = None
    last_offered_seq: int = -1  # round robin
    phone: str = ""  # the desk phone (PJSIP endpoint) the agent sits at; "" = their own

    @property
    def seat(self) -> str:
        """The endpoint to ring for this agent."""
        return self.phone or self.number


@dataclass
class Waiting:
    """A caller waiting for a person. `entered` and `seq` fix their place for good."""

    call_id: str
    queue: str
    priority: int
    entered: float
    queue_entered: float
    seq: int
    offers: set[str] = field(default_factory=set)
    announced: int | None = None
    announced_at: float = -math.inf
    moves: int = 0
    callback: bool = False  # the caller hung up; an agent is called first, then the caller
    held: bool = False  # the caller is giving a callback number: keeps the place, no offers
    not_before: float = 0.0  # a callback retry waits until then
    attempts: int = 0  # callback attempts that did not reach the caller
    callback_offered_at: float = -math.inf
    deadline: float = math.inf  # a callback not made by then becomes a voice message
    waiting_since: float = 0.0  # start of this wait (a transfer starts a new one): max_wait

    def order(self) -> tuple[int, float, int]:
        """Higher priority first, then first come, first served."""
        return (-self.priority, self.entered, self.seq)


# --- decisions
@dataclass(frozen=True)
class Offer:
    """Ring this agent's phone for this call."""

    call_id: str
    agent: str
    ring_seconds: float


@dataclass(frozen=True)
class CancelOffer:
    """Stop ringing this agent (the caller left, or another agent answered)."""

    call_id: str
    agent: str


@dataclass(frozen=True)
class Overflow:
    """The call cannot wait here: `reason` is queue_full, max_wait or no_agents."""

    call_id: str
    queue: str
    reason: str


@dataclass(frozen=True)
class Moved:
    """An escalation step moved the call to another queue; it keeps its place in time."""

    call_id: str
    from_queue: str
    to_queue: str


@dataclass(frozen=True)
class Announce:
    """Tell the caller their position (only ever when it improved; 0: not this time) and
    estimated wait, and/or that they can press a key to be called back."""

    call_id: str
    position: int
    wait_seconds: int
    offer_callback: bool = False


@dataclass(frozen=True)
class AgentChanged:
    """An agent's state changed (stored with its time)."""

    agent: str
    status: AgentStatus
    reason: str = ""


Decision = Offer | CancelOffer | Overflow | Moved | Announce | AgentChanged
