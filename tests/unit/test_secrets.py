"""Secrets are generated once, kept 0600, and extended for new agents."""

from __future__ import annotations

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
