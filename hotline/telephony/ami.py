"""AMI for what ARI lacks: reloads, endpoint status, security events (panoramisk)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from panoramisk import Manager

log = structlog.get_logger("ami")


# Contact states that mean the desk phone can be rung (ContactStatus and ContactList).
REACHABLE = frozenset({"Created", "Reachable", "NonQualified", "Updated"})


class AmiLink:
    """One AMI connection; panoramisk reconnects by itself. After every login the desk
    phones' contacts are re-read: their changes while AMI was away came as no event."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        action_timeout: float = 5.0,
        reconnect_seconds: int = 2,
    ) -> None:
        self._params = {"host": host, "port": port, "username": username, "secret": secret}
        self.action_timeout = action_timeout
        self._reconnect = reconnect_seconds
        self.manager: Any = None
        self.connected = False
        self.logins = 0
        self.security_events = 0
        self.on_contact_status: Callable[[str, str], None] = lambda _aor, _status: None
        self._contacts: dict[str, str] = {}  # aor -> last status pushed
        self._background: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Connect and stay connected until stop."""
        self.manager = Manager(
            loop=asyncio.get_running_loop(),
            ping_delay=10,
            reconnect_timeout=self._reconnect,
            **self._params,
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
            for task in list(self._background):
                task.cancel()

    def _on_login(self, _manager: Any) -> None:
        self.connected = True
        self.logins += 1
        log.info("ami_connected", logins=self.logins)
        task = asyncio.ensure_future(self.reread_contacts())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def reread_contacts(self) -> None:
        """Push every desk phone's contact state (PJSIPShowContacts) as ContactStatus events
        would; a phone with no contact any more is pushed as Removed."""
        try:
            replies = await self.action({"Action": "PJSIPShowContacts"}, as_list=True)
        except Exception as exc:
            log.warning("contacts_not_reread", error=str(exc)[:200])
            return
        listed: dict[str, str] = {}
        for reply in replies if isinstance(replies, list) else [replies]:
            if reply.get("Event") != "ContactList":
                continue
            # Dynamic contacts are named "<aor>;@<hash>"; the endpoint has the agent's name.
            name = str(reply.get("ObjectName", "")).split(";@")[0].split("@@")[0]
            aor = name or str(reply.get("Endpoint", ""))
            status = str(reply.get("Status", ""))
            if listed.get(aor) not in REACHABLE:  # one reachable contact is enough
                listed[aor] = status
        gone = {aor: "Removed" for aor in self._contacts if aor not in listed}
        for aor, status in {**gone, **listed}.items():
            self._push(aor, status)
        log.info("contacts_reread", contacts=len(listed), gone=len(gone))

    def _push(self, aor: str, status: str) -> None:
        if status == "Removed":
            self._contacts.pop(aor, None)
        else:
            self._contacts[aor] = status
        self.on_contact_status(aor, status)

    def _on_disconnect(self, _manager: Any, exc: Any) -> None:
        self.connected = False
        log.warning("ami_disconnected", error=str(exc))

    async def _ignore(self, _manager: Any, _event: Any) -> None:
        return None

    async def _contact_status(self, _manager: Any, event: Any) -> None:
        self._push(str(event.get("AOR", "")), str(event.get("ContactStatus", "")))

    async def _security(self, _manager: Any, event: Any) -> None:
        self.security_events += 1
        log.warning(
            "sip_security_event",
            kind=event.get("Event"),
            account=event.get("AccountID"),
            remote=event.get("RemoteAddress"),
        )

    async def action(self, action: dict[str, str], as_list: bool | None = None) -> Any:
        """Send one AMI action; raise if AMI is away, if Asterisk answers with an error, or
        TimeoutError if it does not answer within `action_timeout`."""
        if self.manager is None or not self.connected:
            raise RuntimeError("AMI is not connected")
        reply = await asyncio.wait_for(
            self.manager.send_action(action, as_list=as_list), self.action_timeout
        )
        if isinstance(reply, list):
            return reply
        if reply.get("Response") == "Error":
            raise RuntimeError(f"AMI {action.get('Action')}: {reply.get('Message')}")
        return dict(reply)

    async def command(self, command: str) -> str:
        """Run an Asterisk CLI command through AMI (e.g. 'dialplan reload')."""
        reply = await self.action({"Action": "Command", "Command": command})
        return str(reply.get("Output", ""))
