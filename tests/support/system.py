"""The system under test: a private Asterisk + PostgreSQL instance and the controller process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline import REPO_ROOT
from hotline.instance import Instance, prepare, start_services, stop_services
from hotline.settings import Settings

DEPARTMENT_PORT = 25070

ALWAYS_OPEN = """timezone: Asia/Shanghai
weekly:
{days}
holidays: []
workdays: {{}}
duty:
  experts:
{duty}
"""


def make_config_dir(target: Path) -> Path:
    """A copy of the shipped config with people answering at all hours (tests must not
    depend on the time of day they run at)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO_ROOT / "dialplan", target)
    days = "\n".join(
        f'  {d}: [{{start: "00:00", end: "23:59:59"}}]'
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    duty = "\n".join(f"  {line}" for line in days.split("\n"))  # experts always on duty
    (target / "hours.yaml").write_text(ALWAYS_OPEN.format(days=days, duty=duty))
    # Short rings and wrap-ups keep the scenarios quick; the logic is the same.
    queues = (target / "queues.yaml").read_text()
    queues = queues.replace("queues:\n", "queues:\n", 1)
    for name in ("general", "social_insurance", "employment", "expert_social_insurance"):
        queues = queues.replace(
            f"  {name}:\n", f"  {name}:\n    ring_seconds: 4\n    wrapup_seconds: 2\n", 1
        )
    # An agent consulting the expert queue waits at most 6 s for an expert.
    queues = queues.replace(
        "  expert_social_insurance:\n", "  expert_social_insurance:\n    consult_timeout: 6\n", 1
    )
    queues = queues.replace("{after: 30, min_level: 1}", "{after: 12, min_level: 1}", 1)
    # Employment callers wait at most 12 s here (then a callback is booked in their place).
    queues = queues.replace("  employment:\n", "  employment:\n    max_wait_seconds: 12\n", 1)
    queues = queues.replace("  ring_seconds: 30\n", "  ring_seconds: 5\n", 1)
    queues = queues.replace("  retry_after_seconds: 120\n", "  retry_after_seconds: 2\n", 1)
    queues = queues.replace("  attempts: 3\n", "  attempts: 2\n", 1)
    queues = queues.replace("  max_per_number_per_day: 3\n", "  max_per_number_per_day: 1\n", 1)
    (target / "queues.yaml").write_text(queues)
    # A transfer to another department, reached through the trunk.
    menu = (target / "menu.yaml").read_text()
    # The main menu waits 3 s for a key after its prompt (6 shipped): the silence scenario
    # goes through its three tries sooner; no other scenario stays silent there that long.
    menu = menu.replace(
        "  main:\n    prompt: [menu-main]\n    timeout: 6\n",
        "  main:\n    prompt: [menu-main]\n    timeout: 3\n",
        1,
    )
    menu = menu.replace(
        '      "2": {queue: employment}\n',
        '      "2": {queue: employment}\n      "8": {transfer: "12329"}\n',
        1,
    )
    (target / "menu.yaml").write_text(menu)
    # The follow-up call comes right after the owner's call-back reached the citizen.
    orders = (target / "work_orders.yaml").read_text()
    orders = orders.replace("  after_minutes: 60\n", "  after_minutes: 0\n", 1)
    orders = orders.replace("  ring_seconds: 30\n", "  ring_seconds: 10\n", 1)
    (target / "work_orders.yaml").write_text(orders)
    return target


@dataclass
class ControllerProcess:
    """`hotline controller` as a child process the tests can kill and restart."""

    env: dict[str, str]
    http_port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        """Start and wait until it is connected to ARI."""
        assert self.proc is None or self.proc.poll() is not None
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hotline.cli", "controller"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"controller exited {self.proc.returncode}: {self.log_tail()}")
            health = self.health()
            if health and health.get("ari_connected"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"controller not ready in 30 s: {self.log_tail()}")

    def health(self) -> dict[str, Any] | None:
        """/health, or None when nothing answers."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.http_port}/health", timeout=2
            ) as r:
                result: dict[str, Any] = json.loads(r.read())
                return result
        except urllib.error.HTTPError as exc:
            result = json.loads(exc.read() or b"{}")
            return result
        except OSError:
            return None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop it with sig (SIGKILL: as a crash would)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The end of its log, for failure messages."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class SystemUnderTest:
    """Everything a scenario test needs."""

    instance: Instance
    controller: ControllerProcess
    work_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        """The test instance's settings."""
        return self.instance.settings

    @property
    def dsn(self) -> str:
        """asyncpg DSN of the test database."""
        assert self.instance.database_url
        return self.instance.database_url.replace("postgresql+asyncpg://", "postgresql://")


def bring_up(work_dir: Path) -> SystemUnderTest:
    """Prepare and start the test instance (Asterisk and PostgreSQL), controller stopped."""
    state = REPO_ROOT / ".local" / "test"
    config_dir = make_config_dir(work_dir / "config")
    # Transfers leave through the trunk to a SIPp "department" the tests start on this port.
    # The controller gets the same settings: `config apply` renders Asterisk's config again
    # (without the trunk's contact, calls through the trunk would fail from then on).
    env_overrides = {
        "HOTLINE_INSTANCE": "test",
        "HOTLINE_STATE_DIR": str(state),
        "HOTLINE_CONFIG_DIR": str(config_dir),
        "HOTLINE_TRUNK_CONTACT": f"sip:127.0.0.1:{DEPARTMENT_PORT}",
    }
    settings = Settings(
        instance="test",
        state_dir=state,
        config_dir=config_dir,
        trunk_contact=env_overrides["HOTLINE_TRUNK_CONTACT"],
    )
    instance = prepare(settings, lambda m: print(f"[test system] {m}", file=sys.stderr))
    start_services(instance, lambda m: print(f"[test system] {m}", file=sys.stderr))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(env_overrides)
    controller = ControllerProcess(
        env=env, http_port=settings.ports.http, log_path=work_dir / "controller.log"
    )
    return SystemUnderTest(instance=instance, controller=controller, work_dir=work_dir)


def tear_down(system: SystemUnderTest) -> None:
    """Stop the controller, Asterisk and PostgreSQL."""
    system.controller.stop()
    stop_services(system.instance)
