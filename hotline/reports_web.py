"""GET /reports/{daily|weekly|monthly|agents|ministry|staffing}: the reports over the HTTP
API, for the supervisor and auditor roles (a session or a client token with that role,
hotline/roles.py) and the instance's machine token; web.py's middleware checks them.

    /reports/daily?date=2026-12-01[&format=json|csv|xlsx]
    /reports/weekly?date=2026-12-01          (the ISO week holding that day)
    /reports/monthly?month=2026-12
    /reports/custom?from=2026-12-01&to=2026-12-09   (both days included, a year at most)
    /reports/agents?month=2026-12            (or date=; with quarterly satisfaction)
    /reports/ministry?date=2026-12-01        (the fixed daily CSV)
    /reports/staffing?month=2026-12[&target=0.8&seconds=20]
Optional: sl_seconds (SL's T, 20), short_abandon_seconds (5). JSON unless format says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from acd.report_records import ReportRules
from hotline.report_render import (
    BadRequest,
    ReportDesk,
    ReportRequest,
    bounded,
    check_format,
    parse_period,
)

if TYPE_CHECKING:
    from hotline.controller import Controller


def _number(request: web.Request, name: str, default: float) -> float:
    raw = request.query.get(name)
    return default if raw is None else bounded(name, raw)


def add_routes(app: web.Application, controller: Controller) -> None:
    """Register the report routes (the controller gives the database and the hours): one
    report at a time, in a thread of its own (the controller's ReportDesk, which the
    report keeper shares)."""
    # A controller stand-in (an app made for one route's test) may have no desk of its own.
    desk: ReportDesk = getattr(controller, "report_desk", None) or ReportDesk()

    async def close_desk(_app: web.Application) -> None:
        desk.close()

    app.on_cleanup.append(close_desk)

    async def report_page(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        fmt = request.query.get("format", "json")
        try:
            query = request.query
            period = parse_period(
                kind, query.get("date"), query.get("month"), query.get("from"), query.get("to")
            )
            check_format(kind, fmt)
            rules = ReportRules(
                timezone=controller.hours.timezone,
                hours=controller.hours,
                service_seconds=_number(request, "sl_seconds", 20),
                short_abandon_seconds=_number(request, "short_abandon_seconds", 5),
            )
            wanted = ReportRequest(
                kind,
                period,
                fmt,
                rules,
                target=_number(request, "target", 0.8),
                seconds=_number(request, "seconds", 20),
            )
            if controller.engine is None:
                return web.json_response({"error_id": "database_unavailable"}, status=503)
            body, media = await desk.render(controller.engine, wanted)
        except BadRequest as exc:
            return web.json_response(
                {"error_id": exc.error_id, "message": str(exc)[:160]}, status=400
            )
        except (SQLAlchemyError, OSError):
            return web.json_response({"error_id": "database_unavailable"}, status=503)
        response = web.Response(body=body, headers={"Content-Type": media})
        if fmt != "json":
            name = f"{kind}-{period.label}.{fmt}"
            response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    app.router.add_get("/reports/{kind}", report_page)
