"""Who is asking and may they: sessions (people), API tokens (machines), the role table,
CSRF, and the audit of refusals and of changes made through the HTTP API.

`install` adds the middleware's state and the routes /session (login, who am I, logout) and
/audit (the auditor's view) to the app; web.py keeps only its own routes.
"""

from __future__ import annotations

import datetime as dt
import hmac
import time
from typing import TYPE_CHECKING

import asyncpg
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.exc import SQLAlchemyError

from hotline import accounts, audit, sessions, tokens
from hotline.roles import INSTANCE, INSTANCE_ROLES, Principal, granting_role
from hotline.sessions import AddressLimiter, SessionPolicy

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from hotline.controller import Controller

log = structlog.get_logger("access")

POLICY = web.AppKey("access_policy", SessionPolicy)
LIMITER = web.AppKey("access_limiter", AddressLimiter)
LOCKOUT = web.AppKey("access_lockout", accounts.LockoutPolicy)
PRINCIPAL = web.RequestKey("principal", Principal)  # set for every authorised request
OPEN = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/metrics"),
        ("POST", "/session"),
        # The console's files (hotline/console.py): they hold no data, and the login page is
        # one of them; what they show comes from the guarded routes.
        ("GET", "/"),
        ("GET", "/console/"),
        ("GET", "/console/{file}"),
    }
)
MAX_NAME, MAX_PASSWORD_FIELD = 64, accounts.MAX_PASSWORD
# PostgreSQL away or failing: a 503 with an error id rather than a 500 with a traceback.
DATABASE_AWAY = (OSError, SQLAlchemyError, asyncpg.PostgresError)


def _controller(request: web.Request) -> Controller:
    from hotline.web import CONTROLLER  # web.py imports this module

    return request.app[CONTROLLER]


def _engine(request: web.Request) -> AsyncEngine | None:
    return _controller(request).engine


def source(request: web.Request) -> str:
    """The peer's address (the API is on loopback or behind a proxy ops configured)."""
    return request.remote or ""


def principal(request: web.Request) -> Principal:
    """Who is asking (only on routes the middleware let through)."""
    return request[PRINCIPAL]


async def _refuse(
    request: web.Request, status: int, error_id: str, who: str = "anonymous", role: str = ""
) -> web.Response:
    """A 401/403/429, written to the audit log (best effort: the refusal stands anyway)."""
    entry = audit.Entry(
        who,
        "access.refused",
        role=role,
        target=f"{request.method} {request.path}",
        source=source(request),
        outcome=error_id,
    )
    await audit.record(_engine(request), entry)
    return web.json_response({"error_id": error_id}, status=status)


async def _identify(request: web.Request) -> Principal | web.Response:
    """The principal behind the bearer token or session cookie, or the refusal."""
    app, now = request.app, time.monotonic()
    header = request.headers.get("Authorization", "")
    if header:
        given = header.encode("utf-8", "replace")
        instance = f"Bearer {_controller(request).config.api_token}".encode()
        # Bytes: compare_digest refuses str with non-ASCII characters (a 500, not a 401).
        if hmac.compare_digest(given, instance):
            return Principal("token:instance", INSTANCE_ROLES, INSTANCE)
        if app[LIMITER].blocked(source(request), now):
            return web.json_response({"error_id": "too_many_attempts"}, status=429)
        engine = _engine(request)
        found = None
        if engine is not None and header.startswith("Bearer "):
            found = await tokens.lookup(engine, header.removeprefix("Bearer ").strip())
        if found is None:
            app[LIMITER].failed(source(request), now)
            return await _refuse(request, 401, "unauthorized")
        return Principal(f"token:{found[0]}", found[1], "token", office=found[2])
    key = request.cookies.get(app[POLICY].cookie_name)
    engine = _engine(request)
    if key and engine is not None:
        session = await sessions.find(engine, key, app[POLICY])
        if session is None:
            return await _refuse(request, 401, "session_expired")
        a = session.account
        return Principal(a.name, a.roles, "person", a.agent, session.csrf_token, a.office)
    return await _refuse(request, 401, "unauthorized")


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else request.path


