"""Self-service through the real Asterisk: SIPp presses the keys, Asterisk reports playbacks."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from acd.work_order_config import load_work_orders
from acd.work_orders import Status
from hotline import work_orders_store
from hotline.citizens import demo_id
from ivr.hours import load_hours
from ivr.speech import date
from tests.support.api import agent_api
from tests.support.calls import event_data, events_of, wait_for_call
from tests.support.observer import AriObserver, prompts_heard
from tests.support.phones import DeskPhone
from tests.support.sipp import Caller, Hold, Keys, Pause, Speak, Step, typed
from tests.support.system import DEPARTMENT_PORT, SystemUnderTest

PENSION_READOUT = [
    "pension-months",
    "d1",
    "u100",
    "d8",
    "u10",
    "months",
    "pension-balance",
    "d1",
    "u1e4",
    "d2",
    "u1000",
    "d0",
    "d3",
    "u10",
    "d4",
    "yuan",
    "d5",
    "jiao",
]


def query(service_key: str, id_number: str, password: str) -> list[Step]:
    """1 (self-service) during the welcome, the service's key, the ID and #, the password and #.
    Each key comes 1.5 s after the one before (its own 0.7 s, then 0.8 s): the prompt it
    answers has started by then, and a key cuts it short."""
    return [
        Pause(1500),
        Keys("1"),
        Pause(800),
        Keys(service_key),
        Pause(800),
        typed(id_number + "#"),
        Pause(800),
        typed(password + "#"),
    ]


def caller(system: SystemUnderTest, number: str) -> Caller:
    return Caller(sip_port=system.settings.ports.sip, work_dir=system.work_dir, number=number)


async def test_pension_query_end_to_end(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. A citizen calls, presses 1 (self-service) during the welcome, then 1 (pension).
    2. Enters demo citizen 1's ID number and #, then the query password 123456 and #.
    3. Hears the pension account read out: 180 months, 12034.50 yuan; back to the menu.
    4. Hangs up. The attempt is logged with the ID masked; no key of the ID or password is kept.
    """
    phone = caller(running, "13900000301")
    await phone.start([*query("1", demo_id(1), "123456"), Hold()])
    # The caller hangs up once back in the menu after the read-out.
    await observer.heard(phone.number, lambda h: "jiao" in h and h[-1] == "menu-selfservice")
    await phone.go_on()
    result = await phone.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, phone.number)
    heard = prompts_heard(observer.events, row["channel_id"])
    assert heard == [
        "welcome",
        "menu-selfservice",
        "enter-id",
        "enter-password",
        *PENSION_READOUT,
        "menu-selfservice",
    ], heard
    assert row["ivr_path"] == ["main", "selfservice", "svc:pension", "selfservice"]
    attempts = await db.fetch(
        "SELECT id_masked, outcome FROM identity_attempts WHERE channel_id = $1", row["channel_id"]
    )
    assert [(a["id_masked"], a["outcome"]) for a in attempts] == [("990101********0015", "ok")]
    keys = [
        event_data(e)["digit"] for e in await events_of(db, row["channel_id"]) if e["kind"] == "key"
    ]
    # Menu keys are kept for reports; the ID, its #, and the password are masked.
    assert keys == ["1", "1", *["•"] * (18 + 1 + 6), "#"], keys


