"""The load benchmark's own instance ("bench"): a center of many agents on private ports.

Ports stay clear of the dev instance (5060, 8080, 8088, 5038, 5433, RTP 10000–13999), the
test instance (+20000, RTP 14000–17999) and the supervisor's e2e tests (23xxx, RTP
21000–21399): TCP/SIP on 24xxx, RTP from 29000 (below the kernel's ephemeral ports, 32768).
The config is the tests' (always open, short rings and wrap-ups) with a generated roster.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from bench import native
from bench.scenarios import AgentPhones
from hotline import REPO_ROOT
from hotline.instance import Instance, prepare, start_services, stop_services
from hotline.provision import asterisk
from hotline.settings import Settings
from tests.support.system import ControllerProcess, make_config_dir

PORTS = {
    "sip_port": 24060,
    "http_port": 24080,
    "ari_port": 24088,
    "ami_port": 24038,
    "pg_port": 24433,
    "rtp_start": 29000,
}
MAX_CHANNELS = 1850  # two RTP ports each from 29000: the range ends below 32768
QUEUE = "social_insurance"
WRAPUP_SECONDS = 2
FIRST_AGENT = 5000


def write_roster(config_dir: Path, agents: int, greeting: bool = True) -> list[str]:
    """agents.yaml with `agents` agents, each with the one skill of the benchmark's queue;
    that queue takes as many waiting callers as come (the native queue has no limit).
    `greeting`: the caller hears the agent's number (native's flow has no such step)."""
    numbers = [str(FIRST_AGENT + n) for n in range(agents)]
    lines = ["agents:"]
    for number in numbers:
        lines += [
            f'  - number: "{number}"',
            f"    name: 坐席{number}",
            f"    skills: {{{QUEUE}: 3}}",
        ]
    (config_dir / "agents.yaml").write_text("\n".join(lines) + "\n")
    queues = (config_dir / "queues.yaml").read_text()
    queues = queues.replace(f"  {QUEUE}:\n", f"  {QUEUE}:\n    max_waiting: 100000\n", 1)
    queues = re.sub(r"(?m)^greet_with_agent_number:.*\n", "", queues)
    queues += f"greet_with_agent_number: {str(greeting).lower()}\n"
    (config_dir / "queues.yaml").write_text(queues)
    return numbers


def cpu_seconds(pid: int | None) -> float | None:
    """utime + stime of a live process, in seconds (None once it is gone)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a live process, MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def taskprocessor_counts(text: str, app: str) -> dict[str, int]:
    """Messages handled, from `core show taskprocessors`: by the ARI application's own
    taskprocessor (one thread routes every message of every channel, bridge and playback the
    application watches, whether its events are filtered out later or not), by AMI's, and by
    all of them."""
    counts = dict.fromkeys(("application", "manager", "all"), 0)
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2 or not fields[1].isdigit():
            continue
        name, processed = fields[0], int(fields[1])
        counts["all"] += processed
        if name.startswith(f"stasis/m:ari:application/{app}"):
            counts["application"] += processed
        elif name.startswith("stasis/m:manager"):
            counts["manager"] += processed
    return counts


