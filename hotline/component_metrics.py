"""The supervisor's figures on the controller's /metrics: parts up, restarts per part.

The supervisor is another process: it writes `supervisor.json`, and at each scrape the
controller copies it into `hotline_component_up{part}` and `hotline_restarts_total{part}`
(defined in hotline/web.py). A controller run without a supervisor exports nothing here.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import Counter, Gauge

from hotline import ownership


class SupervisedParts:
    """Reads the supervisor's state file; remembers what the restart counter already holds."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._counted: dict[str, int] = {}

    def read(self) -> dict[str, tuple[bool, int]]:
        """part -> (running, restarts), from the supervisor that owns the instance now."""
        owner = ownership.holder(self.state_dir / ownership.INSTANCE_LOCK)
        state = ownership.read_state(self.state_dir) if owner is not None else None
        figures = {}
        for name, part in ((state or {}).get("parts") or {}).items():
            pid = part.get("pid")
            running = bool(pid) and part.get("status") == "up" and ownership.alive(pid)
            figures[name] = (running, int(part.get("restarts", 0)))
        return figures

    def export(self, up: Gauge, restarts: Counter) -> None:
        """Set the gauge; add the restarts counted since the last scrape to the counter."""
        for name, (running, count) in self.read().items():
            up.labels(name).set(1 if running else 0)
            # A new supervisor counts from 0 again: a counter never goes down, so only
            # what it counted since is added.
            added = count - self._counted.get(name, 0)
            if added > 0:
                restarts.labels(name).inc(added)
            self._counted[name] = count
