"""HTTP on loopback: /health for ops and scripts, /metrics for Prometheus."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import shutil
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import generate_latest
from sqlalchemy import text

from acd import outside_transfer
from acd.consult import consulted_on
from acd.queues import on_duty
from acd.router import RouterError
from acd.state import AgentStatus
from hotline import (
    access,
    config_web,
    console,
    quality_web,
    recordings,
    reports_web,
    supervision_web,
    work_orders_web,
)
from hotline.config_files import ConfigError
from hotline.metrics import Metrics
from hotline.sessions import SessionPolicy
from ivr.hours import calendar_days_left

if TYPE_CHECKING:
    from hotline.controller import Controller
    from hotline.desk import Desk
    from hotline.telephony.ami import AmiLink


CONTROLLER: web.AppKey[Controller] = web.AppKey("controller")
AMI: web.AppKey[AmiLink] = web.AppKey("ami")
METRICS = web.AppKey("metrics", Metrics)


async def health(request: web.Request) -> web.Response:
    """Ready when ARI is connected; the database may lag (the journal buffers). `degraded`
    lists what needs ops' attention although calls are served."""
    controller = request.app[CONTROLLER]
    ami = request.app[AMI]
    journal = controller.journal
    degraded = [f"journal: {journal.alarm}"] if journal.alarm else []
    degraded += [f"not restored yet: {what}" for what in controller.restoring.pending]
    body: dict[str, Any] = {
        "status": "degraded" if degraded else "ok",
        "degraded": degraded,
        "ari_connected": controller.ari.connected.is_set(),
        "ami_connected": ami.connected,
        "database_ok": journal.healthy,
        "journal_backlog": journal.backlog,
        "journal_spool_bytes": journal.spool_bytes,
        "calls_active": len(controller.calls),
        "draining": controller.draining,
        "run_id": controller.run_id,
        "config_version": controller.config_version,
    }
    dead = controller.tasks.dead
    if controller.tasks.restarts:
        body["task_restarts"] = dict(controller.tasks.restarts)
    if dead:
        body["dead_tasks"] = dict(sorted(dead.items()))
        body["status"] = "failing"
    ready = body["ari_connected"] and not controller.draining and not dead
    return web.json_response(body, status=200 if ready else 503)


async def apply_config(request: web.Request) -> web.Response:
    """POST /config/apply: validate and apply the config files (token required)."""
    controller = request.app[CONTROLLER]
    try:
        version = await controller.apply_config(request.app[AMI])
    except ConfigError as exc:
        return web.json_response(
            {"error_id": "config_invalid", "problems": exc.problems}, status=422
        )
    return web.json_response({"applied": version, "calls_in_progress": len(controller.calls)})


MAX_BODY = 64 * 1024  # no route takes a body: anything big is refused before a handler runs
MAX_TEXT = 200  # why (?reason=) of a recording access
# The consult's commands (acd/consult.py): path word -> the machine's command.
CONSULT_COMMANDS = {
    "consult": "consult",
    "complete": "complete",
    "three-way": "three_way",
    "cancel": "cancel",
    "work-order": "work_order",
}
AGENT_COMMANDS = frozenset(
    {"login", "ready", "pause", "logout", "transfer", "transfer-out", *CONSULT_COMMANDS}
)
EXPERT_IN_CONSULT = "the agent who consulted you leads the call until handing it over"
HTTP_ERROR_IDS = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


def refuse(error_id: str, http_status: int, **detail: str) -> web.Response:
    """A refusal: a stable error id for scripts, any echoed input cut short."""
    return web.json_response(
        {"error_id": error_id, **{k: v[:64] for k, v in detail.items()}}, status=http_status
    )


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal is JSON with an error id, including aiohttp's own (404, 405, 413)."""
    if (request.content_length or 0) > MAX_BODY:
        return refuse("body_too_large", 413)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error_id = HTTP_ERROR_IDS.get(exc.status, f"http_{exc.status}")
        response = refuse(error_id, exc.status)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response


async def agents_page(request: web.Request) -> web.Response:
    """GET /agents: every agent's state (the supervisor's wallboard reads this)."""
    desk = request.app[CONTROLLER].desk
    if desk is None:
        return web.json_response({"error_id": "acd_disabled"}, status=503)
    body = {
        number: {
            "status": a.status.value,
            "reason": a.reason,
            "calls": a.calls,
            "reachable": a.reachable,
            "phone": a.seat,
            "skills": a.skills,
        }
        for number, a in sorted(desk.router.agents.items())
    }
    waiting = {
        c.call_id: {
            "queue": c.queue,
            "position": desk.router.position(c.call_id),
            "callback": c.callback,
            "priority": c.priority,
        }
        for c in desk.router.waiting.values()
    }
    return web.json_response({"agents": body, "waiting": waiting})


