"""The wallboard's supervision buttons over the HTTP API (supervisor role, hotline/roles.py):

    POST   /supervision/{agent}/{listen|whisper|barge}   ring my desk phone; on answer, that
                                                         agent's conversation (or switch mode)
    DELETE /supervision/{agent}                          stop (my desk phone is hung up)

A person's desk phone is their account's 工号 (where that agent is logged in, if hot-desking).
A client token or the instance's token has no desk of its own: it names one (`?phone=`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from hotline import access
from hotline.supervision import WHISPER, SupervisionRefused

if TYPE_CHECKING:
    from hotline.controller import Controller


def add_routes(app: web.Application, controller: Controller) -> None:
    """Register the supervision routes."""

    def refuse(error_id: str, status: int) -> web.Response:
        return web.json_response({"error_id": error_id}, status=status)

    def desk_phone(request: web.Request) -> str | None:
        who = access.principal(request)
        desk = controller.desk
        assert desk is not None
        # A person listens on their own desk phone; only the instance's own token (the
        # machine's owner, as in the tests) names one, never a client token.
        number = who.agent if who.kind == "person" else None
        if who.kind == "instance":
            number = request.query.get("phone")
        if number is None or number not in desk.router.agents:
            return None
        return desk.router.agents[number].seat

    async def start(request: web.Request) -> web.Response:
        agent, mode = request.match_info["agent"], request.match_info["mode"]
        supervision = getattr(controller, "supervision", None)
        if controller.desk is None or supervision is None:
            return refuse("acd_disabled", 503)
        if mode not in WHISPER:
            return refuse("unknown_mode", 404)
        if agent not in controller.desk.router.agents:
            return refuse("unknown_agent", 404)
        who = access.principal(request)
        try:
            phone = desk_phone(request)
            if phone is None:
                raise SupervisionRefused("no_desk_phone")
            session = await supervision.start_from_wallboard(
                who.who, who.role_text, phone, agent, mode, access.source(request)
            )
        except SupervisionRefused as exc:
            await supervision.refused(who.who, agent, mode, access.source(request), exc)
            return refuse(exc.error_id, exc.status)
        body = {"session": session.key, "agent": agent, "mode": session.mode, "phone": phone}
        return web.json_response(body, status=202)

    async def stop(request: web.Request) -> web.Response:
        supervision = getattr(controller, "supervision", None)
        if supervision is None:
            return refuse("acd_disabled", 503)
        session = supervision.session_of(access.principal(request).who)
        if session is None or session.agent != request.match_info["agent"]:
            return refuse("not_supervising", 404)
        await supervision.stop(session)
        return web.json_response({"stopped": session.key})

    app.router.add_post("/supervision/{agent}/{mode}", start)
    app.router.add_delete("/supervision/{agent}", stop)