@dataclass
class Center:
    """The bench instance, its controller and the agents' phones, up until `close`."""

    work_dir: Path
    agents: int
    channels: int
    settings: Settings = field(init=False)
    env: dict[str, str] = field(init=False)
    instance: Instance | None = None
    controller: ControllerProcess | None = None
    phones: AgentPhones | None = None
    numbers: list[str] = field(default_factory=list)
    talk_ms: int = 10_000
    greeting: bool = True
    _ari: aiohttp.ClientSession | None = None

    def __post_init__(self) -> None:
        values: dict[str, object] = {
            "instance": "bench",
            "state_dir": REPO_ROOT / ".local" / "bench",
            "config_dir": self.work_dir / "config",
            "channels": min(self.channels, MAX_CHANNELS),
            "allow_demo_citizens": "yes",
            **PORTS,
        }
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        self.env.update({f"HOTLINE_{k.upper()}": str(v) for k, v in values.items()})
        self.settings = Settings(**values)  # type: ignore[arg-type]

    def say(self, message: str) -> None:
        """Progress, on stderr."""
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    async def open(self, talk_ms: int) -> None:
        """Config, Asterisk + PostgreSQL, the controller, every agent's phone registered and
        every agent logged in (ready)."""
        self.talk_ms = talk_ms
        self.instance = await asyncio.to_thread(self._start_services)
        self.controller = ControllerProcess(
            env=self.env,
            http_port=self.settings.ports.http,
            log_path=self.work_dir / "controller.log",
        )
        await asyncio.to_thread(self.controller.start)
        secrets = self.instance.secrets
        self.phones = AgentPhones(
            sip_port=self.settings.ports.sip,
            work_dir=self.work_dir / "agents",
            accounts={n: secrets.agent_passwords[n] for n in self.numbers},
            talk_ms=talk_ms,
        )
        await self.phones.start()
        self.say(f"{len(self.numbers)} agents' phones registered at one SIPp UAS")
        await asyncio.to_thread(self._log_in_everyone)

    def _start_services(self) -> Instance:
        config = make_config_dir(self.work_dir / "config")
        self.numbers = write_roster(config, self.agents, self.greeting)
        instance = prepare(self.settings, self.say)
        native.install(self.settings, self.numbers, WRAPUP_SECONDS)
        self.instance = instance  # stopped by close() even if starting fails halfway
        start_services(instance, self.say)
        return instance

    def _log_in_everyone(self) -> None:
        assert self.instance is not None
        token = self.instance.secrets.api_token
        for number in self.numbers:
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.settings.ports.http}/agents/{number}/login",
                method="POST",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=10) as resp:
                json.loads(resp.read())

    async def close(self) -> None:
        """Stop everything this started, whatever state it is in."""
        if self._ari is not None:
            await self._ari.close()
        if self.phones is not None:
            up = self.asterisk_pid is not None
            await self.phones.stop(unregister=up)
        if self.controller is not None:
            await asyncio.to_thread(self.controller.stop)
        if self.instance is not None:
            await asyncio.to_thread(stop_services, self.instance)

    @property
    def asterisk_pid(self) -> int | None:
        """Asterisk's pid (it runs in its chroot, started by us)."""
        return asterisk.running_pid(self.settings)

    @property
    def controller_pid(self) -> int | None:
        """The controller's pid."""
        proc = self.controller.proc if self.controller else None
        return proc.pid if proc is not None and proc.poll() is None else None

    def asterisk_version(self) -> str:
        """`core show version`, first line."""
        try:
            return asterisk.cli(self.settings, "core show version", timeout=10).strip()
        except (asterisk.ProvisionError, subprocess.TimeoutExpired):
            return "unknown"

    async def conversations(self) -> int:
        """Bridges in Asterisk holding two channels or more: conversations at this moment
        (the controller's mixing bridges and app_queue's alike; ARI lists every bridge)."""
        assert self.instance is not None
        secrets = self.instance.secrets
        if self._ari is None:
            auth = base64.b64encode(f"{secrets.ari_user}:{secrets.ari_password}".encode())
            self._ari = aiohttp.ClientSession(headers={"Authorization": f"Basic {auth.decode()}"})
        url = f"http://127.0.0.1:{self.settings.ports.ari}/ari/bridges"
        async with self._ari.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            bridges = await resp.json()
        return sum(1 for b in bridges if len(b.get("channels", [])) >= 2)

    def taskprocessors(self) -> dict[str, int]:
        """Messages Asterisk's taskprocessors have handled so far (see `taskprocessor_counts`)."""
        try:
            text = asterisk.cli(self.settings, "core show taskprocessors", timeout=10)
        except (asterisk.ProvisionError, subprocess.TimeoutExpired):
            text = ""
        return taskprocessor_counts(text, self.settings.ari_app)

    async def ari_traffic(self) -> dict[str, float]:
        """The controller's ARI counters (/metrics): requests sent, events received by type."""
        url = f"http://127.0.0.1:{self.settings.ports.http}/metrics"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp,
        ):
            text = await resp.text()
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "hotline_ari_requests_total":
                    out["requests"] = out.get("requests", 0) + sample.value
                    what = f"request:{sample.labels.get('method')} {sample.labels.get('resource')}"
                    out[what] = out.get(what, 0) + sample.value
                elif sample.name == "hotline_ari_events_total":
                    kind = f"event:{sample.labels.get('type', '')}"
                    out[kind] = out.get(kind, 0) + sample.value
        return out

    async def count(self, sql: str) -> int:
        """One number from the bench database."""
        assert self.instance is not None and self.instance.database_url
        dsn = self.instance.database_url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            return int(await conn.fetchval(sql))
        finally:
            await conn.close()
