"""The router benchmark runs and both routers decide alike at its scale (no timing checked)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.router import main


def test_the_router_benchmark_writes_its_figures_and_both_routers_agree(tmp_path: Path) -> None:
    out = tmp_path / ".local" / "router.json"  # a fresh checkout has no .local/ yet
    assert (
        main([str(out), "--sizes", "30", "--runs", "1", "--events", "60", "--naive-seconds", "1"])
        == 0
    )
    report = json.loads(out.read_text())
    assert report["machine"]["cpu_count"] >= 1
    assert report["agents"] == 2_000 and report["skills"] == 50
    (size,) = report["sizes"]
    assert size["waiting"] == 30 and size["same_decisions"]
    assert size["indexed"]["events"] == 60 and size["naive"]["events"] >= 1
    # Two simulated seconds of events at 30 a second: two ticks, each announcing.
    assert size["indexed"]["ticks"] == 2 and size["indexed"]["tick_decisions_p99"] >= 1
    # Each tick timed part by part as the controller takes it.
    assert size["indexed"]["tick_parts_p50"] >= 1 and size["indexed"]["p99_part_ms"] > 0
