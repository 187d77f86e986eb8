"""Generated secrets of an instance, kept outside git in a 0600 file; never default passwords."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path


def new_password(nbytes: int = 18) -> str:
    """A random password that survives every config syntax we write it into (url-safe base64)."""
    return secrets.token_urlsafe(nbytes)


@dataclass
class Secrets:
    """Passwords for ARI, AMI, PostgreSQL and each agent's desk phone."""

    ari_user: str = "hotline"
    ari_password: str = field(default_factory=new_password)
    ami_user: str = "hotline"
    ami_password: str = field(default_factory=new_password)
    pg_password: str = field(default_factory=new_password)
    api_token: str = field(default_factory=lambda: new_password(24))
    agent_passwords: dict[str, str] = field(default_factory=dict)
    # 6-digit PINs: an agent logs in at any desk phone with *61 工号 * PIN (hot-desking).
    agent_pins: dict[str, str] = field(default_factory=dict)

    def ensure_agents(self, numbers: Iterable[str]) -> bool:
        """Give every agent a password and a PIN; return whether anything was added."""
        added = False
        for number in numbers:
            if number not in self.agent_passwords:
                self.agent_passwords[number] = new_password(9)
                added = True
            if number not in self.agent_pins:
                self.agent_pins[number] = f"{secrets.randbelow(10**6):06d}"
                added = True
        return added


def load_or_create(path: Path, agent_numbers: Iterable[str] = ()) -> Secrets:
    """Read the secrets file, creating it (0600) or adding missing agents as needed."""
    changed = False
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # copied by hand or written by an older version: private again
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {k: v for k, v in data.items() if k in Secrets.__dataclass_fields__}
        value = Secrets(**known)
        # A secret added in a newer version is generated once and kept, not made anew each time.
        changed = set(known) != set(Secrets.__dataclass_fields__)
    else:
        value = Secrets()
        changed = True
    changed |= value.ensure_agents(agent_numbers)
    if changed:
        save(path, value)
    return value


def save(path: Path, value: Secrets) -> None:
    """Write atomically with mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(value), out, indent=2, sort_keys=True)
    os.replace(tmp, path)
