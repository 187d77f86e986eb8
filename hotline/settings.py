"""Runtime settings, layered: defaults ← `<state_dir>/hotline.env` ← environment (HOTLINE_*)."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hotline import REPO_ROOT

CACHE_DIR = Path.home() / ".cache" / "hotline"

# Test instances get their own ports so that `./dev test` can run beside a running `./dev start`.
_PORT_OFFSET = {"dev": 0, "test": 20000}
# Media ports start here: below the kernel's ephemeral ports (32768 up), which test tools and
# clients take without asking, and dev and test apart at the default size (2 × 2,000 ports).
_RTP_BASE = {"dev": 10000, "test": 14000}


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
    # SIP and RTP face desk phones and the carrier: set this to the LAN address they reach.
    sip_address: str = "127.0.0.1"
    # ARI, AMI, the HTTP API and the private PostgreSQL: loopback unless explicitly moved.
    management_address: str = "127.0.0.1"
    sip_port: int | None = None
    rtp_start: int | None = None
    # Simultaneous channels (callers, agents' legs, call-backs) this instance is sized for:
    # its RTP port range (two ports a stream), Asterisk's maxcalls and open files, and the
    # database pool follow from it. 2,000 by default: a big city's peak with room to spare.
    channels: int = Field(default=2000, ge=10, le=30000)
    # Citizens' calls the controller takes in at once (menu, waiting, talking, survey); the
    # next caller hears "all lines busy" and is refused (SIP 486). Default: half of
    # `channels`, the other half being for agents' legs, call-backs and the refusals.
    max_callers: int | None = Field(default=None, ge=1)
    http_port: int | None = None
    ari_port: int | None = None
    ami_port: int | None = None
    pg_port: int | None = None
    database_url: str | None = None
    # Where the controller reaches ARI, if not this instance's own port on loopback (an
    # Asterisk in another container, or a proxy).
    ari_url: str | None = None
    trunk_contact: str | None = None  # e.g. sip:10.1.2.3:5060, the carrier for transfers
    ari_app: str = "hotline"
    language: Literal["zh", "en"] = "zh"
    log_format: Literal["logfmt", "json"] = "logfmt"
    # The demo citizens (password 123456) only exist in the dev and test instances; any other
    # instance refuses to start on them unless this says so in so many words.
    allow_demo_citizens: bool = False
    # The journal's spool (facts not yet in PostgreSQL): past either bound, facts are kept in
    # memory only and an alarm is raised (README "When PostgreSQL is away").
    journal_max_spool_mb: int = Field(default=2048, ge=1)
    journal_min_free_mb: int = Field(default=512, ge=0)
    # People's sessions (HTTP API / console): idle and absolute lifetimes; the cookie is sent
    # over HTTPS only when this says the API is reached through HTTPS (a proxy in front).
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=7 * 24)
    cookie_secure: bool = False

    @model_validator(mode="before")
    @classmethod
    def _bind_address_was_split(cls, data: object) -> object:
        # The environment source reads only known names: a stale variable would pass unseen.
        stale = "HOTLINE_BIND_ADDRESS" in os.environ
        if stale or (isinstance(data, dict) and "bind_address" in data):
            raise ValueError(
                "HOTLINE_BIND_ADDRESS was split: HOTLINE_SIP_ADDRESS (SIP and RTP, for phones "
                "and the carrier) and HOTLINE_MANAGEMENT_ADDRESS (ARI, AMI, HTTP, PostgreSQL; "
                "keep it on 127.0.0.1 unless they must be reached from elsewhere)"
            )
        return data

    @model_validator(mode="after")
    def _callers_fit_in_channels(self) -> Settings:
        if self.max_callers is not None and self.max_callers >= self.channels:
            raise ValueError(
                f"HOTLINE_MAX_CALLERS ({self.max_callers}) must be below HOTLINE_CHANNELS "
                f"({self.channels}): agents' legs, call-backs and the callers told that all "
                "lines are busy need channels too (Asterisk refuses calls beyond its maxcalls "
                "with a bare SIP 503)"
            )
        return self

    @property
    def callers_limit(self) -> int:
        """Citizens' calls taken in at once: HOTLINE_MAX_CALLERS, else half the channels."""
        return self.max_callers if self.max_callers is not None else self.channels // 2

    @field_validator("sip_address", "management_address")
    @classmethod
    def _an_ip_address(cls, value: str) -> str:
        ipaddress.ip_address(value)  # a host name would be resolved differently by each
        return value

    @property
    def management_host(self) -> str:
        """Where the controller and the CLI reach ARI, AMI, HTTP and PostgreSQL."""
        return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(
            self.management_address, self.management_address
        )

    @property
    def management_url_host(self) -> str:
        """management_host as it is written in a URL (IPv6 in brackets)."""
        host = self.management_host
        return f"[{host}]" if ":" in host else host

    @field_validator("database_url", "ari_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def _port(self, explicit: int | None, base: int) -> int:
        return explicit if explicit is not None else base + _PORT_OFFSET.get(self.instance, 0)

    @property
    def ports(self) -> Ports:
        """The loopback ports of this instance."""
        rtp = self.rtp_start if self.rtp_start is not None else _RTP_BASE.get(self.instance, 10000)
        return Ports(
            sip=self._port(self.sip_port, 5060),
            rtp_start=rtp,
            rtp_end=rtp + 2 * self.channels - 1,
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
