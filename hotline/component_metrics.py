"""The supervisor's figures on the controller's /metrics: parts up, restarts per part.

Read from `supervisor.json` at each scrape (the supervisor is another process); a controller
run without a supervisor exports nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hotline import ownership


class ComponentCollector(Collector):
    """`hotline_component_up{part}` and `hotline_restarts_total{part}`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def collect(self) -> Iterator[Metric]:
        """One sample per part of the supervisor that owns the instance."""
        up = GaugeMetricFamily(
            "hotline_component_up", "Whether a supervised part runs (1) or not (0)", labels=["part"]
        )
        restarts = CounterMetricFamily(
            "hotline_restarts", "Times the supervisor started a part again", labels=["part"]
        )
        owner = ownership.holder(self.state_dir / ownership.INSTANCE_LOCK)
        state = ownership.read_state(self.state_dir) if owner is not None else None
        for name, part in ((state or {}).get("parts") or {}).items():
            pid = part.get("pid")
            running = bool(pid) and part.get("status") == "up" and ownership.alive(pid)
            up.add_metric([name], 1.0 if running else 0.0)
            restarts.add_metric([name], float(part.get("restarts", 0)))
        yield up
        yield restarts
