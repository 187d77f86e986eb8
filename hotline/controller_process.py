"""The controller's process: its connections (PostgreSQL, ARI, AMI, HTTP), the supervised
tasks around one Controller (hotline/controller.py), and the signals that stop it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
from typing import cast
from zoneinfo import ZoneInfo

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.callbacks import CallbackBook
from acd.router import Router
from hotline import follow_up_watch, quality_draws, report_keeper, restore, work_order_watch
from hotline.citizens import DemoSocialInsurance, seed_demo
from hotline.component_metrics import SupervisedParts
from hotline.controller import Controller, ControllerConfig
from hotline.desk import Desk
from hotline.metrics import Metrics
from hotline.restoring import AppliedRouter
from hotline.store.journal import Journal
from hotline.tasks import TaskSupervisor
from hotline.telephony.ami import AmiLink
from hotline.telephony.ari import AriClient
from hotline.web import start_http
from ivr.hours import calendar_warnings

CONNECT_SECONDS = 5

log = structlog.get_logger("controller")


async def _spool_written(journal: Journal, seconds: float = 10) -> bool:
    """Whether what the spool held at start is in PostgreSQL now (or soon)."""
    try:
        await asyncio.wait_for(journal.written_through(journal.watermark), seconds)
    except TimeoutError:
        return False
    return True


def database_engine(url: str, pool_size: int) -> AsyncEngine:
    """The controller's connection pool to PostgreSQL."""
    # asyncpg waits 60 s for a connection by default: a database that drops packets would
    # hold the start (and every reconnect) that long; the journal spools meanwhile.
    return create_async_engine(
        url, pool_size=pool_size, pool_pre_ping=True, connect_args={"timeout": CONNECT_SECONDS}
    )


def call_path_engine(url: str) -> AsyncEngine:
    """The connections of every call's own database work: the journal's batches and the
    look-up at a caller's queue entry. No ping before each use (a use on a connection the
    database dropped fails: the journal retries from its spool, the look-up counts as none),
    and the statements' time limit is a setting of the session, not a statement of each
    batch: three round trips a call fewer on the controller's busiest path (#9)."""
    return create_async_engine(
        url,
        pool_size=2,
        max_overflow=1,
        connect_args={
            "timeout": CONNECT_SECONDS,
            "server_settings": {"statement_timeout": str(CALL_PATH_STATEMENT_MS)},
        },
    )


CALL_PATH_STATEMENT_MS = 10_000  # a batch that takes longer is cancelled and retried


