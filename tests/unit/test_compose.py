"""docker-compose.yml cannot run here (no container engine): keep it consistent instead."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline import REPO_ROOT
from hotline.controller import Controller
from hotline.provision import asterisk
from hotline.settings import Settings


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return data


def _settings(env: dict[str, str]) -> Settings:
    """The controller's settings from the compose environment (unknown keys would fail)."""
    fields = {k.removeprefix("HOTLINE_").lower(): _default(v) for k, v in env.items()}
    return Settings(**fields)


def _default(value: str) -> str:
    """What compose substitutes when the variable is unset: ${NAME:-default} -> default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    return {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}


def test_services_and_settings_agree(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"setup", "postgres", "asterisk", "controller"} <= set(services)
    env = services["controller"]["environment"]
    assert env == services["setup"]["environment"]
    settings = _settings(env)
    # Asterisk reads the config that setup renders, at the path the controller plays from.
    ast_dir = str(settings.asterisk_dir)
    assert _mounts(services["asterisk"])[ast_dir] == _mounts(services["setup"])[ast_dir]
    assert services["asterisk"]["command"][:3] == ["asterisk", "-C", f"{ast_dir}/etc/asterisk.conf"]
    # PostgreSQL listens where the controller's default database URL points.
    pg_cmd = services["postgres"]["command"]
    assert pg_cmd[pg_cmd.index("-p") + 1] == str(settings.ports.pg)
    # ... on the management address, by default loopback, like ARI, AMI and HTTP.
    assert "listen_addresses=${HOTLINE_MANAGEMENT_ADDRESS:-127.0.0.1}" in pg_cmd
    assert settings.management_address == settings.sip_address == "127.0.0.1"
    pw_file = services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"]
    assert pw_file == f"{settings.state}/pg_password"
    assert _mounts(services["controller"])[str(settings.config_dir)] == "./dialplan"


def test_asterisk_image_has_the_packages_of_the_dev_chroot() -> None:
    dockerfile = (REPO_ROOT / "asterisk-config" / "Dockerfile").read_text()
    for package in asterisk.PACKAGES:
        assert re.search(rf"\b{re.escape(package)}\b", dockerfile), package


def test_controller_image_copies_what_exists() -> None:
    dockerfile = (REPO_ROOT / "hotline" / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO_ROOT / source).exists(), source
    assert "espeak-ng" in dockerfile and "sox" in dockerfile
    assert Path(REPO_ROOT / "pyproject.toml").exists()


def test_the_controller_shares_asterisks_instance_volume(compose: dict[str, Any]) -> None:
    """Recordings Asterisk writes are readable by the controller, and `config apply` renders
    where Asterisk reads, at the paths the controller's settings compute."""
    services = compose["services"]
    settings = _settings(services["controller"]["environment"])
    ast_dir = str(settings.asterisk_dir)
    assert _mounts(services["controller"])[ast_dir] == _mounts(services["asterisk"])[ast_dir]
    recordings = settings.on_host(settings.asterisk_dir / "spool" / "monitor")
    assert recordings.is_relative_to(ast_dir)
    # Ops edit sounds/ on the host: the image's copy would hide their edits from `config apply`.
    for name in ("controller", "setup"):
        assert _mounts(services[name])["/app/sounds"] == "./sounds"


def test_config_apply_reloads_asterisk_over_ami_not_a_local_cli() -> None:
    """In compose Asterisk is another container: only AMI (TCP) reaches it."""
    source = inspect.getsource(Controller.apply_config)
    assert '"Action": "Reload"' in source and "asterisk.cli" not in source


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    settings = _settings(services["controller"]["environment"])
    checks = {
        name: services[name]["healthcheck"]["test"]
        for name in ("postgres", "asterisk", "controller")
    }
    assert checks["postgres"][:2] == ["CMD", "pg_isready"]
    assert checks["postgres"][checks["postgres"].index("-p") + 1] == str(settings.ports.pg)
    assert checks["asterisk"][1:4] == [
        "asterisk",
        "-C",
        f"{settings.asterisk_dir}/etc/asterisk.conf",
    ]
    assert f"http://127.0.0.1:{settings.ports.http}/health" in checks["controller"][-1]
    depends = services["controller"]["depends_on"]
    assert depends == {
        "postgres": {"condition": "service_healthy"},
        "asterisk": {"condition": "service_healthy"},
    }
