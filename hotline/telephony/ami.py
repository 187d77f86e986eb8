"""AMI for what ARI lacks: reloads, endpoint status, security events (panoramisk)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from panoramisk import Manager

log = structlog.get_logger("ami")


class AmiLink:
    """One AMI connection; panoramisk reconnects by itself."""

    def __init__(self, *, host: str, port: int, username: str, secret: str) -> None:
        self._params = {"host": host, "port": port, "username": username, "secret": secret}
        self.manager: Any = None
        self.connected = False
        self.security_events = 0
        self.on_contact_status: Callable[[str, str], None] = lambda _aor, _status: None

    async def run(self, stop: asyncio.Event) -> None:
        """Connect and stay connected until stop."""
        self.manager = Manager(
            loop=asyncio.get_running_loop(), ping_delay=10, reconnect_timeout=2, **self._params
        )
        self.manager.register_event("SuccessfulAuth", self._ignore)
        self.manager.register_event("InvalidPassword", self._security)
        self.manager.register_event("ChallengeResponseFailed", self._security)
        self.manager.register_event("InvalidAccountID", self._security)
        self.manager.register_event("ContactStatus", self._contact_status)
        self.manager.on_login = self._on_login
        self.manager.on_disconnect = self._on_disconnect
        try:
            await self.manager.connect()
        except OSError as exc:
            log.warning("ami_connect_failed", error=str(exc))
        try:
            await stop.wait()
        finally:
            self.manager.close()

    def _on_login(self, _manager: Any) -> None:
        self.connected = True
        log.info("ami_connected")

    def _on_disconnect(self, _manager: Any, exc: Any) -> None:
        self.connected = False
        log.warning("ami_disconnected", error=str(exc))

    async def _ignore(self, _manager: Any, _event: Any) -> None:
        return None

    async def _contact_status(self, _manager: Any, event: Any) -> None:
        self.on_contact_status(str(event.get("AOR", "")), str(event.get("ContactStatus", "")))

    async def _security(self, _manager: Any, event: Any) -> None:
        self.security_events += 1
        log.warning(
            "sip_security_event",
            kind=event.get("Event"),
            account=event.get("AccountID"),
            remote=event.get("RemoteAddress"),
        )

    async def action(self, action: dict[str, str]) -> dict[str, Any]:
        """Send one AMI action; raise if Asterisk answers with an error."""
        if self.manager is None or not self.connected:
            raise RuntimeError("AMI is not connected")
        reply = await self.manager.send_action(action)
        if reply.get("Response") == "Error":
            raise RuntimeError(f"AMI {action.get('Action')}: {reply.get('Message')}")
        return dict(reply)

    async def command(self, command: str) -> str:
        """Run an Asterisk CLI command through AMI (e.g. 'dialplan reload')."""
        if self.manager is None or not self.connected:
            raise RuntimeError("AMI is not connected")
        reply = await self.manager.send_action({"Action": "Command", "Command": command})
        return str(reply.get("Output", ""))