async def callbacks_page(request: web.Request) -> web.Response:
    """GET /callbacks: callbacks promised and not yet made, oldest first, with their age
    and deadline (so that a supervisor sees what is late before the citizen does)."""
    controller = request.app[CONTROLLER]
    desk = controller.desk
    if desk is None:
        return web.json_response({"error_id": "acd_disabled"}, status=503)
    now = time.time()
    out = []
    for call_id, flow in controller.calls.items():
        leg = flow.person
        if leg is None or leg.hold is None or not leg.awaits_callback:
            continue
        call = desk.router.waiting.get(call_id) or desk.router.dialing.get(call_id)
        deadline = call.deadline if call is not None else math.inf
        out.append(
            {
                "call": call_id,
                "number": leg.hold.number,
                "queue": leg.queue,
                "age_seconds": round(now - leg.entered),
                "attempts": leg.hold.attempt,
                "dialling": leg.phase == "dialing",
                "position": desk.router.position(call_id) if call_id in desk.router.waiting else 0,
                "deadline": (
                    dt.datetime.fromtimestamp(deadline, dt.UTC).isoformat()
                    if math.isfinite(deadline)
                    else None
                ),
            }
        )
    out.sort(key=lambda c: -c["age_seconds"])  # type: ignore[operator]
    return web.json_response({"callbacks": out, "open": desk.router.is_open(now)})


async def agent_command(request: web.Request) -> web.Response:
    """POST /agents/{agent}/{login|ready|pause|logout}[?reason=...],
    /agents/{agent}/transfer?queue=... (the web desk's 转专家),
    /agents/{agent}/transfer-out?to=... (another department, outside: in queues.yaml), or the
    consult's /agents/{agent}/consult?queue=..., complete, three-way, cancel, work-order."""
    desk = request.app[CONTROLLER].desk
    if desk is None:
        return web.json_response({"error_id": "acd_disabled"}, status=503)
    agent, command = request.match_info["agent"], request.match_info["command"]
    if agent not in desk.router.agents:
        return refuse("unknown_agent", 404, agent=agent)
    if command not in AGENT_COMMANDS:
        return refuse("unknown_command", 404, command=command)
    if command in CONSULT_COMMANDS:
        return _consult_command(desk, agent, command, request.query.get("queue", ""))
    if command == "transfer":
        queue = request.query.get("queue", "")
        if queue not in desk.router.config.queues:
            return refuse("unknown_queue", 400, queue=queue)
        current = _commanded_call(desk, agent)
        if isinstance(current, web.Response):
            return current
        if not on_duty(desk.router.config.queues[queue], desk.router.hours, time.time()):
            # Expert seats off duty (hours.yaml `duty:`): the agent keeps the caller.
            return refuse("no_expert_on_duty", 409, queue=queue)
        desk.post(current, ("transfer", queue, agent))
        return web.json_response({"agent": agent, "call": current, "queue": queue}, status=202)
    if command == "transfer-out":
        to = request.query.get("to", "")
        if to not in desk.router.config.outside:
            return refuse("unknown_destination", 400, to=to)
        current = _commanded_call(desk, agent)
        if isinstance(current, web.Response):
            return current
        desk.post(current, ("transfer", outside_transfer.PREFIX + to, agent))
        return web.json_response({"agent": agent, "call": current, "to": to}, status=202)
    reason = request.query.get("reason", "")
    if reason and reason not in desk.router.config.pause_reasons.values():
        return refuse("unknown_pause_reason", 400, reason=reason)
    try:
        desk.agent_command(agent, command, reason)
    except RouterError as exc:
        return web.json_response(
            {"error_id": "agent_command_refused", "message": str(exc)}, status=409
        )
    state = desk.router.agents[agent]
    return web.json_response({"agent": agent, "status": state.status.value, "reason": state.reason})


def _consult_command(desk: Desk, agent: str, command: str, queue: str) -> web.Response:
    """Handed to the agent's call (its consumer decides: 202 accepted, not yet done)."""
    if command == "consult" and queue not in desk.router.config.queues:
        return refuse("unknown_queue", 400, queue=queue)
    current = _commanded_call(desk, agent)
    if isinstance(current, web.Response):
        return current
    desk.post(current, ("consult", CONSULT_COMMANDS[command], agent, queue))
    return web.json_response({"agent": agent, "call": current, "command": command}, status=202)


def _commanded_call(desk: Desk, agent: str) -> str | web.Response:
    """The call an agent's command about their call goes to, or its refusal (409). An
    expert in a consult is on the consult request (`<call>~x<n>`), which no conversation
    owns: the caller's call is led by the agent who asked until they hand it over, so the
    expert is told so rather than their command posted to nobody."""
    current = desk.router.agents[agent].current_call
    if current is None:
        return web.json_response({"error_id": "agent_not_on_a_call"}, status=409)
    if consulted_on(current) is not None:
        return refuse("expert_in_consult", 409, message=EXPERT_IN_CONSULT)
    return current