@web.middleware
async def authorise(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route but /health, /metrics and the login needs a principal whose roles the
    role table (hotline/roles.py) allows; refusals are audited, and so are the changes."""
    if request.match_info.http_exception is not None:
        return await handler(request)  # 404/405 as they were: nothing to protect
    method, route = request.method, _route(request)
    if (method, route) in OPEN or (method == "HEAD" and ("GET", route) in OPEN):
        return await handler(request)
    try:
        who = await _identify(request)
    except DATABASE_AWAY:
        # People and client tokens need the database; the instance's token does not.
        log.warning("credentials_not_checked", path=request.path, exc_info=True)
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    if isinstance(who, web.Response):
        return who
    role = granting_role(who, method, route, request.match_info)
    if role is None:
        return await _refuse(request, 403, "forbidden", who.who, who.role_text)
    by_cookie = who.kind == "person"
    if not sessions.csrf_ok(
        method, by_cookie, who.csrf_token, request.headers.get(sessions.CSRF_HEADER)
    ):
        return await _refuse(request, 403, "csrf_token_required", who.who, who.role_text)
    request[PRINCIPAL] = who
    what = _audited(method, route, role)
    outcome = "error"  # a change that failed half-way is audited too
    try:
        response = await handler(request)
        outcome = "ok" if response.status < 400 else f"refused_{response.status}"
    finally:
        if what:
            target = request.match_info.get("agent", "")
            entry = audit.Entry(
                who.who,
                what + (f".{request.match_info['command']}" if target else ""),
                role=role,
                target=target,
                source=source(request),
                outcome=outcome,
                detail={k: v[:64] for k, v in request.query.items()},
            )
            await audit.record(_engine(request), entry)
    return response


async def still_allowed(request: web.Request) -> bool:
    """For a long-lived request (a websocket): whether whoever opened it may still use its
    route (session not ended or expired, token not revoked, role not taken away). Each
    check counts as a use of the session. The database away ends nothing: checked later."""
    try:
        who = await _identify(request)
    except DATABASE_AWAY:
        return True
    if isinstance(who, web.Response):
        return False
    return granting_role(who, request.method, _route(request), request.match_info) is not None


def _audited(method: str, route: str, role: str) -> str | None:
    """What the audit log calls a change made through the API (None: not audited here)."""
    if (method, route) == ("POST", "/config/apply"):
        return "config.apply"
    if (method, route) == ("POST", "/agents/{agent}/{command}") and role != "agent":
        return "agent.forced"  # a supervisor (or a machine) changed someone else's state
    return None


async def _credentials(request: web.Request) -> tuple[str, str] | None:
    """Name and password from a JSON body or a form."""
    try:
        if request.content_type == "application/json":
            body = await request.json()
            name, password = body.get("name"), body.get("password")
        else:
            form = await request.post()
            name, password = form.get("name"), form.get("password")
    except (ValueError, AttributeError):
        return None
    if not isinstance(name, str) or not isinstance(password, str):
        return None
    return name.strip().lower()[:MAX_NAME], password[: MAX_PASSWORD_FIELD + 1]


async def login(request: web.Request) -> web.Response:
    """POST /session {name, password}: a session cookie and the CSRF token for changes."""
    engine, address, now = _engine(request), source(request), time.monotonic()
    if engine is None:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    limiter = request.app[LIMITER]
    if limiter.blocked(address, now):
        return web.json_response({"error_id": "too_many_attempts"}, status=429)
    if not sessions.same_origin(request.headers.get("Origin"), request.host):
        return await _refuse(request, 403, "cross_origin_login")
    given = await _credentials(request)
    if given is None:
        return web.json_response({"error_id": "name_and_password_required"}, status=400)
    name, password = given
    # Counted as a failure until it succeeds: parallel attempts each use one up at once.
    reached_limit = limiter.failed(address, now)
    try:
        result = await accounts.authenticate(engine, name, password, request.app[LOCKOUT])
        if result.outcome == "ok" and result.account is not None:
            limiter.succeeded(address, now)
            account = result.account
            key, csrf = await sessions.open_session(engine, account, address)
    except DATABASE_AWAY:
        log.warning("login_not_checked", exc_info=True)
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    if result.outcome != "ok" or result.account is None:
        if reached_limit:
            await audit.record(
                engine, audit.Entry(name, "login.address_blocked", source=address, outcome="429")
            )
        what = "login.lockout" if result.locked_now else "login.failure"
        entry = audit.Entry(name, what, source=address, outcome=result.outcome)
        await audit.record(engine, entry)
        return web.json_response({"error_id": "login_failed"}, status=401)
    role_text = ",".join(sorted(account.roles))
    await audit.record(engine, audit.Entry(account.name, "login", role=role_text, source=address))
    response = web.json_response(
        {
            "name": account.name,
            "roles": sorted(account.roles),
            "agent": account.agent,
            "office": account.office,
            "csrf_token": csrf,
        }
    )
    policy = request.app[POLICY]
    response.set_cookie(
        policy.cookie_name,
        key,
        max_age=policy.max_seconds,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=policy.cookie_secure,
    )
    return response


async def whoami(request: web.Request) -> web.Response:
    """GET /session: who is signed in, their roles, and the CSRF token (for a reloaded page)."""
    who = principal(request)
    return web.json_response(
        {
            "name": who.who,
            "roles": sorted(who.roles),
            "agent": who.agent,
            "office": who.office,
            "csrf_token": who.csrf_token,
        }
    )


async def logout(request: web.Request) -> web.Response:
    """DELETE /session: the session ends (the cookie is cleared too)."""
    who, engine = principal(request), _engine(request)
    policy = request.app[POLICY]
    key = request.cookies.get(policy.cookie_name)
    if who.kind == "person" and key and engine is not None:
        await sessions.close(engine, key)
        await audit.record(engine, audit.Entry(who.who, "logout", source=source(request)))
    response = web.json_response({"logged_out": who.kind == "person"})
    response.del_cookie(policy.cookie_name, path="/")
    return response


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def audit_page(request: web.Request) -> web.Response:
    """GET /audit?since=&until=&who=&what=&limit=: the audit log, newest first (auditors)."""
    engine = _engine(request)
    q = request.query
    try:
        query = audit.Query(
            since=_when(q.get("since")),
            until=_when(q.get("until")),
            who=q.get("who") or None,
            what=q.get("what") or None,
            limit=int(q.get("limit", "200")),
        )
    except ValueError:
        return web.json_response({"error_id": "bad_filter"}, status=400)
    if any(len(v) > 200 for v in q.values()):
        return web.json_response({"error_id": "bad_filter"}, status=400)
    if engine is None:
        return web.json_response({"error_id": "database_unavailable"}, status=503)
    return web.json_response({"audit": await audit.read(engine, query)})


def install(app: web.Application, policy: SessionPolicy) -> None:
    """The state the middleware keeps and the routes of this module."""
    app[POLICY] = policy
    app[LIMITER] = AddressLimiter(policy.max_failures_per_address, policy.address_window_seconds)
    app[LOCKOUT] = accounts.LockoutPolicy()
    app.router.add_post("/session", login)
    app.router.add_get("/session", whoami)
    app.router.add_delete("/session", logout)
    app.router.add_get("/audit", audit_page)
