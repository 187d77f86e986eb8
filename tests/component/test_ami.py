"""AMI against a small fake Asterisk: contacts re-read after every login, actions bounded by
a timeout, and a conversation that cannot be recorded is known.

A real Asterisk cannot be made to swallow one action or change contacts exactly while AMI is
away, so a fake AMI server stands in (STYLE.md rule 8); it speaks the wire format Asterisk
does (header lines, a blank line ends a message)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import structlog
from prometheus_client import generate_latest
from structlog.testing import capture_logs

from acd.queues import QueuesConfig
from acd.router import Router
from hotline.desk import Desk
from hotline.store.journal import Journal
from hotline.telephony.ami import AmiLink
from hotline.web import Metrics


class FakeAmi:
    """Accepts any login, answers PJSIPShowContacts from `contacts`, never answers
    MixMonitor (an Asterisk that hangs)."""

    def __init__(self) -> None:
        self.contacts: list[tuple[str, str]] = []  # (object name, status)
        self.logins = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.session, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def drop(self) -> None:
        """Cut every session (as an Asterisk restart would)."""
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    async def stop(self) -> None:
        await self.drop()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                headers = dict(
                    line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line
                )
                action, action_id = headers.get("Action", ""), headers.get("ActionID", "")
                if action == "Login":
                    self.logins += 1
                    self.send(writer, Response="Success", ActionID=action_id, Message="ok")
                elif action == "PJSIPShowContacts":
                    self.send(writer, Response="Success", ActionID=action_id, EventList="start")
                    for name, status in self.contacts:
                        self.send(
                            writer,
                            Event="ContactList",
                            ActionID=action_id,
                            ObjectType="contact",
                            ObjectName=name,
                            Endpoint=name.split(";@")[0],
                            Status=status,
                        )
                    self.send(
                        writer,
                        Event="ContactListComplete",
                        ActionID=action_id,
                        EventList="Complete",
                        ListItems=str(len(self.contacts)),
                    )
                elif action == "Ping":
                    self.send(writer, Response="Success", ActionID=action_id, Ping="Pong")
                # MixMonitor and anything else: no answer at all.
                await writer.drain()

    @staticmethod
    def send(writer: asyncio.StreamWriter, **headers: str) -> None:
        writer.write("".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n")


async def until(check: Callable[[], bool], seconds: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def fake_ami() -> Any:
    fake = FakeAmi()
    await fake.start()
    yield fake
    await fake.stop()


async def test_contacts_are_reread_after_every_login(fake_ami: FakeAmi) -> None:
    """
    1. AMI logs in: every desk phone's contact state is pushed as ContactStatus would be.
    2. AMI is cut; meanwhile 1001's phone goes away and 1002's comes back (no events reach
       us). AMI logs in again: the contacts are re-read, 1001 pushed as Removed.
    """
    fake_ami.contacts = [("1001;@aa", "Reachable"), ("1002;@bb", "Unreachable")]
    pushed: list[tuple[str, str]] = []
    ami = AmiLink(
        host="127.0.0.1", port=fake_ami.port, username="u", secret="s", reconnect_seconds=1
    )
    ami.on_contact_status = lambda aor, status: pushed.append((aor, status))
    stop = asyncio.Event()
    task = asyncio.create_task(ami.run(stop))
    try:
        await until(lambda: len(pushed) == 2)
        assert sorted(pushed) == [("1001", "Reachable"), ("1002", "Unreachable")]

        pushed.clear()
        fake_ami.contacts = [("1002;@cc", "Reachable")]
        await fake_ami.drop()
        await until(lambda: fake_ami.logins == 2 and len(pushed) == 2)
        assert sorted(pushed) == [("1001", "Removed"), ("1002", "Reachable")]
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)


async def test_an_unanswered_action_times_out_and_the_conversation_is_known_unrecorded(
    fake_ami: FakeAmi, tmp_path: Path
) -> None:
    """
    1. Asterisk never answers MixMonitor: the action ends after its timeout, not never.
    2. The conversation goes on unrecorded, and that is known: a log line, the metric
       hotline_recordings_failed_total, and a recording_failed fact in the call's record.
    3. With AMI down the same holds, at once.
    """
    ami = AmiLink(
        host="127.0.0.1", port=fake_ami.port, username="u", secret="s", action_timeout=0.5
    )
    journal = Journal(engine=None, spool_dir=tmp_path)
    metrics = Metrics()
    desk = Desk(
        router=Router(QueuesConfig.model_validate({"queues": {"general": {}}}), []),
        ari=cast(Any, None),
        ami=ami,
        journal=journal,
        post=lambda _call, _item: None,
        recordings_dir=Path("/monitor"),
        host_root=tmp_path,
        metrics=metrics,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(ami.run(stop))
    call_log = structlog.get_logger("call")
    try:
        await until(lambda: ami.connected)
        with capture_logs() as logs:
            recording = await asyncio.wait_for(
                desk.start_recording("PJSIP/1001-1", "call-1", "1001", call_log), timeout=5
            )
        assert recording is None
        assert [e["event"] for e in logs if e["log_level"] == "error"] == ["recording_failed"]
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        ami.connected = False  # the link's own view once the connection is gone
        assert await desk.start_recording("PJSIP/1001-2", "call-2", "1001", call_log) is None
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
    batch = await journal.spool.take(10)
    assert batch is not None
    facts = [(f.channel_id, f.kind, f.data["reason"].split(":")[0]) for f in batch.facts]
    assert facts == [
        ("call-1", "recording_failed", "TimeoutError"),
        ("call-2", "recording_failed", "RuntimeError"),
    ]
    assert b"hotline_recordings_failed_total 2.0" in generate_latest(metrics.registry)
    journal.close()
