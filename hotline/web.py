"""HTTP on loopback: /health for ops and scripts, /metrics for Prometheus."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import text

from acd.router import RouterError
from hotline import recordings
from hotline.config_files import ConfigError

if TYPE_CHECKING:
    from hotline.controller import Controller
    from hotline.telephony.ami import AmiLink


class Metrics:
    """The controller's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls_total = Counter(
            "hotline_calls", "Calls that entered the controller", registry=self.registry
        )
        self.calls_adopted = Counter(
            "hotline_calls_adopted", "Calls adopted after a (re)connect", registry=self.registry
        )
        self.calls_active = Gauge(
            "hotline_calls_active", "Calls in progress", registry=self.registry
        )
        self.ari_events = Counter(
            "hotline_ari_events", "ARI events received", ["type"], registry=self.registry
        )
        self.journal_backlog = Gauge(
            "hotline_journal_backlog", "Call facts not yet in PostgreSQL", registry=self.registry
        )
        self.recordings_failed = Counter(
            "hotline_recordings_failed",
            "Conversations with an agent that could not be recorded (AMI away or refusing)",
            registry=self.registry,
        )
        self.journal_spool_bytes = Gauge(
            "hotline_journal_spool_bytes",
            "Bytes of the journal's spool on disk (facts kept until PostgreSQL has them)",
            registry=self.registry,
        )
        self.journal_alarm = Gauge(
            "hotline_journal_spool_alarm",
            "1 while facts cannot all be kept on disk (spool full, disk low, write failed)",
            registry=self.registry,
        )


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


OPEN_PATHS = frozenset({"/health", "/metrics"})  # no secrets in them; probes need no token


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route but /health and /metrics needs the bearer token (api_token)."""
    routed = request.match_info.http_exception is None
    if routed and request.path not in OPEN_PATHS:
        expected = f"Bearer {request.app[CONTROLLER].config.api_token}"
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return web.json_response({"error_id": "unauthorized"}, status=401)
    return await handler(request)


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
        }
        for c in desk.router.waiting.values()
    }
    return web.json_response({"agents": body, "waiting": waiting})


async def agent_command(request: web.Request) -> web.Response:
    """POST /agents/{agent}/{login|ready|pause|logout}[?reason=...], or
    /agents/{agent}/transfer?queue=... (the web desk's 转专家)."""
    desk = request.app[CONTROLLER].desk
    if desk is None:
        return web.json_response({"error_id": "acd_disabled"}, status=503)
    agent = request.match_info["agent"]
    if request.match_info["command"] == "transfer":
        queue = request.query.get("queue", "")
        if queue not in desk.router.config.queues:
            return web.json_response({"error_id": "unknown_queue", "queue": queue}, status=400)
        current = desk.router.agents[agent].current_call if agent in desk.router.agents else None
        if current is None:
            return web.json_response({"error_id": "agent_not_on_a_call"}, status=409)
        desk.post(current, ("transfer", queue, agent))
        return web.json_response({"agent": agent, "call": current, "queue": queue}, status=202)
    reason = request.query.get("reason", "")
    if reason and reason not in desk.router.config.pause_reasons.values():
        return web.json_response({"error_id": "unknown_pause_reason", "reason": reason}, status=400)
    try:
        desk.agent_command(agent, request.match_info["command"], reason)
    except RouterError as exc:
        return web.json_response(
            {"error_id": "agent_command_refused", "message": str(exc)}, status=409
        )
    state = desk.router.agents[agent]
    return web.json_response({"agent": agent, "status": state.status.value, "reason": state.reason})


async def recording_page(request: web.Request) -> web.StreamResponse:
    """GET /recordings/{id}?reason=…: authorised (token + X-Hotline-User), audited, then served."""
    controller = request.app[CONTROLLER]
    who = request.headers.get("X-Hotline-User", "").strip()
    why = request.query.get("reason", "").strip()
    if not who or not why:
        return web.json_response(
            {
                "error_id": "who_and_why_required",
                "message": "say who you are (X-Hotline-User) and why (?reason=)",
            },
            status=400,
        )
    if controller.engine is None:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    try:
        recording_id = int(request.match_info["id"])
        released = await recordings.release(
            controller.engine, controller.config.host_root, recording_id, who, why
        )
    except ValueError:
        return web.json_response({"error_id": "recording_not_found"}, status=404)
    except recordings.RecordingUnavailable as exc:
        status = 410 if exc.error_id == "recording_purged" else 404
        return web.json_response({"error_id": exc.error_id}, status=status)
    except Exception:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    return web.FileResponse(released.path, headers={"X-Recording-SHA256": released.sha256})


async def voice_messages_page(request: web.Request) -> web.Response:
    """GET /voice-messages[?status=open]: what agents must answer, soonest deadline first."""
    engine = request.app[CONTROLLER].engine
    if engine is None:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    try:
        async with engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        text(
                            "SELECT id, caller_number, callback_number, recording, seconds, "
                            "created_at, due_on, status FROM voice_messages WHERE status = :status "
                            "ORDER BY due_on, created_at LIMIT 500"
                        ),
                        {"status": request.query.get("status", "open")},
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
    journal = request.app[CONTROLLER].journal
    m.journal_backlog.set(journal.backlog)
    m.journal_spool_bytes.set(journal.spool_bytes)
    m.journal_alarm.set(1 if journal.alarm else 0)
    return web.Response(body=generate_latest(m.registry), content_type="text/plain")


def make_app(controller: Controller, ami: AmiLink, metrics: Metrics) -> web.Application:
    """The routes, behind the token check."""
    app = web.Application(middlewares=[require_token])
    app[CONTROLLER] = controller
    app[AMI] = ami
    app[METRICS] = metrics
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_post("/config/apply", apply_config)
    app.router.add_get("/agents", agents_page)
    app.router.add_get("/recordings/{id}", recording_page)
    app.router.add_get("/voice-messages", voice_messages_page)
    app.router.add_post("/agents/{agent}/{command}", agent_command)
    return app


async def start_http(
    *, host: str, port: int, controller: Controller, ami: AmiLink, metrics: Metrics
) -> web.AppRunner:
    """Serve the HTTP API on host:port; returns the runner to clean up."""
    runner = web.AppRunner(make_app(controller, ami, metrics), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
