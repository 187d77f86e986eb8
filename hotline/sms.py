"""Texting citizens: the work-order number when an order is taken, the answer when it comes.

The center's SMS gateway is outside this project (each city has its own operator contract):
`SmsGateway` is what the product needs of it. `FileSms`, used by default and in tests,
appends each message as one JSON line to a file (0600: it holds phone numbers) — a
deployment replaces it with an adapter to its gateway.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from pathlib import Path
from typing import Protocol

import structlog

from acd.work_orders import WorkOrder

log = structlog.get_logger("sms")

SIGNATURE = "【12333】"
MAX_ANSWER = 300  # a long answer is cut; the citizen can call for the rest


class SmsGateway(Protocol):
    """Send one text message; raises on failure (the caller logs it, the order stands)."""

    async def send(self, number: str, text: str, *, reference: str) -> None:
        """Text `number`; `reference` (the order number) ties delivery reports to the order."""
        ...


class FileSms:
    """Messages appended to a JSON-lines file instead of sent."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line + "\n")

    async def send(self, number: str, text: str, *, reference: str) -> None:
        """Append {at, to, text, reference} (in a thread: the loop serves calls)."""
        record = {
            "at": dt.datetime.now(dt.UTC).isoformat(),
            "to": number,
            "text": text,
            "reference": reference,
        }
        await asyncio.to_thread(self._append, json.dumps(record, ensure_ascii=False))

    def sent(self) -> list[dict[str, str]]:
        """Every message written so far (for tests and ops)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


def taken_text(order: WorkOrder, timezone: dt.tzinfo) -> str:
    """The text sent when an order is opened: its number and the deadline."""
    due = order.due_at.astimezone(timezone)
    return (
        f"{SIGNATURE}您的问题已受理，工单号{order.number}，"
        f"我们将在{due.month}月{due.day}日前答复。可拨打12333按提示查询办理进度。"
    )


def answer_text(order: WorkOrder) -> str:
    """The text sent when the office has answered."""
    answer = order.answer
    if len(answer) > MAX_ANSWER:
        answer = answer[: MAX_ANSWER - 1] + "…"
    return f"{SIGNATURE}工单{order.number}答复：{answer}"


async def notify(gateway: SmsGateway, number: str, text: str, reference: str) -> bool:
    """Send, logging a failure instead of raising (the order is saved either way)."""
    try:
        await gateway.send(number, text, reference=reference)
    except Exception as exc:
        log.warning("sms_not_sent", order=reference, error=str(exc)[:200])
        return False
    log.info("sms_sent", order=reference)
    return True
