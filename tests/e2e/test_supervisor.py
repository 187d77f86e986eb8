"""The supervised instance: crashes repaired without a human, one owner, restarts that keep calls.

A separate instance ("supervised", its own loopback ports) is started with
`hotline start --detach`, exactly as an operator would, so the supervisor owns its own
Asterisk, PostgreSQL and controller (the session's `system` instance is not touched).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hotline import REPO_ROOT, ownership
from tests.support.calls import wait_for_call
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Keys, Pause, hang_up_leftovers
from tests.support.system import make_config_dir

INSTANCE = "supervised"
PORTS = {"SIP": 23060, "RTP_START": 21000, "HTTP": 23080, "ARI": 23088, "AMI": 23038, "PG": 23433}


@dataclass
class Supervised:
    """The supervised instance as an operator sees it: the CLI, its state, its database."""

    env: dict[str, str]
    state: Path
    work_dir: Path

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run `hotline <args>` for this instance."""
        return subprocess.run(
            [sys.executable, "-m", "hotline.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def parts(self) -> dict[str, Any]:
        """What the supervisor wrote about its parts (pid, restarts, status)."""
        parts: dict[str, Any] = json.loads((self.state / "supervisor.json").read_text())["parts"]
        return parts

    def secrets(self) -> dict[str, Any]:
        """The instance's generated secrets."""
        secrets: dict[str, Any] = json.loads((self.state / "secrets.json").read_text())
        return secrets

    def http(self, path: str, method: str = "GET") -> Any:
        """One request to the controller with the API token; parsed JSON or text."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORTS['HTTP']}{path}",
            method=method,
            headers={"Authorization": f"Bearer {self.secrets()['api_token']}"},
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            body = resp.read().decode()
        return json.loads(body) if body.startswith("{") else body

    def health(self) -> dict[str, Any] | None:
        """/health, or None while nothing answers."""
        try:
            result: dict[str, Any] = self.http("/health")
        except OSError:
            return None
        return result

    def caller(self, number: str) -> Caller:
        """A citizen calling this instance."""
        return Caller(sip_port=PORTS["SIP"], work_dir=self.work_dir, number=number)

    async def db(self) -> asyncpg.Connection:
        """A connection to the instance's database (retried while PostgreSQL restarts)."""
        password = self.secrets()["pg_password"]
        dsn = f"postgresql://hotline:{password}@127.0.0.1:{PORTS['PG']}/hotline"
        for _ in range(100):
            try:
                return await asyncpg.connect(dsn, timeout=2)
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(0.2)
        return await asyncpg.connect(dsn)


def wait_until(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll check until it returns something truthy; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def restarted(sup: Supervised, part: str, old_pid: int) -> bool:
    """The supervisor has started part again (a new pid, up)."""
    now = sup.parts()[part]
    return bool(now["pid"] not in (None, old_pid) and now["status"] == "up")


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervised]:
    work_dir = tmp_path_factory.mktemp("supervised")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_INSTANCE"] = INSTANCE
    env["HOTLINE_CONFIG_DIR"] = str(make_config_dir(work_dir / "config"))
    env.update({f"HOTLINE_{name}_PORT": str(port) for name, port in PORTS.items()})
    env["HOTLINE_RTP_START"] = env.pop("HOTLINE_RTP_START_PORT")
    env["HOTLINE_CHANNELS"] = "200"  # RTP 21000-21399: clear of the other ports here
    env["HOTLINE_ALLOW_DEMO_CITIZENS"] = "yes"  # a test instance, though not named "test"
    sup = Supervised(env=env, state=REPO_ROOT / ".local" / INSTANCE, work_dir=work_dir)
    sup.cli("stop", timeout=180)  # whatever a failed earlier run left behind
    started = sup.cli("start", "--detach")
    assert started.returncode == 0, started.stderr[-3000:]
    try:
        yield sup
    finally:
        sup.cli("stop", timeout=180)


@pytest.fixture
async def calls_cleaned() -> AsyncIterator[None]:
    yield
    await hang_up_leftovers()


def ensure_running(sup: Supervised) -> None:
    """Each test starts from a running, connected instance."""
    if not (sup.health() or {}).get("ari_connected"):
        started = sup.cli("start", "--detach")
        assert started.returncode == 0, started.stderr[-3000:]


def test_start_twice_leaves_the_running_instance_untouched(supervised: Supervised) -> None:
    """
    1. The instance runs (started detached).
    2. `hotline start --detach` again: exit 0, it says the instance is already running.
    3. The same supervisor, the same parts with the same pids, no restart, the same controller.
    """
    ensure_running(supervised)
    before, health = supervised.parts(), supervised.health()
    again = supervised.cli("start", "--detach")
    assert again.returncode == 0
    assert "already running" in again.stderr
    assert supervised.parts() == before
    after = supervised.health()
    assert after is not None and health is not None and after["run_id"] == health["run_id"]


TO_A_PERSON = [Pause(1500), Keys("0"), Pause(800), Keys("0")]  # the menu's "0", then "0"


def desk_phone(sup: Supervised, agent: str) -> DeskPhone:
    """The agent's desk phone on this instance (not registered yet)."""
    return DeskPhone(
        user=agent,
        password=sup.secrets()["agent_passwords"][agent],
        sip_port=PORTS["SIP"],
        work_dir=sup.work_dir / f"phone-{agent}",
        calls=50,  # room for Asterisk's qualify pings as well as the calls
    )


def agent_state(sup: Supervised, agent: str) -> dict[str, Any]:
    """The agent as the controller's router sees it (GET /agents)."""
    state: dict[str, Any] = sup.http("/agents")["agents"][agent]
    return state


async def test_an_asterisk_crash_is_repaired_and_the_cut_calls_closed(
    supervised: Supervised, calls_cleaned: None
) -> None:
    """
    1. Agent 1003 is logged in at their desk phone; citizen T is put through to them and
       talks; citizen M is in the voice menu; and calls keep coming (2 a second, 40 in all,
       each 3 s in the menu): the load goes on across the crash.
    2. Asterisk is killed (SIGKILL, as a segfault would).
    3. Without anyone acting, the supervisor starts it again and the controller reconnects;
       a new call is answered by the controller.
    4. Both cut calls are closed in `calls` as cut_by_asterisk_restart; the restart is counted.
       Of the load, every call that reached the controller is closed (served, or cut by the
       crash) and the calls placed after the repair are served as usual.
    5. The desk phone registers again (as a phone does on its interval): 1003 is ready again,
       not stuck on a call that died with Asterisk, and takes the next caller.
    """
    ensure_running(supervised)
    agent = desk_phone(supervised, "1003")
    await agent.register()
    db = await supervised.db()
    try:
        # The instance's database outlives a run of the tests: only this run's calls count.
        since = await db.fetchval("SELECT now()")

        def ended(row: asyncpg.Record) -> bool:
            return bool(row["started_at"] >= since and row["ended_at"] is not None)

        supervised.http("/agents/1003/login", "POST")
        cut = supervised.caller("13900000801")
        await cut.start([Pause(30000)])
        talking = supervised.caller("13900000806")
        await talking.start([*TO_A_PERSON, Pause(30000)])
        await wait_for_call(
            db, cut.number, until=lambda r: r["started_at"] >= since and r["ivr_path"] == ["main"]
        )
        await wait_for_call(
            db, talking.number, until=lambda r: r["started_at"] >= since and r["agent"] == "1003"
        )
        assert agent_state(supervised, "1003")["status"] == "on_call"
        load = supervised.caller("13900000808")
        await load.start([Pause(3000)], calls=40, rate=2)  # 20 s of calls, across the crash
        await wait_for_call(db, load.number, until=lambda r: r["started_at"] >= since)
        pid = supervised.parts()["asterisk"]["pid"]
        killed = time.time()
        os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(
            wait_until, "Asterisk started again", lambda: restarted(supervised, "asterisk", pid)
        )
        for number in (cut.number, talking.number):
            row = await wait_for_call(db, number, until=ended)
            assert row["disposition"] == "cut_by_asterisk_restart", number
            assert row["ended_at"] is not None, number
        # A new call is answered by the controller (not the native fallback) once it is back.
        new = supervised.caller("13900000802")
        result = await new.call([Pause(3000)])
        assert result.ok, result.output
        row = await wait_for_call(db, new.number, until=ended)
        assert row["hangup_side"] == "caller" and row["answered_at"] is not None
        # Reported, not asserted (shared machine): the goal is under 10 s.
        answered_after = row["answered_at"].timestamp() - killed
        print(f"a new call was answered {answered_after:.1f} s after Asterisk was killed")
        await load.finish(timeout=120)  # calls placed while Asterisk was down fail: expected
        for _ in range(100):  # the journal writes the last calls' ends asynchronously
            loads = await db.fetch(
                "SELECT started_at, answered_at, ended_at, disposition FROM calls"
                " WHERE caller_number = $1 AND started_at >= $2",
                load.number,
                since,
            )
            open_ = [r for r in loads if r["ended_at"] is None or r["disposition"] is None]
            if not open_:
                break
            await asyncio.sleep(0.2)
        assert open_ == []
        after = [r for r in loads if r["started_at"].timestamp() > killed + 5]
        assert after, "no call of the load reached the repaired hotline"
        assert all(r["answered_at"] and r["disposition"] == "abandoned_in_menu" for r in after)
        assert supervised.parts()["asterisk"]["restarts"] == 1
        assert 'hotline_restarts_total{part="asterisk"} 1.0' in supervised.http("/metrics")
        await agent.register()
        await asyncio.to_thread(
            wait_until,
            "agent 1003 ready again at a reachable phone",
            lambda: (a := agent_state(supervised, "1003"))["status"] == "ready" and a["reachable"],
        )
        next_caller = supervised.caller("13900000807")
        result = await next_caller.call([*TO_A_PERSON, Pause(4000)])
        assert result.ok, result.output
        row = await wait_for_call(db, next_caller.number, until=ended)
        assert row["agent"] == "1003" and row["disposition"] == "answered"
    finally:
        await db.close()
        supervised.http("/agents/1003/logout", "POST")
        await agent.close()


async def test_postgres_and_controller_crashes_are_repaired(
    supervised: Supervised, calls_cleaned: None
) -> None:
    """
    1. The private PostgreSQL is killed (SIGKILL); a citizen calls at that moment.
    2. The supervisor starts PostgreSQL again; the call is recorded all the same.
    3. The controller is killed (SIGKILL); the supervisor starts a new one, which connects.
    4. `hotline status` shows each part up, with its restart counted.
    """
    ensure_running(supervised)
    parts = supervised.parts()
    pg_pid, controller_pid = parts["postgres"]["pid"], parts["controller"]["pid"]
    os.kill(pg_pid, signal.SIGKILL)
    during = supervised.caller("13900000803")
    result = await during.call([Pause(2500)])
    assert result.ok, result.output
    await asyncio.to_thread(
        wait_until, "PostgreSQL started again", lambda: restarted(supervised, "postgres", pg_pid)
    )
    db = await supervised.db()
    try:
        row = await wait_for_call(db, during.number)  # the journal kept it and wrote it later
        assert row["hangup_side"] == "caller"
    finally:
        await db.close()
    run_id = (supervised.health() or {})["run_id"]
    os.kill(controller_pid, signal.SIGKILL)
    await asyncio.to_thread(
        wait_until,
        "a new controller connected",
        lambda: (h := supervised.health()) and h["ari_connected"] and h["run_id"] != run_id,
    )
    status = supervised.cli("status")
    assert status.returncode == 0, status.stdout
    report = json.loads(status.stdout)["parts"]
    assert report["postgres"]["restarts"] >= 1 and report["controller"]["restarts"] >= 1
    assert all(p["up"] and p["uptime_seconds"] is not None for p in report.values())


async def test_restart_of_the_controller_keeps_a_waiting_and_a_menu_caller(
    supervised: Supervised, calls_cleaned: None
) -> None:
    """
    1. Agent 1003 is logged in and paused: citizens wait. Citizen W asks for a person and
       waits in the queue; citizen M is in the voice menu.
    2. `hotline restart --controller` (new code, same Asterisk).
    3. A new controller adopts both: W is still waiting in the queue, M in the menu; both
       hang up themselves at the end (nobody was dropped).
    """
    ensure_running(supervised)
    agent = desk_phone(supervised, "1003")
    await agent.register()
    db = await supervised.db()
    try:
        supervised.http("/agents/1003/login", "POST")
        supervised.http("/agents/1003/pause?reason=meeting", "POST")
        waiting = supervised.caller("13900000804")
        await waiting.start([*TO_A_PERSON, Pause(16000)])
        menu = supervised.caller("13900000805")
        await menu.start([Pause(12000)])
        await wait_for_call(db, waiting.number, until=lambda r: r["queue"] == "general")
        await wait_for_call(db, menu.number, until=lambda r: r["ivr_path"] == ["main"])
        before = supervised.parts()["controller"]["pid"]
        restart = await asyncio.to_thread(supervised.cli, "restart", "--controller")
        assert restart.returncode == 0, restart.stderr
        assert supervised.parts()["controller"]["pid"] != before
        waiting_now = await asyncio.to_thread(
            wait_until,
            "the waiting caller adopted in the queue",
            lambda: [w["queue"] for w in supervised.http("/agents")["waiting"].values()],
        )
        assert waiting_now == ["general"]
        results = await asyncio.gather(waiting.finish(), menu.finish())
        assert all(r.ok for r in results), [r.output for r in results if not r.ok]
        for number in (waiting.number, menu.number):
            row = await wait_for_call(db, number)
            assert row["adoptions"] == 1, number
            assert row["hangup_side"] == "caller", number
    finally:
        await db.close()
        supervised.http("/agents/1003/logout", "POST")
        await agent.close()


def test_stop_finds_every_process_whoever_started_it(supervised: Supervised) -> None:
    """
    1. The supervisor is killed (SIGKILL): its Asterisk, PostgreSQL and controller run on.
    2. `hotline stop` finds them from their lock and pid files, stops them and names them.
    3. A controller started by hand (`hotline controller`) is found and stopped the same way.
    """
    ensure_running(supervised)
    parts = supervised.parts()
    owner = int((supervised.state / "instance.lock").read_text())
    os.kill(owner, signal.SIGKILL)
    wait_until("the supervisor gone", lambda: not ownership.alive(owner))
    stop = supervised.cli("stop", timeout=180)
    assert stop.returncode == 0
    for name in ("asterisk", "postgres", "controller"):
        assert f"{name} (pid {parts[name]['pid']})" in stop.stderr, stop.stderr
        assert not ownership.alive(parts[name]["pid"]), name  # (a zombie of no one is gone)
    by_hand = subprocess.Popen(
        [sys.executable, "-m", "hotline.cli", "controller"],
        env=supervised.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = supervised.state / "controller.lock"
    wait_until(
        "the hand-started controller holds its lock",
        lambda: lock.exists() and lock.read_text().strip() == str(by_hand.pid),
    )
    stop = supervised.cli("stop", timeout=60)
    assert stop.returncode == 0
    assert f"controller (pid {by_hand.pid})" in stop.stderr, stop.stderr
    assert by_hand.wait(timeout=10) == 0