async def test_three_wrong_passwords_lock_the_id(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. A citizen asks for the medical account of demo citizen 2 (1, 2, ID).
    2. Enters a wrong password three times; hears "wrong" twice, then "locked".
    3. The ID is locked in the database; a fourth, correct, password in another call is refused.
    """
    phone = caller(running, "13900000302")
    wrong = [typed("000000#"), Hold()]
    await phone.start(
        [
            Pause(1500),
            Keys("1"),
            Pause(800),
            Keys("2"),
            Pause(800),
            typed(demo_id(2) + "#"),
            Pause(800),
            *wrong,
            *wrong,
            *wrong,
        ]
    )
    # The next password once asked for it again; the call ends once told the ID is locked.
    await observer.heard(phone.number, lambda h: h.count("enter-password") == 2)
    await phone.go_on()
    await observer.heard(phone.number, lambda h: h.count("enter-password") == 3)
    await phone.go_on()
    await observer.heard(phone.number, lambda h: "id-locked" in h)
    await phone.go_on()
    result = await phone.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, phone.number)
    heard = prompts_heard(observer.events, row["channel_id"])
    assert heard.count("password-wrong") == 2 and "id-locked" in heard, heard
    assert "medical-balance" not in heard
    lock = await db.fetchrow("SELECT * FROM identity_locks WHERE id_number = $1", demo_id(2))
    assert lock is not None and lock["locked_until"] is not None
    outcomes = await db.fetch(
        "SELECT outcome FROM identity_attempts WHERE channel_id = $1 ORDER BY id",
        row["channel_id"],
    )
    assert [o["outcome"] for o in outcomes] == ["wrong", "wrong", "locked"]

    again = caller(running, "13900000303")
    await again.start([*query("2", demo_id(2), "123456"), Hold()])
    await observer.heard(again.number, lambda h: "id-locked" in h)
    await again.go_on()
    result = await again.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, again.number)
    assert "id-locked" in prompts_heard(observer.events, row["channel_id"])


async def test_invalid_keys_three_times_reach_a_person(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. A citizen presses 7 (no such option) three times in the main menu.
    2. Hears "invalid key" twice, then is handed to a person; nobody is logged in, so the
       caller is told so at once and offered a voice message instead of waiting forever.
    """
    phone = caller(running, "13900000304")
    await phone.start(
        [
            Pause(1500),
            Keys("7"),
            Pause(1500),
            Keys("7"),
            Pause(1500),
            Keys("7"),
            Hold(),
        ]
    )
    await observer.heard(phone.number, lambda h: "voicemail-intro" in h)
    await phone.go_on()
    result = await phone.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, phone.number)
    heard = prompts_heard(observer.events, row["channel_id"])
    # Each 7 may cut the menu short; what matters is two "invalid" and then a person.
    assert [p for p in heard if p != "menu-main"][:5] == [
        "welcome",
        "invalid-key",
        "invalid-key",
        "queue-overflow",
        "voicemail-intro",
    ], heard
    assert row["queue"] == "general"
    kinds = [e["kind"] for e in await events_of(db, row["channel_id"])]
    assert "overflow" in kinds


