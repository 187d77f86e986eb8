"""SIP/RTP and management (ARI, AMI, HTTP, PostgreSQL) have separate addresses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hotline.instance import controller_instance
from hotline.provision import postgres
from hotline.settings import Settings


def test_management_stays_on_loopback_when_only_sip_moves(tmp_path: Path) -> None:
    settings = Settings(instance="dev", state_dir=tmp_path, sip_address="10.0.0.5")
    config = controller_instance(settings).controller_config()
    assert config.ari_url == "http://127.0.0.1:8088"
    assert (config.ami_host, config.http_host) == ("127.0.0.1", "127.0.0.1")
    assert "@127.0.0.1:5433/" in postgres.database_url(settings, "pw")


def test_the_controller_connects_where_management_listens(tmp_path: Path) -> None:
    settings = Settings(instance="dev", state_dir=tmp_path, management_address="10.0.0.9")
    config = controller_instance(settings).controller_config()
    assert config.ari_url == "http://10.0.0.9:8088"
    assert (config.ami_host, config.http_host) == ("10.0.0.9", "10.0.0.9")
    assert "@10.0.0.9:5433/" in postgres.database_url(settings, "pw")
    # A wildcard listens everywhere; the controller then uses loopback.
    wildcard = Settings(instance="dev", state_dir=tmp_path, management_address="0.0.0.0")
    assert wildcard.management_host == "127.0.0.1"
    ipv6 = Settings(instance="dev", state_dir=tmp_path, management_address="::1")
    assert postgres.database_url(ipv6, "pw").startswith("postgresql+asyncpg://hotline:pw@[::1]:")


def test_the_old_single_bind_address_is_refused_with_what_replaced_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_BIND_ADDRESS", "10.0.0.5")
    with pytest.raises(ValidationError, match="HOTLINE_SIP_ADDRESS"):
        Settings()
    monkeypatch.delenv("HOTLINE_BIND_ADDRESS")
    with pytest.raises(ValidationError, match="IPv4 or IPv6"):
        Settings(sip_address="phones.example")
