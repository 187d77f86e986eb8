"""The foundation call path through the real Asterisk, with SIPp as the citizen's phone."""

from __future__ import annotations

import asyncio
import re
import signal
import urllib.request
from pathlib import Path

import asyncpg
import pytest

from tests.support.calls import events_of, prompts_played, wait_for_call
from tests.support.observer import AriObserver
from tests.support.sipp import Caller, Keys, Pause, WaitForHangup
from tests.support.system import SystemUnderTest


async def test_call_is_answered_hears_welcome_and_leaves_a_complete_record(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver, caller: Caller
) -> None:
    """
    1. A citizen calls 12333 and stays on the line through the welcome prompt.
    2. The citizen hangs up while the main menu plays.
    3. Asterisk reports the welcome playback done; the calls row is complete.
    """
    caller.number = "13900000001"
    result = await caller.call([Pause(7000)])
    assert result.ok, result.output

    row = await wait_for_call(db, caller.number)
    assert row["answered_at"] is not None and row["started_at"] <= row["answered_at"]
    assert row["ended_at"] >= row["answered_at"]
    assert row["dialed_number"] == "12333"
    assert row["linkedid"] == row["channel_id"]
    assert row["ivr_path"] == ["main"]
    assert row["hangup_side"] == "caller"
    assert row["disposition"] == "abandoned_in_menu"

    finished = await observer.wait_for(
        lambda e: (
            e.get("type") == "PlaybackFinished"
            and e["playback"]["target_uri"] == f"channel:{row['channel_id']}"
            and e["playback"]["media_uri"].endswith("/welcome")
        )
    )
    assert finished["playback"]["state"] == "done"  # played to the end, not cut off
    assert prompts_played(await events_of(db, row["channel_id"]))[:2] == ["welcome", "menu-main"]
    # Only the events the controller reads reach it (no ChannelVarset per variable set).
    metrics = await asyncio.to_thread(metrics_text, running)
    kinds = set(re.findall(r'hotline_ari_events_total\{type="(\w+)"\}', metrics))
    assert "StasisStart" in kinds and "ChannelVarset" not in kinds, kinds


def metrics_text(system: SystemUnderTest) -> str:
    url = f"http://127.0.0.1:{system.settings.ports.http}/metrics"
    with urllib.request.urlopen(url) as response:
        return str(response.read().decode())


async def test_hangup_during_the_prompt_leaves_no_channel_behind(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver, caller: Caller
) -> None:
    """
    1. A citizen calls and hangs up one second into the welcome prompt.
    2. The call row is closed as abandoned by the caller; Asterisk has no channel left.
    """
    caller.number = "13900000002"
    result = await caller.call([Pause(1000)])
    assert result.ok, result.output
    row = await wait_for_call(db, caller.number)
    assert row["hangup_side"] == "caller"
    assert row["ivr_path"] == []
    await observer.wait_for(
        lambda e: e.get("type") == "ChannelDestroyed" and e["channel"]["id"] == row["channel_id"]
    )
    assert [c for c in await observer.channels() if c["caller"]["number"] == caller.number] == []


async def test_fallback_serves_the_caller_when_the_controller_is_dead(
    system: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver, caller: Caller
) -> None:
    """
    1. The controller is killed (SIGKILL), as in a crash.
    2. A citizen calls 12333 and waits.
    3. The dialplan apologises, tries the agents through app_queue (none logged in here),
       says they are busy and hangs up: never dead air, never endless ringing.
    """
    system.controller.stop(signal.SIGKILL)
    caller.number = "13900000003"
    result = await caller.call([WaitForHangup(60000)])
    assert result.ok, result.output
    apps = observer.dialplan_apps()
    played = [data.rsplit("/", 1)[-1] for app, data in apps if app == "Playback"]
    assert played == ["fallback-apology", "fallback-busy"], apps
    assert any(app == "Queue" and data.startswith("hotline-fallback") for app, data in apps)
    assert (
        await db.fetchval("SELECT count(*) FROM calls WHERE caller_number = $1", caller.number) == 0
    )


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "sigterm"])
async def test_call_survives_a_controller_restart_and_is_adopted(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver, how: signal.Signals
) -> None:
    """
    1. A citizen calls and is in the main menu.
    2. The controller dies (SIGKILL) or is stopped (SIGTERM); the call stays up.
    3. A new controller starts, adopts the call and resumes the menu where it was.
    4. The citizen presses 9 (English) and the adopted call reacts; then hangs up normally.
    """
    caller = Caller(
        sip_port=running.settings.ports.sip,
        work_dir=running.work_dir,
        number=f"1390000010{int(how)}",
    )
    await caller.start([Pause(11000), Keys("9"), Pause(3000)])
    row = await wait_for_call(db, caller.number, until=lambda r: r["ivr_path"] == ["main"])
    running.controller.stop(how)
    running.controller.start()
    result = await caller.finish()
    assert result.ok, result.output  # SIPp fails if Asterisk hangs up on it
    row = await wait_for_call(db, caller.number)
    assert row["adoptions"] == 1
    assert row["hangup_side"] == "caller"
    assert row["ivr_path"] == ["main", "main", "main"]  # start, resumed, then 9 -> main (English)
    kinds = [e["kind"] for e in await events_of(db, row["channel_id"])]
    assert kinds.index("adopted") < kinds.index("key")
    english = await observer.wait_for(
        lambda e: (
            e.get("type") == "PlaybackStarted"
            and e["playback"]["target_uri"] == f"channel:{row['channel_id']}"
            and "/en/menu-main" in e["playback"]["media_uri"]
        )
    )
    assert english


def _ephemeral_ports() -> range:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return range(int(low), int(high) + 1)


async def test_nothing_listens_beyond_loopback(
    running: SystemUnderTest, db: asyncpg.Connection
) -> None:
    """
    1. A call is in progress (so its RTP socket exists).
    2. Every socket of Asterisk (SIP, RTP, ARI, AMI), PostgreSQL and the controller is bound
       to loopback. The one exception is pjsip's DNS client (UDP, an ephemeral port picked by
       the kernel, never one we configure): it only accepts answers to its own queries.
    """
    caller = Caller(
        sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000201"
    )
    await caller.start([Pause(4000)])
    await wait_for_call(db, caller.number, until=lambda r: r["answered_at"] is not None)
    ss = await asyncio.create_subprocess_exec("ss", "-H", "-antup", stdout=asyncio.subprocess.PIPE)
    out = (await ss.communicate())[0].decode()
    assert (await caller.finish()).ok
    controller_pid = running.controller.proc.pid  # type: ignore[union-attr]
    ours = [
        line.split()
        for line in out.splitlines()
        if '"asterisk"' in line or '"postgres"' in line or f"pid={controller_pid}," in line
    ]
    p = running.settings.ports
    configured = {p.sip, p.ari, p.ami, p.http, p.pg, *range(p.rtp_start, p.rtp_end + 1)}
    seen_ports = set()
    exposed = []
    for fields in ours:
        local = fields[4]
        host, _, port_text = local.rpartition(":")
        port = int(port_text)
        seen_ports.add(port)
        if host.startswith("127.") or host == "[::1]":
            continue
        dns_client = fields[0] == "udp" and port in _ephemeral_ports() and port not in configured
        if not dns_client:
            exposed.append(" ".join(fields))
    assert exposed == [], "\n".join(exposed)
    assert {p.sip, p.ari, p.ami, p.http, p.pg} <= seen_ports
    assert seen_ports & set(range(p.rtp_start, p.rtp_end + 1)), "the call's RTP socket"