async def test_hang_up_at_every_step_leaves_no_channel_and_a_complete_row(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. Four citizens call at once and hang up at different steps: during the welcome, while
       entering the ID, while entering the password, and while the answer is read out.
    2. Every call row is closed with the caller as the side that hung up; no channel is left.
    """
    id_keys = typed(demo_id(3) + "#")
    plans = {
        "13900000311": [Pause(800)],
        "13900000312": [
            Pause(1500),
            Keys("1"),
            Pause(1500),
            Keys("1"),
            Pause(1000),
            typed(demo_id(3)[:5]),
        ],
        "13900000313": [
            Pause(1500),
            Keys("1"),
            Pause(1500),
            Keys("1"),
            Pause(1000),
            id_keys,
            Keys("12"),
        ],
        "13900000314": [
            Pause(1500),
            Keys("1"),
            Pause(1500),
            Keys("1"),
            Pause(1000),
            id_keys,
            typed("123456#"),
            Pause(2500),
        ],
    }
    phones = [caller(running, number) for number in plans]
    for phone in phones:
        await phone.start(plans[phone.number])
    results = await asyncio.gather(*(phone.finish() for phone in phones))
    assert all(r.ok for r in results), [r.output for r in results if not r.ok]
    for phone in phones:
        row = await wait_for_call(db, phone.number)
        assert row["hangup_side"] == "caller", phone.number
        assert row["answered_at"] is not None and row["ended_at"] is not None
    channels = await observer.channels()
    assert not [c for c in channels if c["caller"]["number"] in plans]
    last = await wait_for_call(db, "13900000314")
    assert "svc:pension" in last["ivr_path"]


async def test_referral_and_case_progress(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. An agent's work order is sent to the pension office (through the store, as the API
       does).
    2. A citizen hears the referral directory (1, 6), interrupts it with *, then asks for
       that order's number (5, number, #) and hears that the office is handling it, the
       office's name and the deadline's date.
    """
    config = running.settings.config_dir
    hours = load_hours(config)
    engine = create_async_engine(running.instance.database_url or "")
    try:
        agent = work_orders_store.Actor("e2e-agent", "agent")
        opened = await work_orders_store.create(
            engine,
            actor=agent,
            at=dt.datetime.now(dt.UTC),
            policy=load_work_orders(config).policy(),
            hours=hours,
            caller_number="13900000305",
            callback_number="",
            id_number="",
            question="养老金领取资格认证",
            line="pension",
            kind="standard",
            owner="1001",
        )
        await work_orders_store.change(
            engine, opened.number, Status.SENT, actor=agent, at=opened.opened_at, office="pension"
        )
    finally:
        await engine.dispose()
    number = opened.number
    due = opened.due_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    phone = caller(running, "13900000305")
    await phone.start(
        [
            Pause(1500),
            Keys("1"),
            Pause(1500),
            Keys("6"),
            Pause(3000),
            Keys("*"),
            Pause(1000),
            Keys("5"),
            Pause(1000),
            typed(f"{number}#"),
            Hold(),
        ]
    )
    await observer.heard(
        phone.number, lambda h: "case-sent_to_office" in h and h[-1] == "menu-selfservice"
    )
    await phone.go_on()
    result = await phone.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, phone.number)
    heard = prompts_heard(observer.events, row["channel_id"])
    assert heard[2:4] == ["referral-intro", "referral-12345"], heard
    i = heard.index("case-number")
    assert heard[i + 1 : i + 13] == [f"d{c}" for c in number]
    assert heard[i + 13 : i + 16] == ["case-sent_to_office", "case-office", "office-pension"]
    said_due = ["case-due", *date(due)]
    assert heard[i + 16 : i + 16 + len(said_due)] == said_due, heard
    assert row["ivr_path"] == [
        "main",
        "selfservice",
        "svc:referral",
        "selfservice",
        "svc:case",
        "selfservice",
    ]


async def test_voice_message_is_recorded_and_listed_with_a_deadline(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. A citizen presses 3, hears the instructions and the beep, speaks (SIPp sends audio)
       and presses #.
    2. Presses 1 to keep the message; hears the calling number read back, presses 2 and
       gives another callback number; hears that it is saved.
    3. The message is stored with that callback number and a deadline 5 working days on.
    """
    phone = caller(running, "13900000306")
    await phone.start(
        [
            Pause(1500),
            Keys("3"),
            Hold(),
            Speak(),
            Keys("#"),
            Pause(2500),
            Keys("1"),
            Pause(3000),
            Keys("2"),
            Pause(1000),
            typed("02588776655#"),
            Hold(),
        ]
    )
    # The recording starts as soon as the instructions end: the caller speaks from then on.
    channel, _ = await observer.heard(phone.number, lambda h: "voicemail-intro" in h)
    await observer.wait_for(
        lambda e: (
            e.get("type") == "PlaybackFinished"
            and e["playback"]["target_uri"] == f"channel:{channel}"
            and e["playback"]["media_uri"].endswith("/voicemail-intro")
        )
    )
    await phone.go_on()
    await observer.heard(phone.number, lambda h: "voicemail-saved" in h)
    await phone.go_on()
    result = await phone.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, phone.number)
    heard = prompts_heard(observer.events, row["channel_id"])
    assert "voicemail-confirm" in heard and "voicemail-saved" in heard, heard
    assert "callback-number" in heard and "enter-callback" in heard, heard
    message = await db.fetchrow(
        "SELECT * FROM voice_messages WHERE channel_id = $1", row["channel_id"]
    )
    assert message is not None
    assert message["callback_number"] == "02588776655" and message["status"] == "open"
    assert message["caller_number"] == phone.number
    assert message["due_on"] > message["created_at"].date()
    assert row["disposition"] == "voicemail"
    spool = running.settings.on_host(running.settings.asterisk_dir) / "spool" / "recording"
    voice = (spool / f"{message['recording']}.wav").stat()
    assert voice.st_size > 1000
    assert voice.st_mode & 0o007 == 0 and spool.stat().st_mode & 0o777 == 0o750
    listed = await asyncio.to_thread(agent_api, running, "/voice-messages", "GET")
    mine = [m for m in listed["voice_messages"] if m["recording"] == message["recording"]]
    assert mine and mine[0]["due_on"] == message["due_on"].isoformat()


async def test_medical_payment_and_card_in_one_call(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. A citizen verifies once (1, 2, ID, password) and hears the medical account balance.
    2. Back in the self-service menu, presses 3 (latest pension payment), then 4 (card):
       no second identity check.
    """
    phone = caller(running, "13900000307")
    await phone.start(
        [*query("2", demo_id(1), "123456"), Hold(), Keys("3"), Hold(), Keys("4"), Hold()]
    )
    # Each next key once the answer is read out and the menu comes again.
    await observer.heard(phone.number, lambda h: "fen" in h and h[-1] == "menu-selfservice")
    await phone.go_on()
    await observer.heard(phone.number, lambda h: "day" in h and h[-1] == "menu-selfservice")
    await phone.go_on()
    await observer.heard(phone.number, lambda h: "card-normal" in h)
    await phone.go_on()
    result = await phone.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, phone.number)
    heard = prompts_heard(observer.events, row["channel_id"])
    medical = heard.index("medical-balance")
    assert heard[medical + 1 : medical + 11] == [
        "d3",
        "u1000",
        "d2",
        "u100",
        "d0",
        "d8",
        "yuan",
        "d0",
        "d5",
        "fen",
    ], heard
    payment = heard.index("payment-date")
    assert heard[payment + 1 : payment + 11] == [
        "d2",
        "d0",
        "d2",
        "d6",
        "year",
        "u10",
        "d1",
        "month",
        "u10",
        "day",
    ], heard
    assert "card-normal" in heard
    assert heard.count("enter-id") == 1
    assert row["ivr_path"][:3] == ["main", "selfservice", "svc:medical"]
    assert "svc:payment" in row["ivr_path"] and "svc:card" in row["ivr_path"]


