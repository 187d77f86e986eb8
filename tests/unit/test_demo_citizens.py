"""Demo citizens (password 123456) only in dev and test, unless explicitly allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.config_files import ConfigError
from hotline.instance import controller_instance, prepare
from hotline.settings import Settings


def _settings(tmp_path: Path, instance: str, **extra: object) -> Settings:
    return Settings(
        instance=instance,
        state_dir=tmp_path / instance,
        asterisk_root=Path("/"),  # never the cached chroot from a test
        **extra,  # type: ignore[arg-type]
    )


def test_a_production_instance_refuses_the_demo_backend(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "prod")
    with pytest.raises(ConfigError, match="HOTLINE_ALLOW_DEMO_CITIZENS=yes"):
        controller_instance(settings).controller_config()
    # `hotline start` stops before building, rendering or starting anything.
    with pytest.raises(ConfigError, match="demo citizens"):
        prepare(settings, lambda _m: None)


def test_dev_test_or_an_explicit_yes_may_run_on_demo_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for instance in ("dev", "test"):
        settings = _settings(tmp_path, instance)
        assert controller_instance(settings).controller_config().app == "hotline"
    monkeypatch.setenv("HOTLINE_ALLOW_DEMO_CITIZENS", "yes")
    settings = _settings(tmp_path, "prod")
    assert controller_instance(settings).controller_config().app == "hotline"


def test_the_controller_of_a_production_instance_says_why_it_does_not_start(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    # Ports nobody uses, so that a controller that wrongly started would reach nothing.
    env |= {
        "HOTLINE_INSTANCE": "prod",
        "HOTLINE_STATE_DIR": str(tmp_path),
        "HOTLINE_ARI_PORT": "47088",
        "HOTLINE_AMI_PORT": "47038",
        "HOTLINE_HTTP_PORT": "47080",
        "HOTLINE_PG_PORT": "47433",
    }
    run = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "controller"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert "demo citizens" in run.stderr and "HOTLINE_ALLOW_DEMO_CITIZENS=yes" in run.stderr
