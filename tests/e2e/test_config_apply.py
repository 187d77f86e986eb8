"""Ops change the menu and apply it while calls are in progress."""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from hotline.provision import asterisk
from tests.support.api import agent_api
from tests.support.calls import wait_for_call
from tests.support.observer import AriObserver, prompts_heard
from tests.support.sipp import Caller, Keys, Pause
from tests.support.system import SystemUnderTest


async def apply(system: SystemUnderTest) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.cli",
        "config",
        "apply",
        env=system.controller.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_apply_during_a_live_call(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. Citizen A is in the main menu.
    2. Ops change key 1 of the main menu to the referral directory and apply the change.
    3. A presses 1 and still gets the self-service menu (the version A started with);
       citizen B, calling after the change, presses 1 and hears the referral directory.
    4. A broken menu is refused with file, line and field, as are files that are not UTF-8
       or not a mapping; the running version stays.
    """
    menu_file = running.settings.config_dir / "menu.yaml"
    original = menu_file.read_text()
    a = Caller(sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000401")
    b = Caller(sip_port=running.settings.ports.sip, work_dir=running.work_dir, number="13900000402")
    try:
        await a.start([Pause(12000), Keys("1"), Pause(3000)])
        await wait_for_call(db, a.number, until=lambda r: r["ivr_path"] == ["main"])
        menu_file.write_text(
            original.replace('version: "2026-11-23"', 'version: "v2"').replace(
                '"1": {goto: selfservice}', '"1": {service: referral, then: selfservice}'
            )
        )
        code, out = await apply(running)
        assert code == 0, out
        assert "applied version v2" in out
        await b.start([Pause(1500), Keys("1"), Pause(3000)])
        assert (await a.finish()).ok and (await b.finish()).ok
        row_a = await wait_for_call(db, a.number)
        row_b = await wait_for_call(db, b.number)
        assert row_a["ivr_path"] == ["main", "selfservice"]
        assert row_b["ivr_path"][:2] == ["main", "svc:referral"]
        assert "referral-intro" in prompts_heard(observer.events, row_b["channel_id"])

        menu_file.write_text(original.replace("goto: selfservice", "goto: nowhere"))
        code, out = await apply(running)
        assert code == 2, out
        assert f"{menu_file}:" in out and "unknown node 'nowhere'" in out
        health = running.controller.health()
        assert health is not None and health["config_version"] == "v2"
        # Files that are not even a menu: not UTF-8, a list instead of a mapping.
        for broken, says in (
            (("# 语音菜单\n" + original).encode("gbk"), "not UTF-8"),
            (b"- start\n- main\n", "valid dictionary"),
        ):
            menu_file.write_bytes(broken)
            code, out = await apply(running)
            assert code == 2 and f"{menu_file}" in out and says in out, out
            assert "Traceback" not in out, out
        health = running.controller.health()
        assert health is not None and health["config_version"] == "v2"
    finally:
        menu_file.write_text(original)
        code, out = await apply(running)
        assert code == 0, out


async def test_skills_and_queues_apply_live_and_agents_keep_their_state(
    running: SystemUnderTest,
) -> None:
    """
    1. Agent 1003 is logged in and paused for a meeting.
    2. Ops raise 1003's social insurance level from 2 to 4 and apply: the router has the
       new level at once; 1003 is still paused.
    3. A roster naming an unknown skill is refused with file, line and field.
    """
    agents_file = running.settings.config_dir / "agents.yaml"
    original = agents_file.read_text()
    await asyncio.to_thread(agent_api, running, "/agents/1003/login")
    await asyncio.to_thread(agent_api, running, "/agents/1003/pause?reason=meeting")
    try:
        raised = original.replace(
            "skills: {social_insurance: 2, employment: 2,",
            "skills: {social_insurance: 4, employment: 2,",
        )
        assert raised != original
        agents_file.write_text(raised)
        code, out = await apply(running)
        assert code == 0, out
        state = (await asyncio.to_thread(agent_api, running, "/agents", "GET"))["agents"]["1003"]
        assert state["skills"]["social_insurance"] == 4
        assert (state["status"], state["reason"]) == ("paused", "meeting")
        agents_file.write_text(original.replace("complaints: 3}", "complaint: 3}"))
        code, out = await apply(running)
        assert code == 2, out
        assert f"{agents_file}:" in out and "complaint" in out
    finally:
        agents_file.write_text(original)
        code, out = await apply(running)
        assert code == 0, out
        await asyncio.to_thread(agent_api, running, "/agents/1003/logout")


async def test_apply_reloads_asterisk_with_the_ami_users_own_permissions(
    running: SystemUnderTest,
) -> None:
    """
    1. Ops change Sunday's staffed hours and apply.
    2. Asterisk's native fallback (the dialplan, reloaded over AMI by the controller, whose
       AMI user has only the `system` and `security` classes) follows at once.
    """
    hours_file = running.settings.config_dir / "hours.yaml"
    original = hours_file.read_text()
    changed = original.replace('sun: [{start: "00:00"', 'sun: [{start: "01:30"', 1)
    assert changed != original
    try:
        hours_file.write_text(changed)
        code, out = await apply(running)
        assert code == 0, out
        shown = await asyncio.to_thread(
            asterisk.cli, running.settings, "dialplan show sun@fallback-hours"
        )
        assert "GotoIfTime(01:30-23:59" in shown, shown
        assert "asterisk_reload_failed" not in running.controller.log_path.read_text()
    finally:
        hours_file.write_text(original)
        code, out = await apply(running)
        assert code == 0, out
