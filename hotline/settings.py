"""Runtime settings, layered: defaults ← `<state_dir>/hotline.env` ← environment (HOTLINE_*)."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hotline import REPO_ROOT

CACHE_DIR = Path.home() / ".cache" / "hotline"

# Test instances get their own ports so that `./dev test` can run beside a running `./dev start`.
_PORT_OFFSET = {"dev": 0, "test": 20000}


class Settings(BaseSettings):
    """Where things are and which loopback ports they use; unknown HOTLINE_* keys are errors."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", extra="forbid", frozen=True, env_file_encoding="utf-8"
    )

    instance: str = Field(default="dev", pattern=r"^[a-z][a-z0-9-]{0,30}$")
    state_dir: Path | None = None
    config_dir: Path = REPO_ROOT / "dialplan"
    asterisk_root: Path | None = None
    asterisk_path: Path | None = None  # fixed instance folder (containers); else derived
    bind_address: str = "127.0.0.1"
    sip_port: int | None = None
    rtp_start: int | None = None
    http_port: int | None = None
    ari_port: int | None = None
    ami_port: int | None = None
    pg_port: int | None = None
    database_url: str | None = None
    trunk_contact: str | None = None  # e.g. sip:10.1.2.3:5060, the carrier for transfers
    ari_app: str = "hotline"
    language: Literal["zh", "en"] = "zh"
    log_format: Literal["logfmt", "json"] = "logfmt"
    # The journal's spool (facts not yet in PostgreSQL): past either bound, facts are kept in
    # memory only and an alarm is raised (README "When PostgreSQL is away").
    journal_max_spool_mb: int = Field(default=2048, ge=1)
    journal_min_free_mb: int = Field(default=512, ge=0)

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def _port(self, explicit: int | None, base: int) -> int:
        return explicit if explicit is not None else base + _PORT_OFFSET.get(self.instance, 0)

    @property
    def ports(self) -> Ports:
        """The loopback ports of this instance."""
        rtp = self._port(self.rtp_start, 10000)
        return Ports(
            sip=self._port(self.sip_port, 5060),
            rtp_start=rtp,
            rtp_end=rtp + 999,
            http=self._port(self.http_port, 8080),
            ari=self._port(self.ari_port, 8088),
            ami=self._port(self.ami_port, 5038),
            pg=self._port(self.pg_port, 5433),
        )

    @property
    def state(self) -> Path:
        """Secrets, rendered config, logs and pid files of this instance (outside git)."""
        return (self.state_dir or REPO_ROOT / ".local" / self.instance).resolve()

    @property
    def root(self) -> Path:
        """Where Asterisk runs: the host if it has Asterisk, else the cached chroot."""
        if self.asterisk_root is not None:
            return self.asterisk_root
        if shutil.which("asterisk") and Path("/usr/sbin/asterisk").exists():
            return Path("/")
        return CACHE_DIR / "asterisk-sid"

    @property
    def asterisk_dir(self) -> Path:
        """This instance's directory as Asterisk sees it (inside its root)."""
        if self.asterisk_path is not None:
            return self.asterisk_path
        digest = hashlib.sha256(str(self.state).encode()).hexdigest()[:8]
        return Path("/var/lib/hotline") / f"{self.instance}-{digest}"

    def on_host(self, asterisk_path: Path) -> Path:
        """Translate a path inside Asterisk's root to the host's view of it."""
        return self.root / asterisk_path.relative_to("/")

    @property
    def pg_dir(self) -> Path:
        """The private PostgreSQL cluster: not under root's home, which `postgres` cannot enter."""
        digest = hashlib.sha256(str(self.state).encode()).hexdigest()[:8]
        return Path("/var/tmp/hotline") / f"{self.instance}-{digest}"


@dataclass(frozen=True)
class Ports:
    """Loopback ports of one instance."""

    sip: int
    rtp_start: int
    rtp_end: int
    http: int
    ari: int
    ami: int
    pg: int


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
