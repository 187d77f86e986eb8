"""Secrets are generated once, kept 0600, and extended for new agents."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hotline.provision.secrets import load_or_create


def test_created_once_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "state" / "secrets.json"
    first = load_or_create(path, ["1001"])
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create(path, ["1001"])
    assert again == first


def test_new_agent_gets_a_password_old_ones_keep_theirs(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    first = load_or_create(path, ["1001"])
    second = load_or_create(path, ["1001", "1002"])
    assert second.agent_passwords["1001"] == first.agent_passwords["1001"]
    assert second.agent_passwords["1002"] not in (first.agent_passwords["1001"], "")
    assert second.ari_password == first.ari_password


def test_a_secret_added_later_is_generated_once(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text('{"ari_password": "x", "agent_passwords": {}}')
    first = load_or_create(path)
    assert first.ari_password == "x"
    assert load_or_create(path).api_token == first.api_token


def test_a_secrets_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    load_or_create(path, ["1001"])
    path.chmod(0o644)  # e.g. copied by hand, or written by an older version
    load_or_create(path, ["1001"])
    assert path.stat().st_mode & 0o777 == 0o600


def test_every_hotline_command_runs_with_a_private_umask() -> None:
    """What any hotline process creates (the detached log, spools) is not world-readable."""
    probe = (
        "import contextlib, os\n"
        "from hotline import cli\n"
        "with contextlib.suppress(SystemExit):\n"
        "    cli.main(['--help'])\n"
        "print(oct(os.umask(0)))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.splitlines()[-1] == "0o27"
