"""Quality sampling (质检) over the HTTP API (roles in hotline/roles.py: supervisors score,
auditors read):

    GET  /quality/form                         the form: items, weights, scales
    GET  /quality/samples?day=&status=open|scored|all
    POST /quality/samples/{id}/score           {items: {item: points}, comment?}
    GET  /quality/scores?month=YYYY-MM         samples, scored and average per agent

The recording of a sample is heard through GET /recordings/<recording>?reason=…, which
audits each access under the signed-in person; each score is audited (`quality.score`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from acd.quality_config import QualityConfig
from hotline import access, quality_store
from hotline.quality_store import QualityError, Scorer

if TYPE_CHECKING:
    from hotline.controller import Controller

STATUSES = ("open", "scored", "all")
DATABASE_AWAY = (SQLAlchemyError, OSError)


def _refuse(error_id: str, status: int, message: str = "") -> web.Response:
    body = {"error_id": error_id, **({"message": message[:300]} if message else {})}
    return web.json_response(body, status=status)


def form_body(config: QualityConfig) -> dict[str, Any]:
    """The form as the console draws it."""
    return {
        "share": config.share,
        "minimum_per_agent": config.minimum_per_agent,
        "min_seconds": config.min_seconds,
        "items": [
            {"item": i.item, "zh": i.zh, "en": i.en, "weight": i.weight, "points": i.points}
            for i in config.form().items
        ],
    }


def add_routes(app: web.Application, controller: Controller) -> None:
    """Register the quality routes (the config is read at each request: config apply)."""

    def config() -> QualityConfig:
        # A controller stand-in (an app made for another route's test) may have none.
        return getattr(controller, "quality", None) or QualityConfig()

    async def form(_request: web.Request) -> web.Response:
        return web.json_response(form_body(config()))

    async def listing(request: web.Request) -> web.Response:
        status = request.query.get("status", "open")
        if status not in STATUSES:
            return _refuse("bad_status", 400, f"status: one of {', '.join(STATUSES)}")
        day = None
        if "day" in request.query:
            try:
                day = dt.date.fromisoformat(request.query["day"])
            except ValueError:
                return _refuse("bad_day", 400, "day must be YYYY-MM-DD")
        if controller.engine is None:
            return _refuse("database_unavailable", 503)
        try:
            found = await quality_store.samples(controller.engine, day, status)
        except DATABASE_AWAY:
            return _refuse("database_unavailable", 503)
        return web.json_response({"samples": found})

    async def submit(request: web.Request) -> web.Response:
        raw = request.match_info["id"]
        if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
            return _refuse("no_such_sample", 404)
        try:
            body = await request.json()
        except ValueError:
            return _refuse("bad_json", 400, "the body must be a JSON object")
        if not isinstance(body, dict) or not isinstance(body.get("items"), dict):
            return _refuse("bad_json", 400, "the body must be {items: {item: points}}")
        comment = body.get("comment") or ""
        if not isinstance(comment, str):
            return _refuse("bad_comment", 400, "comment: text")
        if controller.engine is None:
            return _refuse("database_unavailable", 503)
        who = access.principal(request)
        try:
            scored = await quality_store.score(
                controller.engine,
                int(raw),
                config().form(),
                body["items"],
                Scorer(who.who, who.role_text, access.source(request)),
                comment.strip(),
            )
        except QualityError as exc:
            return _refuse(exc.error_id, exc.status, str(exc))
        except DATABASE_AWAY:
            return _refuse("database_unavailable", 503)
        return web.json_response(scored, status=201)

    async def scores(request: web.Request) -> web.Response:
        month = request.query.get("month", "")
        if not re.fullmatch(r"\d{4}-\d{2}", month) or not 1 <= int(month[5:]) <= 12:
            return _refuse("bad_month", 400, "month must be YYYY-MM")
        first = dt.date(int(month[:4]), int(month[5:]), 1)
        end = (first + dt.timedelta(days=32)).replace(day=1)
        if controller.engine is None:
            return _refuse("database_unavailable", 503)
        try:
            table = await quality_store.per_agent_month(controller.engine, first, end)
        except DATABASE_AWAY:
            return _refuse("database_unavailable", 503)
        agents = [
            {"agent": agent, "samples": m.samples, "scored": m.scored, "average": m.average}
            for agent, months in sorted(table.items())
            for m in months.values()
        ]
        return web.json_response({"month": month, "agents": agents})

    app.router.add_get("/quality/form", form)
    app.router.add_get("/quality/samples", listing)
    app.router.add_post("/quality/samples/{id}/score", submit)
    app.router.add_get("/quality/scores", scores)
