"""Rendering Asterisk's configuration from the templates in asterisk-config/ and dialplan/."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import jinja2

from acd.roster import Roster
from hotline import REPO_ROOT
from hotline.provision.secrets import Secrets
from hotline.settings import Ports
from ivr.hours import WEEKDAYS, BusinessHours

TEMPLATE_DIRS = (REPO_ROOT / "asterisk-config", REPO_ROOT / "dialplan")
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/asterisk/modules"


@dataclass(frozen=True)
class RenderInput:
    """Everything the templates may use."""

    inst: Path  # the instance directory as Asterisk sees it
    sip_address: str  # SIP and RTP (phones, carrier)
    management_address: str  # ARI, AMI (loopback unless explicitly moved)
    ports: Ports
    secrets: Secrets
    roster: Roster
    hours: BusinessHours
    app: str
    language: str
    moddir: str = MODULE_DIR
    trunk_match: str = "127.0.0.1"
    trunk_contact: str | None = None  # where outgoing calls (transfers) go
    fallback_wait: int = 300
    channels: int = 2000  # simultaneous channels: maxcalls, open files


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def template_names() -> list[str]:
    """The config files rendered, by template name (without `.j2`)."""
    return sorted(p.name[:-3] for d in TEMPLATE_DIRS for p in d.glob("*.conf.j2"))


def render(data: RenderInput) -> dict[str, str]:
    """Render every template; returns file name -> text."""
    env = _environment()
    media_address = data.sip_address
    if data.sip_address in ("0.0.0.0", "::"):
        media_address = "127.0.0.1"
    # The controller connects from the management address (or loopback when it is a wildcard).
    ami_permits = sorted({"127.0.0.1", data.management_address} - {"0.0.0.0", "::"})
    context = {
        "inst": str(data.inst),
        "sounds": str(data.inst / "sounds" / data.language),
        "sip_address": data.sip_address,
        "management_address": data.management_address,
        "ami_permits": ami_permits,
        "media_address": media_address,
        "ports": data.ports,
        "secrets": data.secrets,
        "agents": data.roster.agents,
        "hours": data.hours,
        "weekdays": WEEKDAYS,
        "app": data.app,
        "language": data.language,
        "moddir": data.moddir,
        "trunk_match": data.trunk_match,
        "trunk_contact": data.trunk_contact,
        "fallback_wait": data.fallback_wait,
        "channels": data.channels,
    }
    return {name: env.get_template(f"{name}.j2").render(context) for name in template_names()}


def write(files: dict[str, str], etc_dir: Path) -> list[str]:
    """Write rendered files (0600: some hold passwords); return the names that changed."""
    etc_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in files.items():
        target = etc_dir / name
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
        changed.append(name)
    return changed