async def run(config: ControllerConfig, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or stop is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine: AsyncEngine | None = None
    writer: AsyncEngine | None = None
    if config.database_url:
        engine = database_engine(config.database_url, config.db_pool_size)
        writer = call_path_engine(config.database_url)
    journal = Journal(engine=writer, spool_dir=config.spool_dir, limits=config.spool_limits)
    journal.replay_spools()
    metrics = Metrics()
    if config.state_dir is not None:
        metrics.supervised = SupervisedParts(config.state_dir)
    async with aiohttp.ClientSession() as session, contextlib.AsyncExitStack() as closing:
        ari = AriClient(
            base_url=config.ari_url,
            username=config.ari_user,
            password=config.ari_password,
            app=config.app,
            session=session,
            on_request=metrics.count_ari_request,
        )
        closing.callback(ari.close)  # also when starting fails
        citizens = DemoSocialInsurance(
            engine=engine,
            lock_after=config.menu.selfservice.lock_after,
            lock_minutes=config.menu.selfservice.lock_minutes,
        )
        if engine is not None:
            try:
                if await seed_demo(engine):
                    log.info("demo_citizens_created")
            except Exception as exc:
                log.warning("demo_seed_skipped", error=str(exc)[:200])
        ami = AmiLink(
            host=config.ami_host,
            port=config.ami_port,
            username=config.ami_user,
            secret=config.ami_password,
        )
        router = Router(config.queues, list(config.roster.agents), config.hours)
        desk = Desk(
            router=router,
            ari=ari,
            ami=ami,
            journal=journal,
            post=lambda c, i: None,
            recordings_dir=config.recordings_dir,
            host_root=config.host_root,
            greet_with_agent_number=config.queues.greet_with_agent_number,
            senior_priority=config.queues.priorities.senior,
            senior_age=config.queues.priorities.senior_age,
            repeat_priority=config.queues.priorities.repeat,
            callback_priority=config.queues.priorities.callback,
            engine=engine,
            call_path_engine=writer,
            callbacks=CallbackBook(max_per_day=config.queues.callback.max_per_number_per_day),
            metrics=metrics,
        )
        controller = Controller(
            config=config,
            ari=ari,
            journal=journal,
            metrics=metrics,
            citizens=citizens,
            desk=desk,
            engine=engine,
        )
        desk.post = controller.mailboxes.post
        loop.add_signal_handler(signal.SIGUSR1, ari.reconnect_now)  # Asterisk is back
        ami.on_contact_status = controller.on_contact_status
        restoring = controller.restoring
        tasks = controller.tasks = TaskSupervisor(stop)
        # What the last run left in the spool (a callback finished, an agent's pause) reaches
        # the database before it is read back; else a stale state would be put back.
        tasks.start("journal", journal.run)
        up_to_date = await _spool_written(journal)  # if not: restored later, once it is

        async def agents_now() -> bool:
            assert engine is not None
            return up_to_date and await restore.agent_states(engine, router)

        async def callbacks_now() -> bool:
            return up_to_date and await restore.callbacks(controller)

        if engine is not None:  # a restore while calls are served carries out its decisions
            applied = cast(Router, AppliedRouter(desk))
            await restoring.attempt(
                "agent_states", agents_now, lambda: restore.agent_states(engine, applied)
            )
        await restoring.attempt("callbacks", callbacks_now, lambda: restore.callbacks(controller))
        runner = await start_http(
            host=config.http_host,
            port=config.http_port,
            controller=controller,
            ami=ami,
            metrics=metrics,
        )
        tasks.start(
            "ari-events",
            lambda: ari.run_events(
                on_event=controller.on_event, on_connected=controller.reconcile, stop=stop
            ),
        )
        tasks.start("ami", lambda: ami.run(stop))
        tasks.start("router-ticker", lambda: desk.run_ticker(stop))
        if engine is not None:
            tasks.start("purge", lambda: restore.purge_daily(engine, config.host_root, stop))
            tasks.start("work-order-escalations", lambda: work_order_watch.watch(controller, stop))
            tasks.start("work-order-follow-up", lambda: follow_up_watch.watch(controller, stop))
            if config.state_dir is not None:
                reports_dir = config.state_dir / "reports"
                tasks.start(
                    "reports",
                    lambda: report_keeper.keep(
                        engine,
                        controller.report_desk,
                        controller.report_rules,
                        reports_dir,
                        stop,
                        caught_up=lambda: journal.backlog == 0,
                    ),
                )
            tasks.start(
                "quality-draws",
                lambda: quality_draws.keep(
                    engine,
                    lambda: controller.quality,
                    lambda: ZoneInfo(controller.hours.timezone),
                    stop,
                    caught_up=lambda: journal.backlog == 0,
                ),
            )
        if restoring.pending:
            tasks.start("restore", restoring.run, forever=False)
        log.info("controller_started", pid=os.getpid(), run_id=controller.run_id)
        today = controller.hours.local_date(dt.datetime.now(dt.UTC))
        for warning in calendar_warnings(controller.hours, today):
            log.warning("calendar_incomplete", file="hours.yaml", warning=warning)
        await stop.wait()
        log.info("controller_stopping", calls=len(controller.calls))
        controller.draining = True
        # Calls in progress stay in Asterisk (bridges untouched); the next controller adopts them.
        await tasks.stop(
            "ari-events",
            "ami",
            "router-ticker",
            "purge",
            "work-order-escalations",
            "work-order-follow-up",
            "reports",
            "quality-draws",
            "restore",
        )
        await controller.mailboxes.close()
        await journal.flush(timeout=5)
        await tasks.stop()
        journal.close()
        await runner.cleanup()
    for pool in (engine, writer):
        if pool is not None:
            await pool.dispose()
    log.info("controller_stopped", unwritten=journal.backlog)
