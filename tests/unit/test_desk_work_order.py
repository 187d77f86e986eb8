"""The desk's work-order form: what it takes from the agent, what from the desk call."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from acd.desk_call import CallContext
from acd.work_orders import Change, Status, WorkOrder, WorkOrderError
from hotline.desk_work_order import desk_view, order_fields

OFFERED: dict[str, Any] = {
    "lines": ["general", "pension"],
    "types": ["standard", "complex", "labour_inspection"],
    "offices": [{"code": "pension", "name": "养老保险科"}],
}
CALL = CallContext("1700000000.1", "13900000001", "pension", verified_id="110101199003071234")


def test_the_call_gives_number_id_line_and_owner_the_form_the_rest() -> None:
    fields = order_fields({"question": " 待遇核定 "}, OFFERED, CALL, "1002")
    assert fields == {
        "caller_number": "13900000001",
        "callback_number": "13900000001",
        "id_number": "110101199003071234",
        "question": "待遇核定",
        "line": "pension",
        "kind": "standard",
        "owner": "1002",
        "office": "",
        "call_id": "1700000000.1",
    }
    other = order_fields(
        {
            "question": "q",
            "line": "general",
            "type": "complex",
            "office": "pension",
            "callback_number": "057188888888",
            "id_number": "999",
            "owner": "1001",
        },
        OFFERED,
        CALL,
        "1002",
    )
    # What the browser cannot choose: the ID, the owner, the call.
    assert (other["id_number"], other["owner"], other["call_id"]) == (
        "110101199003071234",
        "1002",
        "1700000000.1",
    )
    assert (other["line"], other["kind"], other["office"], other["callback_number"]) == (
        "general",
        "complex",
        "pension",
        "057188888888",
    )


@pytest.mark.parametrize(
    ("body", "error_id"),
    [
        (["question"], "bad_json"),
        ({}, "bad_question"),
        ({"question": "   "}, "bad_question"),
        ({"question": "x" * 4001}, "bad_question"),
        ({"question": 7}, "bad_question"),
        ({"question": "q", "line": "nowhere"}, "bad_line"),
        ({"question": "q", "type": "voice_message"}, "bad_type"),
        ({"question": "q", "office": "tax"}, "unknown_office"),
        ({"question": "q", "callback_number": "12"}, "bad_callback_number"),
        ({"question": "q", "callback_number": "1390000000a"}, "bad_callback_number"),
    ],
)
def test_a_bad_field_is_named(body: object, error_id: str) -> None:
    with pytest.raises(WorkOrderError) as refused:
        order_fields(body, OFFERED, CALL, "1002")
    assert refused.value.error_id == error_id


def test_the_order_filed_reaches_the_desk_without_a_whole_number() -> None:
    at = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
    order = WorkOrder(
        number="202612020001",
        caller_number="13900000001",
        callback_number="057188888888",
        id_number="110101199003071234",
        question="q",
        line="pension",
        kind="complex",
        office="pension",
        owner="1002",
        opened_at=at,
        due_at=at + dt.timedelta(days=21),
        history=(Change(Status.OPEN, at, "agent:1002"),),
    )
    shown = desk_view(order)
    assert shown["number"] == "202612020001" and shown["callback_number"] == "057*****8888"
    text = repr(shown)
    assert "13900000001" not in text and "057188888888" not in text and "1234" not in text