async def recording_page(request: web.Request) -> web.StreamResponse:
    """GET /recordings/{id}?reason=…: authorised (supervisor, auditor), audited, then served."""
    controller = request.app[CONTROLLER]
    raw_id = request.match_info["id"]
    # An id PostgreSQL's bigint cannot hold would be a database error, not "no such recording".
    if not (raw_id.isascii() and raw_id.isdigit() and 0 < len(raw_id) <= 18):
        return refuse("recording_not_found", 404)
    # The person (or client) signed in, never a name the request declares for itself.
    who = access.principal(request)
    why = request.query.get("reason", "").strip()
    if len(why) > MAX_TEXT:
        return refuse("reason_too_long", 400)
    if not why:
        return web.json_response(
            {"error_id": "reason_required", "message": "say why (?reason=)"}, status=400
        )
    if controller.engine is None:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    try:
        released = await recordings.release(
            controller.engine,
            controller.config.host_root,
            int(raw_id),
            who.who,
            why,
            role=who.role_text,
            source=access.source(request),
        )
    except recordings.RecordingUnavailable as exc:
        status = 410 if exc.error_id == "recording_purged" else 404
        return web.json_response({"error_id": exc.error_id}, status=status)
    except Exception:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    return web.FileResponse(released.path, headers={"X-Recording-SHA256": released.sha256})


async def voice_messages_page(request: web.Request) -> web.Response:
    """GET /voice-messages[?status=open]: what agents must answer, soonest deadline first."""
    engine = request.app[CONTROLLER].engine
    status = request.query.get("status", "open")
    if not re.fullmatch(r"[a-z_]{1,16}", status):
        return refuse("unknown_status", 400, status=status)
    if engine is None:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    try:
        async with engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        text(
                            "SELECT id, caller_number, callback_number, recording, seconds, "
                            "created_at, due_on, status, origin FROM voice_messages "
                            "WHERE status = :status "
                            "ORDER BY due_on, created_at LIMIT 500"
                        ),
                        {"status": status},
                    )
                )
                .mappings()
                .all()
            )
    except Exception:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    return web.json_response(
        {
            "voice_messages": [
                {
                    **row,
                    "created_at": row["created_at"].isoformat(),
                    "due_on": row["due_on"].isoformat(),
                }
                for row in rows
            ]
        }
    )


async def metrics_page(request: web.Request) -> web.Response:
    """Prometheus text format."""
    m = request.app[METRICS]
    controller = request.app[CONTROLLER]
    m.journal_backlog.set(controller.journal.backlog)
    m.component_up.labels("ari").set(controller.ari.connected.is_set())
    m.component_up.labels("ami").set(request.app[AMI].connected)
    m.component_up.labels("database").set(controller.journal.healthy)
    if m.supervised is not None:
        m.supervised.export(m.component_up, m.restarts)
    now = dt.datetime.now(dt.UTC)
    m.in_hours.set(controller.hours.is_open(now))
    today = controller.hours.local_date(now)
    m.calendar_days_left.set(calendar_days_left(controller.hours, today))
    if controller.desk is not None:
        agents = controller.desk.router.agents.values()
        m.agents_logged_in.set(sum(a.status is not AgentStatus.logged_out for a in agents))
    host = controller.config.host_root
    for name, path in (
        ("recordings", host / controller.config.recordings_dir.relative_to("/")),
        ("journal", controller.config.spool_dir),
    ):
        with contextlib.suppress(OSError):  # not made yet: no figure rather than a wrong one
            usage = shutil.disk_usage(path)
            m.disk_free.labels(name).set(usage.free)
            m.disk_size.labels(name).set(usage.total)
    m.journal_spool_bytes.set(controller.journal.spool_bytes)
    m.journal_alarm.set(1 if controller.journal.alarm else 0)
    return web.Response(body=generate_latest(m.registry), content_type="text/plain")


def make_app(
    controller: Controller, ami: AmiLink, metrics: Metrics, policy: SessionPolicy | None = None
) -> web.Application:
    """The routes, behind authentication and the role table (hotline/access.py)."""
    app = web.Application(middlewares=[json_errors, access.authorise], client_max_size=MAX_BODY)
    access.install(app, policy or SessionPolicy())
    app[CONTROLLER] = controller
    app[AMI] = ami
    app[METRICS] = metrics
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_post("/config/apply", apply_config)
    app.router.add_get("/agents", agents_page)
    app.router.add_get("/callbacks", callbacks_page)
    app.router.add_get("/recordings/{id}", recording_page)
    app.router.add_get("/voice-messages", voice_messages_page)
    app.router.add_post("/agents/{agent}/{command}", agent_command)
    config_web.add_routes(app)
    reports_web.add_routes(app, controller)
    work_orders_web.add_routes(app, controller)
    quality_web.add_routes(app, controller)
    supervision_web.add_routes(app, controller)
    console.add_routes(app, controller)
    return app


async def start_http(
    *, host: str, port: int, controller: Controller, ami: AmiLink, metrics: Metrics
) -> web.AppRunner:
    """Serve the HTTP API on host:port; returns the runner to clean up."""
    app = make_app(controller, ami, metrics, controller.config.web_access)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
