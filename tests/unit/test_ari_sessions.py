"""The controller never opens more HTTP connections to ARI than Asterisk accepts.

Asterisk's HTTP server refuses a session past its `sessionlimit` (100 unless set) by closing
the connection ("HTTP session count exceeded"): at 100 calls/s the controller's bursts of
requests (aiohttp opens up to 100 connections by default) went past it, and the calls whose
`answer` was refused were never answered (bench/load.py, 28 of 1,500 calls).
"""

from __future__ import annotations

import configparser

from hotline.telephony.ari import MAX_CONNECTIONS, WAITING_CONNECTIONS
from tests.unit.test_render import render_for


def test_asterisk_accepts_more_http_sessions_than_the_controller_opens() -> None:
    parser = configparser.ConfigParser(strict=False, inline_comment_prefixes=(";",))
    parser.read_string(render_for("127.0.0.1", "127.0.0.1")["http.conf"])
    limit = parser.getint("general", "sessionlimit", fallback=100)
    # Room above the controller's two pools (the second for requests that wait for the
    # agent's number to end): its events websocket, the CLI, tests' observers.
    assert limit >= MAX_CONNECTIONS + WAITING_CONNECTIONS + 20
