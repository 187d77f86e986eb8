"""The set-up script's package step, with its branches forced: PostgreSQL already installed
(no createcluster.d), packages missing, all present, apt failing, a second run.

apt-get and dpkg-query are stand-ins on PATH (a test must not install packages on the
machine); everything else in the script runs for real.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hotline import REPO_ROOT

ALL = (
    "ca-certificates debootstrap debian-archive-keyring postgresql sip-tester espeak-ng sox"
    " iproute2 procps chromium chromium-driver fonts-wqy-microhei"
)

DPKG_QUERY = """#!/bin/sh
# dpkg-query -W -f='${Status}' NAME: installed iff NAME is in $FAKE_INSTALLED
for name in $FAKE_INSTALLED; do
  [ "$name" = "$3" ] && { printf 'install ok installed'; exit 0; }
done
exit 1
"""
APT_GET = """#!/bin/sh
echo "$@" >> "$FAKE_APT_LOG"
case "$*" in *install*) exit "${FAKE_APT_INSTALL_RC:-0}" ;; esac
exit 0
"""


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, str]:
    """A PATH with apt-get and dpkg-query stand-ins, an /etc of our own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("dpkg-query", DPKG_QUERY), ("apt-get", APT_GET)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    etc = tmp_path / "etc"
    etc.mkdir()
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOTLINE_SETUP_ETC": str(etc),
        "FAKE_APT_LOG": str(tmp_path / "apt.log"),
        "FAKE_INSTALLED": ALL,
    }


def packages(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO_ROOT / "dev"), "packages"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def apt_calls(env: dict[str, str]) -> list[str]:
    log = Path(env["FAKE_APT_LOG"])
    return log.read_text().splitlines() if log.exists() else []


def test_the_script_parses() -> None:
    run = subprocess.run(["bash", "-n", str(REPO_ROOT / "dev")], capture_output=True, check=False)
    assert run.returncode == 0, run.stderr


def test_postgresql_installed_without_createcluster_d_and_tools_missing(
    machine: dict[str, str],
) -> None:
    """The case that printed `tee: …/createcluster.d/hotline.conf: No such file` and exit 1."""
    etc = Path(machine["HOTLINE_SETUP_ETC"])
    (etc / "postgresql-common").mkdir()  # as Debian's postgresql-common leaves it
    machine["FAKE_INSTALLED"] = "ca-certificates debian-archive-keyring postgresql iproute2 procps"
    run = packages(machine)
    assert run.returncode == 0, run.stderr
    calls = apt_calls(machine)
    assert calls[0].startswith("update")
    installed = calls[1].split()
    assert installed[0] == "install"
    assert {"debootstrap", "sip-tester", "espeak-ng", "sox", "chromium", "chromium-driver"} <= set(
        installed
    )
    assert "postgresql" not in installed
    conf = etc / "postgresql-common" / "createcluster.d" / "hotline.conf"
    assert conf.read_text().strip() == "create_main_cluster = false"


def test_nothing_missing_installs_nothing_and_a_second_run_is_the_same(
    machine: dict[str, str],
) -> None:
    for _ in range(2):
        run = packages(machine)
        assert run.returncode == 0, run.stderr
        assert apt_calls(machine) == []


def test_a_failed_install_says_what_failed(machine: dict[str, str]) -> None:
    machine["FAKE_INSTALLED"] = "postgresql"
    machine["FAKE_APT_INSTALL_RC"] = "100"
    run = packages(machine)
    assert run.returncode == 1
    assert "apt-get install" in run.stderr and "failed" in run.stderr
    assert "sox" in run.stderr


def test_an_unknown_command_shows_the_usage_and_installs_nothing(
    machine: dict[str, str],
) -> None:
    machine["FAKE_INSTALLED"] = ""
    run = subprocess.run(
        ["bash", str(REPO_ROOT / "dev"), "strat"],
        env=machine,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2 and "./dev start" in run.stdout
    assert apt_calls(machine) == []
