"""The supervisor's loop with stand-in parts (short-lived local processes, no Asterisk)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from hotline import ownership
from hotline.component_metrics import SupervisedParts
from hotline.parts import Part, Running
from hotline.restarts import RestartPolicy
from hotline.settings import Settings
from hotline.supervisor import Supervisor
from hotline.telephony.backoff import Backoff
from hotline.web import Metrics


class Program(Part):
    """A part that is just a program: started as our child, never found running."""

    def __init__(self, name: str, *argv: str) -> None:
        self.name = name
        self.argv = list(argv)

    def find(self) -> int | None:
        return None

    def start(self) -> Running:
        proc = subprocess.Popen(self.argv)
        return Running(pid=proc.pid, proc=proc)


def wait_until(what: str, check: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Callable[..., Supervisor]]:
    made: list[Supervisor] = []

    def make(*parts: Part, policy: Callable[[], RestartPolicy] = RestartPolicy) -> Supervisor:
        sup = Supervisor(Settings(instance="unit", state_dir=tmp_path), list(parts), policy)
        sup.start_all(lambda _message: None)
        made.append(sup)
        return sup

    yield make
    for sup in made:
        sup.stop_all()


def parts_file(sup: Supervisor) -> dict[str, Any]:
    state = ownership.read_state(sup.settings.state)
    assert state is not None
    parts: dict[str, Any] = state["parts"]
    return parts


def test_a_killed_part_is_started_again_and_counted(supervise: Callable[..., Supervisor]) -> None:
    sup = supervise(Program("asterisk", "sleep", "60"))
    first = parts_file(sup)["asterisk"]["pid"]
    os.kill(first, signal.SIGKILL)
    again = wait_until(
        "restarted", lambda: (p := parts_file(sup)["asterisk"])["restarts"] == 1 and p
    )
    assert again["pid"] != first and ownership.alive(again["pid"])
    assert again["status"] == "up"
    assert again["last_exit"] == "killed by SIGKILL"
    assert sup.stop_all() == [("asterisk", again["pid"])]
    assert not ownership.alive(again["pid"])
    assert parts_file(sup)["asterisk"]["status"] == "stopped"


def test_a_part_that_keeps_dying_is_reported_as_a_crash_loop_and_slowed(
    supervise: Callable[..., Supervisor],
) -> None:
    def policy() -> RestartPolicy:
        backoff = Backoff(initial=0.05, factor=2, cap=1, jitter=0, stable_after=30)
        return RestartPolicy(backoff=backoff, loop_window=60, loop_exits=3, loop_delay=30)

    sup = supervise(Program("controller", "false"), policy=policy)
    looping = wait_until(
        "a crash loop", lambda: (p := parts_file(sup)["controller"])["status"] == "crash_loop" and p
    )
    assert looping["last_exit"] == "exit 1"
    time.sleep(1)  # several times the backoff: a spinning loop would have restarted again
    assert parts_file(sup)["controller"]["restarts"] == looping["restarts"] == 2
    started = time.monotonic()
    sup.stop_all()  # the 30 s wait is interrupted
    assert time.monotonic() - started < 10


def test_requested_restarts_are_not_crashes_and_leave_other_parts_alone(
    supervise: Callable[..., Supervisor],
) -> None:
    def policy() -> RestartPolicy:  # two exits would be a loop, restarted only after 30 s
        return RestartPolicy(loop_window=60, loop_exits=2, loop_delay=30)

    sup = supervise(
        Program("asterisk", "sleep", "60"), Program("controller", "sleep", "60"), policy=policy
    )
    before = parts_file(sup)
    for count in (1, 2, 3):
        sup.restart("controller")
        after = wait_until(
            f"restart {count}",
            lambda n=count: (p := parts_file(sup))["controller"]["restarts"] == n and p,
        )
        assert after["controller"]["status"] == "up"
    assert after["controller"]["last_exit"] == "killed by SIGTERM"
    assert after["asterisk"] == before["asterisk"]
    stopped = sup.stop_all()
    assert [name for name, _pid in stopped] == ["controller", "asterisk"]  # reverse order


def test_metrics_follow_the_supervisor_and_never_count_back(
    supervise: Callable[..., Supervisor], tmp_path: Path
) -> None:
    lock = ownership.acquire(tmp_path / ownership.INSTANCE_LOCK)  # as `hotline start` holds it
    try:
        sup = supervise(Program("asterisk", "sleep", "60"))
        metrics, parts = Metrics(), SupervisedParts(tmp_path)
        first = parts_file(sup)["asterisk"]["pid"]
        os.kill(first, signal.SIGKILL)
        wait_until("restarted", lambda: parts_file(sup)["asterisk"]["restarts"] == 1)
        parts.export(metrics.component_up, metrics.restarts)
        parts.export(metrics.component_up, metrics.restarts)  # a second scrape adds nothing
        text = generate_latest(metrics.registry).decode()
        assert 'hotline_component_up{part="asterisk"} 1.0' in text
        assert 'hotline_restarts_total{part="asterisk"} 1.0' in text
        sup.stop_all()
        parts.export(metrics.component_up, metrics.restarts)
        text = generate_latest(metrics.registry).decode()
        assert 'hotline_component_up{part="asterisk"} 0.0' in text
        assert 'hotline_restarts_total{part="asterisk"} 1.0' in text
    finally:
        lock.release()
