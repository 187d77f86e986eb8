"""Texts to the citizen: what they say, the file-backed gateway, a failing gateway."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from acd.work_orders import DeadlinePolicy, WorkOrder, open_order
from hotline import sms
from ivr.hours import load_hours

HOURS = load_hours(Path(__file__).parents[2] / "dialplan")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def an_order() -> WorkOrder:
    return open_order(
        number="202600000042",
        caller_number="13900000001",
        callback_number="02588776655",
        id_number="",
        question="失业金申领条件",
        line="employment",
        kind="standard",
        owner="1001",
        by="wang.fang",
        at=dt.datetime(2026, 9, 23, 10, tzinfo=SHANGHAI),
        policy=DeadlinePolicy(),
        hours=HOURS,
    )


async def test_the_file_gateway_keeps_each_text_private(tmp_path: Path) -> None:
    order = an_order()
    gateway = sms.FileSms(tmp_path / "state" / "sms.jsonl")
    assert gateway.sent() == []
    text = sms.taken_text(order, SHANGHAI)
    assert await sms.notify(gateway, "02588776655", text, "202600000042")
    assert "工单号202600000042" in text and "10月8日前答复" in text  # 5 working days, 国庆
    (sent,) = gateway.sent()
    assert (sent["to"], sent["reference"], sent["text"]) == ("02588776655", "202600000042", text)
    assert (tmp_path / "state" / "sms.jsonl").stat().st_mode & 0o777 == 0o600


def test_a_long_answer_is_cut() -> None:
    order = dataclasses.replace(an_order(), answer="答" * 1000)
    text = sms.answer_text(order)
    assert text.startswith("【12333】工单202600000042答复：") and text.endswith("…")
    assert len(text) < sms.MAX_ANSWER + 30


class DeadGateway:
    async def send(self, number: str, text: str, *, reference: str) -> None:
        raise ConnectionError("gateway down")


async def test_a_failing_gateway_does_not_fail_the_order() -> None:
    assert not await sms.notify(DeadGateway(), "1", "x", "202600000042")
