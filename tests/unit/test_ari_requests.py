"""Every ARI request is counted by method and resource (the path without ids) for /metrics:
what a call costs Asterisk in requests is read there (README "Capacity")."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from hotline.telephony.ari import AriClient, resource_of
from tests.support.web_server import answering, local_server


def test_resources_drop_the_ids() -> None:
    assert resource_of("/channels/1796.284/play/1796.284.r1.pb3") == "channels/play"
    assert resource_of("/channels/1796.284/variable") == "channels/variable"
    assert resource_of("/bridges/b-1796.284/addChannel") == "bridges/addChannel"
    assert resource_of("/playbacks/1796.284.r1.pb3") == "playbacks"
    assert resource_of("/channels") == "channels"


async def test_each_request_is_counted_once_also_when_refused() -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path.endswith("/answer"):
            return web.Response(status=204)
        return web.json_response({"message": "Channel not found"}, status=404)

    seen: list[tuple[str, str]] = []
    async with local_server(answering(handler)) as port, aiohttp.ClientSession() as session:
        ari = AriClient(
            base_url=f"http://127.0.0.1:{port}",
            username="u",
            password="p",
            app="hotline",
            session=session,
            on_request=lambda method, resource: seen.append((method, resource)),
        )
        await ari.answer("1.1")
        assert await ari.get_variable("1.1", "HOTLINE_NODE") == ""
        ari.close()
    assert seen == [("POST", "channels/answer"), ("GET", "channels/variable")]
