"""The controller: routes ARI events to calls, adopts calls after a reconnect, applies config
and feature codes; hotline/controller_process.py wires it to its connections and tasks."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.pin_lock import PinLock
from acd.quality_config import QualityConfig
from acd.queues import QueuesConfig
from acd.report_records import ReportRules
from acd.roster import Roster
from acd.topic_config import TopicsConfig
from acd.work_order_config import WorkOrdersConfig
from hotline import feature_codes, work_orders_store
from hotline.adoptions import GRACE_SECONDS, Adoptions
from hotline.caller_line import CallWorkOrder
from hotline.callflow import CallFlow, CallServices
from hotline.citizens import SocialInsurancePort
from hotline.desk import Desk
from hotline.metrics import Metrics
from hotline.order_calls import OrderCalls
from hotline.report_render import ReportDesk
from hotline.restoring import Restoring
from hotline.sessions import SessionPolicy
from hotline.sms import FileSms, SmsGateway
from hotline.store.journal import Journal
from hotline.store.spool import SpoolLimits
from hotline.supervision import Conversation, Supervision
from hotline.tasks import TaskSupervisor
from hotline.telephony.ami import AmiLink
from hotline.telephony.ari import AriClient, AriError, Event, event_channel
from hotline.telephony.events import channel_event, lost_channel
from hotline.telephony.mailbox import Mailboxes
from ivr.hours import BusinessHours, working_days_after
from ivr.menu import Menu

log = structlog.get_logger("controller")

VOICEMAIL_DAYS = 5  # deferred answers are due within 5 working days (DOMAIN.md)
# The ARI events the controller reads. Asterisk serialises every other one (ChannelVarset for
# each variable we set, ChannelStateChange, Dial...) only if asked: we ask it not to.
EVENTS_USED = (
    "StasisStart",
    "StasisEnd",
    "ChannelDestroyed",
    "ChannelHangupRequest",
    "ChannelDtmfReceived",
    "PlaybackFinished",
    "RecordingFinished",
    "RecordingFailed",
)


@dataclass(frozen=True)
class ControllerConfig:
    """What the controller needs, resolved by the CLI."""

    ari_url: str
    ari_user: str
    ari_password: str
    app: str
    ami_host: str
    ami_port: int
    ami_user: str
    ami_password: str
    database_url: str | None
    http_host: str
    http_port: int
    sounds_dir: Path  # as Asterisk sees it
    spool_dir: Path
    menu: Menu
    hours: BusinessHours
    api_token: str
    agent_pins: dict[str, str]
    queues: QueuesConfig
    roster: Roster
    recordings_dir: Path  # as Asterisk sees it
    host_root: Path  # Asterisk's root on this host
    # Re-read, validate and re-render what ops edit; raises ConfigError. Runs in a thread.
    apply_center: Callable[[], AppliedCenter]
    db_pool_size: int = 5  # connections to PostgreSQL (the journal writer, restores, look-ups)
    max_callers: int = 1000  # citizens on the line at once; more are told all lines are busy
    state_dir: Path | None = None  # where the supervisor's state is (for /metrics)
    spool_limits: SpoolLimits = field(default_factory=SpoolLimits)
    web_access: SessionPolicy = field(default_factory=SessionPolicy)
    work_orders: WorkOrdersConfig = field(default_factory=WorkOrdersConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    topics: TopicsConfig = field(default_factory=TopicsConfig)  # wrap-up codes (the desk)
    sms_file: Path | None = None  # FileSms's file (state dir); None: <spool_dir>/../sms.jsonl
    config_dir: Path | None = None  # the files ops edit (None: no editing from the browser)


@dataclass(frozen=True)
class AppliedCenter:
    """What `config apply` hands the running controller."""

    menu: Menu
    hours: BusinessHours
    queues: QueuesConfig
    roster: Roster
    agent_pins: dict[str, str]
    work_orders: WorkOrdersConfig = field(default_factory=WorkOrdersConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    topics: TopicsConfig = field(default_factory=TopicsConfig)


class Controller:
    """Routes ARI events to calls, adopts calls after a (re)connect, drains on SIGTERM."""

    def __init__(
        self,
        *,
        config: ControllerConfig,
        ari: AriClient,
        journal: Journal,
        metrics: Metrics,
        citizens: SocialInsurancePort,
        desk: Desk | None = None,
        engine: AsyncEngine | None = None,
    ) -> None:
        self.config = config
        self.desk = desk
        self.engine = engine
        self.ari = ari
        self.journal = journal
        self.metrics = metrics
        self.run_id = uuid.uuid4().hex[:6]
        self.calls: dict[str, CallFlow] = {}
        self.owner: dict[str, str] = {}  # playback or helper channel id -> call id
        self.mailboxes: Mailboxes[Any] = Mailboxes(self._handle)
        self.draining = False
        self.asterisk_started: str | None = None  # Asterisk's startup time at the last connect
        self.max_callers = config.max_callers
        metrics.max_callers.set(config.max_callers)
        self.tasks = TaskSupervisor()  # run() gives it the stop event
        self.restoring = Restoring(journal)  # what the database could not give back yet
        # Offers wait while the calls a run before ours left in Asterisk are adopted.
        self.adoptions = Adoptions(desk.router) if desk is not None else None
        # New calls take the newest menu; calls in progress keep the one they started with.
        self.menu = config.menu
        self.hours = config.hours
        self.work_orders = config.work_orders
        self.topics = config.topics
        self.roster = config.roster
        self.quality = config.quality  # the 质检 form and share, as last applied
        # The center's SMS gateway is external: by default texts go to a file (hotline/sms.py).
        self.sms: SmsGateway = FileSms(config.sms_file or config.spool_dir.parent / "sms.jsonl")
        self.order_calls = OrderCalls(self)  # call-backs and follow-ups of work orders
        self.report_desk = ReportDesk()  # the API's reports and the keeper's, one at a time
        self.config_version = config.menu.version
        self.agent_pins = dict(config.agent_pins)
        self.pin_lock = PinLock(
            config.queues.hot_desk.lock_after, config.queues.hot_desk.lock_minutes
        )
        # Case numbers are a year and a sequence: misses are limited per calling number, as
        # PINs are, so the menu cannot be used to walk through everyone's orders.
        self.case_lock = PinLock(lock_after=5, lock_minutes=30)
        self.services = CallServices(
            ari=ari,
            journal=journal,
            citizens=citizens,
            sounds_dir=config.sounds_dir,
            run_id=self.run_id,
            post=self.mailboxes.post,
            is_open=lambda: self.hours.is_open(dt.datetime.now(dt.UTC)),
            voicemail_due=lambda day: working_days_after(day, VOICEMAIL_DAYS, self.hours),
            desk=desk,
            case_progress=self._case_progress,
            open_work_order=self._open_work_order,
        )
        self.supervision = Supervision(
            ari=ari,
            engine=lambda: self.engine,
            conversation_of=self.conversation_of,
            tell=lambda channel, prompt: feature_codes.tell(self, channel, prompt),
        )

    def conversation_of(self, agent: str) -> Conversation | None:
        """The agent's conversation with a caller, if they are talking now."""
        if self.desk is None or agent not in self.desk.router.agents:
            return None
        state = self.desk.router.agents[agent]
        flow = self.calls.get(state.current_call or "")
        leg = flow.person if flow is not None else None
        if leg is None or leg.phase != "talking" or leg.agent != agent or not leg.agent_channel:
            return None
        return Conversation(leg.call_id, leg.agent_channel, state.seat)

    async def _case_progress(self, number: str, caller: str) -> dict[str, Any] | None:
        if self.engine is None:
            raise RuntimeError("work orders need the database")
        phone = caller or "anonymous"
        if self.case_lock.locked_until("phone", phone, time.time()):
            log.warning("case_lookup_locked", caller=phone)
            return None
        found = await work_orders_store.progress(self.engine, number, self.work_orders, self.hours)
        if found is None:
            self.case_lock.attempt(agent=None, phone=phone, correct=False, now=time.time())
        return found

    async def _open_work_order(self, order: CallWorkOrder) -> str:
        if self.engine is None:
            raise RuntimeError("work orders need the database")
        opened = await work_orders_store.create(
            self.engine,
            actor=work_orders_store.Actor(f"agent:{order.owner}", "agent", "desk phone"),
            at=dt.datetime.now(dt.UTC),
            policy=self.work_orders.policy(),
            hours=self.hours,
            caller_number=order.caller_number,
            callback_number=order.caller_number,
            id_number=order.id_number,
            question="专家未接通，待答复（见通话录音）",  # No expert answered: see the recording.
            line=order.line,
            kind="standard",
            owner=order.owner,
            recording=order.recording,
            call_id=order.call_id,
        )
        return opened.number

    # --- routing: runs inside the websocket reader, so it only enqueues
    def on_event(self, event: Event) -> None:
        """Send an ARI event to the mailbox of the call it belongs to."""
        kind = event.get("type", "")
        self.metrics.count_ari_event(kind)
        call_id = event_channel(event)
        if not call_id:
            return
        if call_id in self.order_calls.channels:
            self.order_calls.on_ari(call_id, event)
            return
        owner = self.desk.owner(call_id) if self.desk is not None else None
        purpose = (event.get("args") or [""])[0] if kind == "StasisStart" else ""
        supervised = self.supervision.key_of(call_id)
        if supervised is not None:
            self.mailboxes.post(supervised, ("supervision", event))
        elif owner is not None and self.desk is not None:
            agent = self.desk.agent_channels[call_id][1]
            typed = channel_event(event)
            if typed is not None:
                self.mailboxes.post(owner, ("agent", call_id, agent, typed))
            if kind == "ChannelDestroyed":
                self.desk.agent_channels.pop(call_id, None)
        elif self.desk is not None and call_id in self.desk.citizen_channels:
            self.mailboxes.post(self.desk.citizen_channels[call_id], ("citizen", event))
            if kind == "ChannelDestroyed":
                self.desk.citizen_channels.pop(call_id, None)
        elif purpose in ("agent", "callback", "supervise", "snoop", "ordercall"):
            # Rung by an earlier run of the controller for a call that is no longer ours.
            self.mailboxes.post(call_id, ("stray", event))
        elif purpose == "feature":
            self.mailboxes.post(call_id, ("feature", event))
        elif kind == "StasisStart":
            self.mailboxes.post(call_id, ("start", event))
        elif call_id in self.mailboxes or call_id in self.calls:
            self.mailboxes.post(call_id, event)

    def report_rules(self) -> ReportRules:
        """The rules of reports asked for without thresholds (the API's defaults), with the
        calendar as last applied: the days the keeper stores are the ones asked for."""
        return ReportRules(timezone=self.hours.timezone, hours=self.hours)

    async def _handle(self, call_id: str, item: Any) -> bool:
        """Per-call consumer: items of one call arrive here in order."""
        if isinstance(item, tuple) and item[0] == "order":
            return await self.order_calls.handle(item[1], item[2])
        if isinstance(item, tuple) and item[0] == "stray":
            await self._to_fallback(call_id, hang_up=True)
            return True
        if isinstance(item, tuple) and item[0] == "feature":
            await feature_codes.run(self, item[1])
            return True
        if isinstance(item, tuple) and item[0] == "supervision":
            return await self.supervision.on_event(call_id, item[1])
        if isinstance(item, tuple) and item[0] == "adopt":
            try:
                return await self._start(call_id, item)
            finally:
                if self.adoptions is not None and self.desk is not None:
                    self.desk.apply(self.adoptions.adopted(call_id, time.time()))
        if isinstance(item, tuple) and item[0] == "start":
            return await self._start(call_id, item)
        known = self.calls.get(call_id)
        if known is None:
            if isinstance(item, tuple) and item[0] in ("transfer", "consult"):
                # An agent's command for a call that ended meanwhile: said, not lost unseen.
                log.warning("desk_command_for_no_call", call_id=call_id, command=item[0])
            return True
        done = await known.on_event(item)
        if done:
            self.forget(call_id)
        return done

    async def _start(self, call_id: str, item: tuple[str, dict[str, Any]]) -> bool:
        """A new call, or one adopted after a (re)connect; True when it is over already."""
        verb, event = item
        channel = event["channel"]
        if call_id in self.calls:
            return False
        if verb == "start" and self.draining:
            # A new call while we shut down: serve it natively rather than refuse it.
            await self._to_fallback(call_id)
            return True
        # A call not answered yet is an arrival, also when adopted after a restart.
        full = (
            verb == "start" or channel.get("state") != "Up"
        ) and self.citizens_on_the_line() >= self.max_callers
        flow = CallFlow(channel=channel, menu=self.menu, services=self.services)
        self.calls[call_id] = flow
        self.metrics.calls_active.set(len(self.calls))
        if verb == "start":
            self.metrics.calls_total.inc()
        if full:
            self.metrics.calls_refused.labels("lines_busy").inc()
            await flow.refuse(channel, list(event.get("args", [])), "lines_busy")
        elif verb == "start":
            await flow.begin(channel, list(event.get("args", [])))
        else:
            self.metrics.calls_adopted.inc()
            await flow.adopt(channel)
        if flow.ended:
            self.forget(call_id)
            return True
        return False

    def citizens_on_the_line(self) -> int:
        """What HOTLINE_MAX_CALLERS bounds (CallFlow.holds_a_line). Agents' legs and the
        center's call-backs are not counted: the center places them itself, one per agent
        at most. Counted afresh at each arrival (no count to drift): a scan of the calls."""
        return sum(1 for flow in self.calls.values() if flow.holds_a_line)

    def forget(self, call_id: str) -> None:
        self.calls.pop(call_id, None)
        self.metrics.calls_active.set(len(self.calls))

    async def _to_fallback(self, channel_id: str, hang_up: bool = False) -> None:
        try:
            if hang_up:
                await self.ari.hangup(channel_id)
                return
            await self.ari.request(
                "POST",
                f"/channels/{channel_id}/continue",
                {"context": "fallback", "extension": "s", "priority": 1},
            )
        except AriError as exc:
            if not exc.gone:
                raise

    async def apply_config(self, ami: AmiLink) -> str:
        """Apply what ops edited, without dropping calls; raises ConfigError if invalid."""
        center = await asyncio.to_thread(self.config.apply_center)
        menu = center.menu
        self.menu, self.hours = menu, center.hours
        self.work_orders = center.work_orders
        self.topics = center.topics
        self.roster = center.roster
        self.quality = center.quality
        self.config_version = menu.version
        self.agent_pins = dict(center.agent_pins)
        self.pin_lock.reconfigure(
            center.queues.hot_desk.lock_after, center.queues.hot_desk.lock_minutes
        )
        if self.desk is not None:
            # Waiting callers and agents keep their state and places; new rules apply from now.
            self.desk.router.reconfigure(center.queues, list(center.roster.agents), center.hours)
            self.desk.callbacks.max_per_day = center.queues.callback.max_per_number_per_day
            self.desk.greet_with_agent_number = center.queues.greet_with_agent_number
        # The AMI Reload action needs only the `system` class; a CLI `Command` would need
        # `command`, which is every CLI command there is.
        for module in ("pbx_config.so", "res_pjsip.so", "app_queue.so"):
            try:
                await ami.action({"Action": "Reload", "Module": module})
            except Exception as exc:
                log.warning("asterisk_reload_failed", module=module, error=str(exc)[:200])
        log.info("config_applied", version=menu.version, calls_on_old_version=len(self.calls))
        return menu.version

    def on_contact_status(self, aor: str, status: str) -> None:
        """A desk phone registered, vanished or stopped answering qualify (from AMI)."""
        if self.desk is None or aor not in self.desk.router.agents:
            return
        reachable = status in ("Created", "Reachable", "NonQualified", "Updated")
        log.info("desk_phone", agent=aor, status=status)
        self.desk.apply(self.desk.router.endpoint(aor, reachable, time.time()))

    async def _forget_lost_legs(self, desk: Desk) -> list[dict[str, Any]]:
        """Agents' and call-back channels that ended while we were disconnected: their calls
        hear of it as of any hang-up, so no agent stays offered or on a call forever.
        Returns every channel of Asterisk."""
        # Ringing channels are not in the application yet: ask for every channel.
        channels: list[dict[str, Any]] = await self.ari.request("GET", "/channels")
        existing = {c["id"] for c in channels}
        self.order_calls.lost(existing)
        for channel_id, (call_id, agent) in list(desk.agent_channels.items()):
            if channel_id not in existing:
                desk.agent_channels.pop(channel_id, None)
                self.mailboxes.post(call_id, ("agent", channel_id, agent, lost_channel(channel_id)))
        for channel_id, call_id in list(desk.citizen_channels.items()):
            if channel_id not in existing:
                desk.citizen_channels.pop(channel_id, None)
                lost = {"type": "ChannelDestroyed", "channel": {"id": channel_id}, "lost": True}
                self.mailboxes.post(call_id, ("citizen", lost))
        return channels

    async def reconcile(self) -> None:
        """After every (re)connect: adopt the calls in our application that we don't know;
        offers wait until they are back in their places (hotline/adoptions.py)."""
        adoptions, desk = self.adoptions, self.desk
        if adoptions is None or desk is None:
            await self._reconcile()
            return
        round_ = adoptions.begin()
        asyncio.get_running_loop().call_later(GRACE_SECONDS, self._adoption_overdue, round_)
        try:
            await self._reconcile()
        finally:
            desk.apply(adoptions.posted(time.time()))

    def _adoption_overdue(self, round_: int) -> None:
        adoptions, desk = self.adoptions, self.desk
        assert adoptions is not None and desk is not None
        if round_ == adoptions.round and desk.router.offers_deferred:
            log.warning("offers_resumed_before_adoption_ended", adopting=len(adoptions.pending))
        desk.apply(adoptions.overdue(round_, time.time()))

    async def _reconcile(self) -> None:
        restarted = await self._asterisk_restarted()
        try:
            await self.ari.request(
                "PUT",
                f"/applications/{self.ari.app}/eventFilter",
                body={"allowed": [{"type": kind} for kind in EVENTS_USED]},
            )
        except AriError as exc:  # more events than needed; the calls come first
            log.warning("event_filter_refused", error=str(exc)[:200])
        if self.desk is not None:
            # Endpoint changes come from AMI (ContactStatus); an ARI endpoint subscription
            # would deliver every event of our calls a second time.
            for endpoint in await self.ari.request("GET", "/endpoints/PJSIP"):
                if endpoint["resource"] in self.desk.router.agents:
                    self.desk.apply(
                        self.desk.router.endpoint(
                            endpoint["resource"], endpoint.get("state") == "online", time.time()
                        )
                    )
        # Agents' channels (ids with a dash) are ours to ring, never callers to adopt.
        every = await self.ari.application_channel_ids()
        await self.supervision.sweep(every)
        ids = [i for i in every if "-" not in i]
        live = set(ids)
        for call_id, flow in list(self.calls.items()):
            if flow.person is not None and flow.person.awaits_callback:
                continue  # nobody on the line until we call them back
            if flow.channel_id not in every:  # ended while we were disconnected
                # A crash of Asterisk took the call with it: say so in its record.
                cut = "cut_by_asterisk_restart" if restarted else None
                self.mailboxes.post(call_id, ("vanished", cut))
        if self.desk is not None:
            # Work-order calls an earlier run placed: carried on or ended, never left alone.
            await self.order_calls.adopt(await self._forget_lost_legs(self.desk))
        for channel_id in ids:
            if channel_id in self.calls or self.supervision.key_of(channel_id) is not None:
                continue
            try:
                channel = await self.ari.get_channel(channel_id)
            except AriError as exc:
                if exc.gone:
                    continue
                raise
            if channel.get("dialplan", {}).get("context") == "agents":
                # A desk phone's feature code (a supervision) an earlier controller served.
                await self._to_fallback(channel_id, hang_up=True)
                continue
            if self.adoptions is not None:
                self.adoptions.expect(channel_id)
            self.mailboxes.post(channel_id, ("adopt", {"channel": channel}))
        log.info("reconciled", in_application=len(ids), adopted=len(live) - len(self.calls))

    async def _asterisk_restarted(self) -> bool:
        """Whether Asterisk started anew since the last connect (its calls are gone)."""
        try:
            info = await self.ari.request("GET", "/asterisk/info", {"only": "status"})
        except AriError as exc:
            log.warning("asterisk_info_failed", error=str(exc)[:200])
            return False
        started = str((info or {}).get("status", {}).get("startup_time", ""))
        restarted = self.asterisk_started is not None and started != self.asterisk_started
        self.asterisk_started = started
        if restarted:
            log.warning("asterisk_restarted", startup_time=started, calls=len(self.calls))
        return restarted
