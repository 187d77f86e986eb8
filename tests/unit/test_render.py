"""Rendering Asterisk's config from the templates."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from acd.roster import load_roster
from hotline import REPO_ROOT
from hotline.provision.render import RenderInput, render, template_names, write
from hotline.provision.secrets import Secrets
from hotline.settings import Settings
from ivr.hours import load_hours

CONFIG = REPO_ROOT / "dialplan"


@pytest.fixture
def files() -> dict[str, str]:
    return render_for("127.0.0.1", "127.0.0.1")


def render_for(sip_address: str, management_address: str) -> dict[str, str]:
    roster = load_roster(CONFIG)
    secrets = Secrets()
    secrets.ensure_agents(a.number for a in roster.agents)
    settings = Settings(instance="test")
    return render(
        RenderInput(
            inst=Path("/var/lib/hotline/test-x"),
            sip_address=sip_address,
            management_address=management_address,
            ports=settings.ports,
            secrets=secrets,
            roster=roster,
            hours=load_hours(CONFIG),
            app="hotline",
            language="zh",
        )
    )


def test_every_template_renders(files: dict[str, str]) -> None:
    assert set(files) == set(template_names())
    assert {"pjsip.conf", "extensions.conf", "ari.conf", "manager.conf", "http.conf"} <= set(files)
    for name, text in files.items():
        assert "{{" not in text and "{%" not in text, name


def test_services_bind_to_loopback(files: dict[str, str]) -> None:
    assert "bindaddr = 127.0.0.1\nbindport = 28088" in files["http.conf"]
    assert "bindaddr = 127.0.0.1\nport = 25038" in files["manager.conf"]
    assert "bind = 127.0.0.1:25060" in files["pjsip.conf"]
    # Asterisk put the machine's address in SDP without these (ASTERISK.md).
    assert files["pjsip.conf"].count("media_address = 127.0.0.1") == 5  # trunk + 4 agents
    assert files["pjsip.conf"].count("bind_rtp_to_media_address = yes") == 5
    assert files["pjsip.conf"].count("rtp_timeout = 90") == 4  # every desk phone


def test_secrets_are_generated_not_defaults(files: dict[str, str]) -> None:
    a, b = Secrets(), Secrets()
    assert a.ari_password != b.ari_password and len(a.ari_password) >= 20
    assert "password = " in files["ari.conf"]
    for line in files["pjsip.conf"].splitlines():
        if line.startswith("password = "):
            assert len(line.split(" = ")[1]) >= 12


def test_every_agent_gets_an_endpoint_and_a_fallback_queue_seat(files: dict[str, str]) -> None:
    for number in ("1001", "1002", "1003"):
        assert f"[{number}]\ntype = endpoint" in files["pjsip.conf"]
        assert f"member => PJSIP/{number},0,{number}" in files["queues.conf"]


def test_fallback_dialplan_follows_business_hours(files: dict[str, str]) -> None:
    dialplan = files["extensions.conf"]
    assert 'GotoIf($["${STASISSTATUS}" = "FAILED"]?fallback,s,1)' in dialplan
    assert "exten => mon,1,GotoIfTime(08:30-11:30,*,*,*,Asia/Shanghai?fallback,s,open)" in dialplan
    assert "exten => mon,n,GotoIfTime(13:00-17:00,*,*,*,Asia/Shanghai?fallback,s,open)" in dialplan
    assert "exten => sat,1,Goto(fallback,s,closed)" in dialplan


def test_holidays_and_makeup_workdays_reach_the_dialplan(tmp_path: Path) -> None:
    (tmp_path / "hours.yaml").write_text(
        "weekly: {mon: [{start: '08:30', end: '11:30'}]}\n"
        "holidays: [2026-10-01]\nworkdays: {2026-10-10: mon}\n"
    )
    roster = load_roster(CONFIG)
    secrets = Secrets()
    secrets.ensure_agents(a.number for a in roster.agents)
    text = render(
        RenderInput(
            inst=Path("/x"),
            sip_address="127.0.0.1",
            management_address="127.0.0.1",
            ports=Settings().ports,
            secrets=secrets,
            roster=roster,
            hours=load_hours(tmp_path),
            app="hotline",
            language="zh",
        )
    )["extensions.conf"]
    assert "HOLIDAY_20261001 = 1" in text
    assert "WORKDAY_20261010 = mon" in text


def test_rendered_ini_files_parse(files: dict[str, str]) -> None:
    for name in ("http.conf", "ari.conf", "manager.conf", "rtp.conf"):
        parser = configparser.ConfigParser(strict=False, inline_comment_prefixes=(";",))
        parser.read_string(files[name])
        assert parser.sections(), name


def test_write_is_0600_and_reports_changes(files: dict[str, str], tmp_path: Path) -> None:
    assert sorted(write(files, tmp_path)) == sorted(files)
    assert (tmp_path / "ari.conf").stat().st_mode & 0o777 == 0o600
    assert write(files, tmp_path) == []


def test_the_ami_user_gets_only_the_classes_the_controller_uses(files: dict[str, str]) -> None:
    """Events: ContactStatus (system), failed logins (security). Actions: MixMonitor,
    StopMixMonitor, Reload, PJSIPShowContacts (system). Checked against `manager show command`
    of Asterisk 22: Command would need `command` (the whole CLI), so reloads use Reload."""
    parser = configparser.ConfigParser(strict=False, inline_comment_prefixes=(";",))
    parser.read_string(files["manager.conf"])
    user = parser[Secrets().ami_user]
    assert set(user["read"].split(",")) == {"system", "security"}
    assert set(user["write"].split(",")) == {"system"}


def test_sip_faces_the_lan_while_management_stays_on_loopback() -> None:
    files = render_for("10.0.0.5", "127.0.0.1")
    assert "bind = 10.0.0.5:25060" in files["pjsip.conf"]
    assert files["pjsip.conf"].count("media_address = 10.0.0.5") == 5
    assert "bindaddr = 127.0.0.1\nbindport = 28088" in files["http.conf"]
    assert "bindaddr = 127.0.0.1\nport = 25038" in files["manager.conf"]
    assert "10.0.0.5" not in files["manager.conf"] + files["http.conf"] + files["ari.conf"]


def test_management_moves_only_when_told_and_the_controller_may_reach_ami_there() -> None:
    files = render_for("127.0.0.1", "10.0.0.9")
    assert "bind = 127.0.0.1:25060" in files["pjsip.conf"]
    assert "bindaddr = 10.0.0.9\nbindport = 28088" in files["http.conf"]
    assert "bindaddr = 10.0.0.9\nport = 25038" in files["manager.conf"]
    assert "permit = 10.0.0.9/255.255.255.255" in files["manager.conf"]
    assert "permit = 127.0.0.1/255.255.255.255" in files["manager.conf"]


def test_capacity_follows_one_setting_and_dev_and_test_still_fit_side_by_side() -> None:
    """2,000 channels by default: two RTP ports a stream, maxcalls and open files to match."""
    dev, test = Settings(instance="dev"), Settings(instance="test")
    assert dev.ports.rtp_end - dev.ports.rtp_start + 1 == 2 * 2000
    dev_ports = {dev.ports.sip, dev.ports.http, dev.ports.ari, dev.ports.ami, dev.ports.pg}
    test_ports = {test.ports.sip, test.ports.http, test.ports.ari, test.ports.ami, test.ports.pg}
    dev_rtp = range(dev.ports.rtp_start, dev.ports.rtp_end + 1)
    test_rtp = range(test.ports.rtp_start, test.ports.rtp_end + 1)
    assert not set(dev_rtp) & set(test_rtp)
    assert not (dev_ports | test_ports) & (set(dev_rtp) | set(test_rtp))
    assert not dev_ports & test_ports
    big = Settings(instance="dev", channels=6000)
    roster = load_roster(CONFIG)
    secrets = Secrets()
    secrets.ensure_agents(a.number for a in roster.agents)
    assert big.ports.rtp_end - big.ports.rtp_start + 1 == 12000
    files = render(
        RenderInput(
            inst=Path("/var/lib/hotline/dev-x"),
            sip_address="127.0.0.1",
            management_address="127.0.0.1",
            ports=big.ports,
            secrets=secrets,
            roster=roster,
            hours=load_hours(CONFIG),
            app="hotline",
            language="zh",
            channels=big.channels,
        )
    )
    options = configparser.ConfigParser(strict=False, comment_prefixes=(";",))
    options.read_string(files["asterisk.conf"].replace("=>", "="))
    assert options["options"]["maxcalls"] == "6000"
    assert int(options["options"]["maxfiles"]) >= 4 * 6000
    rtp = configparser.ConfigParser(comment_prefixes=(";",))
    rtp.read_string(files["rtp.conf"])
    assert int(rtp["general"]["rtpend"]) - int(rtp["general"]["rtpstart"]) + 1 == 12000


def test_media_ports_stay_below_the_ephemeral_ports_tools_take_unasked() -> None:
    """SIPp, clients and the kernel bind 32768 and up without asking: an RTP range there is
    a race for the same port under load (a phone's SIPp failed to bind in the DTMF fuzz)."""
    for instance in ("dev", "test"):
        assert Settings(instance=instance).ports.rtp_end < 32768


def test_the_callers_limit_is_half_the_channels_unless_set_and_always_below_them() -> None:
    """Beyond HOTLINE_MAX_CALLERS callers hear "all lines busy"; it must stay below Asterisk's
    maxcalls (= channels), or Asterisk would refuse them first with a bare 503."""
    assert Settings(instance="dev").callers_limit == 1000
    assert Settings(instance="dev", channels=300).callers_limit == 150
    assert Settings(instance="dev", max_callers=2).callers_limit == 2
    for wrong in (2000, 2001):
        with pytest.raises(ValueError, match="must be below HOTLINE_CHANNELS"):
            Settings(instance="dev", max_callers=wrong)
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Settings(instance="dev", max_callers=0)
