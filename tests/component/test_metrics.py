"""/metrics gives the figures the alert rules watch, read from the controller at scrape time."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from acd.router import Router
from hotline import REPO_ROOT
from hotline.instance import load_center
from hotline.web import Metrics, make_app


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_scrape_reports_parts_agents_hours_and_disk(tmp_path: Path) -> None:
    """
    1. ARI is connected, AMI is not, the database is healthy; one agent of the roster is
       logged in (paused), the others are not; recordings and journal folders exist.
    2. A scrape reports each part, one agent logged in, whether it is in hours, the disk.
    """
    center = load_center(REPO_ROOT / "dialplan")
    router = Router(center.queues, list(center.roster.agents))
    first = next(iter(router.agents))
    router.login(first, time.time())
    router.pause(first, "break", time.time())
    (tmp_path / "spool" / "monitor").mkdir(parents=True)
    connected = asyncio.Event()
    connected.set()
    controller: Any = SimpleNamespace(
        config=SimpleNamespace(
            api_token="t",
            host_root=tmp_path,
            recordings_dir=Path("/spool/monitor"),
            spool_dir=tmp_path,
        ),
        ari=SimpleNamespace(connected=connected),
        hours=center.hours,
        desk=SimpleNamespace(router=router),
        journal=SimpleNamespace(backlog=3, healthy=True, spool_bytes=0, alarm=None),
    )
    app = make_app(controller, SimpleNamespace(connected=False), Metrics())  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        got = samples(await (await client.get("/metrics")).text())
    assert got[("hotline_component_up", (("part", "ari"),))] == 1
    assert got[("hotline_component_up", (("part", "ami"),))] == 0
    assert got[("hotline_component_up", (("part", "database"),))] == 1
    assert got[("hotline_agents_logged_in", ())] == 1
    assert got[("hotline_journal_backlog", ())] == 3
    assert got[("hotline_in_hours", ())] == center.hours.is_open(dt.datetime.now(dt.UTC))
    for path in ("recordings", "journal"):
        assert got[("hotline_disk_free_bytes", (("path", path),))] > 0
        assert (
            got[("hotline_disk_free_bytes", (("path", path),))]
            <= got[("hotline_disk_size_bytes", (("path", path),))]
        )
