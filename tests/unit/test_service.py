"""`hotline service install` renders systemd units that restart each part, run the controller
as its own user, confine every part and log to the journal; systemd-analyze accepts them."""

from __future__ import annotations

import configparser
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.service import Rendered, render, write
from hotline.settings import Settings

HARDENING = {"NoNewPrivileges": "yes", "PrivateTmp": "yes", "ProtectSystem": "strict"}


def _settings(tmp_path: Path, **extra: str) -> Settings:
    return Settings(
        instance="svc", state_dir=tmp_path / "state", asterisk_root=tmp_path / "root", **extra
    )


def _units(files: list[Rendered]) -> dict[str, configparser.ConfigParser]:
    units = {}
    for f in files:
        if f.path.suffix in (".service", ".target"):
            parser = configparser.ConfigParser(strict=False, interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            parser.read_string(f.text)
            units[f.path.name] = parser
    return units


def test_each_part_restarts_is_confined_and_the_controller_has_its_own_user(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    files = render(settings, "hotline-ops", unit_dir=tmp_path / "units")
    units = _units(files)
    assert set(units) == {
        "hotline-svc.target",
        "hotline-svc-asterisk.service",
        "hotline-svc-postgres.service",
        "hotline-svc-controller.service",
    }
    assert units["hotline-svc.target"]["Unit"]["Wants"].split() == [
        "hotline-svc-asterisk.service",
        "hotline-svc-postgres.service",
        "hotline-svc-controller.service",
    ]
    for name, unit in units.items():
        if name.endswith(".service"):
            service = unit["Service"]
            assert service["Restart"] == "always", name
            assert {k: service.get(k) for k in HARDENING} == HARDENING, name
            # Logs go to the journal (systemd's default for stdout and stderr).
            assert "StandardOutput" not in service and "StandardError" not in service
    controller = units["hotline-svc-controller.service"]["Service"]
    assert controller["User"] == "hotline-ops"
    assert controller["ExecStart"].endswith("/hotline controller")
    controller_text = next(f.text for f in files if f.path.name.endswith("-controller.service"))
    for env in (f"HOTLINE_STATE_DIR={settings.state}", f"HOTLINE_ASTERISK_ROOT={settings.root}"):
        assert f"\nEnvironment={env}\n" in controller_text  # the paths `hotline start` uses
    asterisk = units["hotline-svc-asterisk.service"]["Service"]
    assert asterisk["RootDirectory"] == str(settings.root)
    assert f"{settings.asterisk_dir}/etc/asterisk.conf" in asterisk["ExecStart"]
    assert asterisk["ReadWritePaths"] == str(settings.asterisk_dir)
    postgres = units["hotline-svc-postgres.service"]["Service"]
    assert postgres["User"] == "postgres"
    assert f"-p {settings.ports.pg} " in postgres["ExecStart"]
    assert "listen_addresses=127.0.0.1" in postgres["ExecStart"]
    tmpfiles = next(f for f in files if f.path.suffix == ".conf")
    assert f"x {settings.pg_dir}" in tmpfiles.text  # /var/tmp ageing must spare the cluster


def test_an_outside_database_gets_no_unit_and_its_password_no_unit_file(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://hotline:pa55word@10.0.0.5:5432/hotline"
    files = render(_settings(tmp_path, database_url=url), "hotline", unit_dir=tmp_path / "u")
    assert "hotline-svc-postgres.service" not in _units(files)
    for f in files:
        assert ("pa55word" in f.text) == (f.mode == 0o600), f.path
    write(files)
    env_file = next(f.path for f in files if f.mode == 0o600)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_systemd_analyze_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    settings = _settings(tmp_path)
    fake_asterisk = settings.root / "usr" / "sbin" / "asterisk"
    fake_asterisk.parent.mkdir(parents=True)
    fake_asterisk.write_text("#!/bin/sh\n")
    fake_asterisk.chmod(0o755)
    out = tmp_path / "units"
    files = render(settings, "hotline", unit_dir=out, tmpfiles_dir=tmp_path / "tmpfiles")
    for f in files:
        if f.path.name.endswith("-asterisk.service"):
            # systemd-analyze 252 looks for ExecStart on the host, not in RootDirectory=.
            text = f.text.replace("ExecStart=/usr/sbin/", f"ExecStart={settings.root}/usr/sbin/")
            f = Rendered(f.path, text)
        write([f])
    run = subprocess.run(
        [analyze, "verify", *sorted(str(p) for p in out.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr


def test_dry_run_prints_the_units_and_installs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["service", "install", "--instance", "svc", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "# /etc/systemd/system/hotline-svc-controller.service" in printed
    assert "User=hotline" in printed
    assert not Path("/etc/systemd/system/hotline-svc-controller.service").exists()
