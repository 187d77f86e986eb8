"""What the caller hears for each self-service answer, composed from short prompts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ivr.speech import PROMPT_TEXT, amount, date, digits, months

CARD_STATUSES = ("normal", "lost", "making", "ready", "cancelled")
CASE_STATUSES = ("open", "sent_to_office", "answered", "followed_up", "closed")  # work orders

# Prompts the self-service steps use, beyond the menu's own (checked by `config check`).
SERVICE_PROMPTS: set[str] = {
    *PROMPT_TEXT,
    "enter-id",
    "id-invalid",
    "enter-password",
    "password-wrong",
    "id-locked",
    "enter-case",
    "no-record",
    "service-unavailable",
    "pension-months",
    "pension-balance",
    "medical-balance",
    "payment-date",
    "payment-amount",
    "case-number",
    "case-office",
    "case-due",
    "referral-intro",
    "voicemail-intro",
    "voicemail-confirm",
    "voicemail-saved",
    "callback-number",
    "callback-confirm",
    "enter-callback",
    "callback-registered",
    "queue-long-wait",
    "voicemail-cancelled",
    "voicemail-too-short",
    *(f"card-{s}" for s in CARD_STATUSES),
    *(f"case-{s}" for s in CASE_STATUSES),
}


def readout(service: str, data: dict[str, Any]) -> tuple[str, ...]:
    """The prompts that answer a query, from the data the social-insurance system returned."""
    if service == "pension":
        return (
            "pension-months",
            *months(int(data["months"])),
            "pension-balance",
            *amount(data["balance"]),
        )
    if service == "medical":
        return ("medical-balance", *amount(data["balance"]))
    if service == "payment":
        paid = data["date"]
        day = paid if isinstance(paid, dt.date) else dt.date.fromisoformat(str(paid))
        return ("payment-date", *date(day), "payment-amount", *amount(data["amount"]))
    if service == "card":
        status = str(data["status"])
        return (f"card-{status}",) if status in CARD_STATUSES else ("no-record",)
    if service == "case":
        # A work order: its status, the office in charge and, until answered, the deadline.
        status = str(data["status"])
        said = ["case-number", *digits(str(data["number"]))]
        said.append(f"case-{status}" if status in CASE_STATUSES else "no-record")
        if data.get("office_prompt"):
            said += ["case-office", str(data["office_prompt"])]
        if data.get("due") is not None:
            said += ["case-due", *date(data["due"])]
        return tuple(said)
    raise ValueError(f"no readout for service {service!r}")