async def test_silence_repeats_the_menu_then_reaches_a_person(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. A citizen says and presses nothing.
    2. The main menu is repeated with "no input" twice; after the third silence the caller is
       handed to a person (nobody is logged in here: a voice message is offered).
    """
    phone = caller(running, "13900000308")
    await phone.start([Hold(90000)])
    await observer.heard(phone.number, lambda h: "queue-overflow" in h, timeout=90)
    await phone.go_on()
    result = await phone.finish()
    assert result.ok, result.output
    row = await wait_for_call(db, phone.number)
    heard = prompts_heard(observer.events, row["channel_id"])
    assert heard[:6] == [
        "welcome",
        "menu-main",
        "no-input",
        "menu-main",
        "no-input",
        "menu-main",
    ], heard
    assert heard[6] == "queue-overflow", heard
    assert row["queue"] == "general"


async def test_transfer_to_another_department_through_the_trunk(
    running: SystemUnderTest, db: asyncpg.Connection, observer: AriObserver
) -> None:
    """
    1. The housing-fund line (12329) answers behind the carrier trunk (a SIPp phone).
    2. A citizen presses 0 then 8 (transfer to 12329); Asterisk dials out and connects.
    3. The call row says transferred, with the number.
    """
    department = DeskPhone(
        user="12329",
        password="-",
        sip_port=running.settings.ports.sip,
        work_dir=running.work_dir / "department",
    )
    await department.answer_at(DEPARTMENT_PORT)
    try:
        phone = caller(running, "13900000309")
        result = await phone.call([Pause(1500), Keys("0"), Pause(800), Keys("8"), Pause(5000)])
        assert result.ok, result.output
    finally:
        await department.close()
    row = await wait_for_call(db, phone.number)
    assert row["disposition"] == "transferred"
    events = await events_of(db, row["channel_id"])
    assert [event_data(e) for e in events if e["kind"] == "transferred"] == [{"number": "12329"}]
    dial = await observer.wait_for(
        lambda e: (
            e.get("type") == "Dial"
            and e.get("dialstatus") == "ANSWER"
            and e.get("caller", {}).get("id") == row["channel_id"]
        )
    )
    assert dial["peer"]["name"].startswith("PJSIP/trunk")
