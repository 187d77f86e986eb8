"""A restarted controller takes back the work-order calls its predecessor left in Asterisk
(hotline/order_call_adoption.py), from what their channels keep: a call-back in
conversation is carried on to its usual end, one still ringing is ended, a follow-up is
ended for a later attempt. In-process around the real router, desk and journal; Asterisk's
side is a stand-in holding the channels and the bridge the dead controller left.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from acd.channel_events import ChannelHangup
from acd.order_calls import SavedCallBack, SavedFollowUp
from acd.state import AgentStatus
from hotline.order_call_legs import ORDER_CALL_VAR, PAUSE_REASON
from hotline.store.journal import Fact
from hotline.telephony.ari import AriError
from tests.unit.test_order_call_start import AGENT, Asterisk, Center

CALL = "wo202600000001-3f9a0c2"
AGENT_LEG, CITIZEN_LEG = f"{CALL}-a", f"{CALL}-c"
RECORDING = "/rec/20261202-080000-wo202600000001-3f9a0c2-1002.wav"


class Switch(Asterisk):
    """ARI with the channels (state, name, variables) and bridges a dead run left."""

    def __init__(self) -> None:
        super().__init__()
        self.channels: dict[str, dict[str, Any]] = {}
        self.bridges: dict[str, list[str]] = {}
        self.hung_up: list[str] = []

    def leave(self, channel_id: str, state: str, saved: str, name: str = "") -> dict[str, Any]:
        channel = {"id": channel_id, "state": state, "name": name, "vars": {ORDER_CALL_VAR: saved}}
        self.channels[channel_id] = channel
        return channel

    async def request(
        self, method: str, path: str, params: Any = None, body: Any = None
    ) -> dict[str, Any]:
        await super().request(method, path, params)
        bridge = path.removeprefix("/bridges/")
        if path.startswith("/bridges/") and method == "GET":
            if bridge not in self.bridges:
                raise AriError(404, method, path, "Bridge not found")
            return {"id": bridge, "channels": list(self.bridges[bridge])}
        if path.startswith("/bridges/") and method == "DELETE":
            self.bridges.pop(bridge, None)
        return {}

    async def get_channel(self, channel_id: str) -> dict[str, Any]:
        if channel_id not in self.channels:
            raise AriError(404, "GET", f"/channels/{channel_id}", "Channel not found")
        return self.channels[channel_id]

    async def get_variable(self, channel_id: str, name: str) -> str:
        return str(self.channels.get(channel_id, {}).get("vars", {}).get(name, ""))

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        if self.channels.pop(channel_id, None) is None:
            raise AriError(404, "DELETE", f"/channels/{channel_id}", "Channel not found")
        self.hung_up.append(channel_id)
        for members in self.bridges.values():
            if channel_id in members:
                members.remove(channel_id)


class Ami:
    """AMI as the recording's end uses it."""

    def __init__(self) -> None:
        self.actions: list[dict[str, str]] = []

    async def action(self, action: dict[str, str]) -> dict[str, str]:
        self.actions.append(action)
        return {}


class Restarted(Center):
    """A new controller: the agent's state restored as stored (paused for the call-back)."""

    def __init__(self, tmp_path: Path, paused_from: tuple[AgentStatus, str]) -> None:
        super().__init__(tmp_path)
        self.ari = self.desk.ari = Switch()  # type: ignore[assignment]
        self.ami = self.desk.ami = Ami()  # type: ignore[assignment]
        self.calls.controller.run_id = "a1b2c3"  # this run's (the calls left are 3f9a0c's)
        self.facts: list[Fact] = []
        self.desk.journal.observers.append(self.facts.append)
        now = time.time()
        self.router.login(AGENT, now)
        if paused_from[0] is AgentStatus.paused:
            self.router.pause(AGENT, paused_from[1], now)
        self.router.pause(AGENT, PAUSE_REASON, now)
        self.paused_from = paused_from

    async def run(self) -> None:
        """The calls' consumers take what was posted to them."""
        while self.held:
            call_id, (_, _, item) = self.held.pop(0)
            await self.calls.handle(call_id, item)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [f.data for f in self.facts if f.kind == kind and f.channel_id == CALL]


async def test_a_call_back_in_conversation_is_carried_on_and_ends_as_without_a_restart(
    tmp_path: Path,
) -> None:
    """
    1. 1002 (ready before the call-back) and the citizen are bridged and recorded when the
       controller dies; the new one finds both channels up in `b-<call>`: nothing is hung
       up, the call-back is ours again (another call-back of 1002's is refused meanwhile).
    2. The citizen hangs up: 1002's phone is hung up, the segment ends as talked and the
       call's end is written once, the recording is stopped and stored, and 1002 is ready.
    """
    c = Restarted(tmp_path, (AgentStatus.ready, ""))
    saved = SavedCallBack(
        "202600000001",
        AGENT,
        "13900000561",
        c.paused_from,
        time.time() - 30,
        "PJSIP/trunk-0000002a",
        RECORDING,
    ).encode()
    left = [
        c.ari.leave(AGENT_LEG, "Up", saved, "PJSIP/1002-00000029"),
        c.ari.leave(CITIZEN_LEG, "Up", saved, "PJSIP/trunk-0000002a"),
        {"id": "1764662400.12", "state": "Up"},  # a caller's channel: not ours here
    ]
    c.ari.bridges[f"b-{CALL}"] = [CITIZEN_LEG, AGENT_LEG]
    (tmp_path / RECORDING.lstrip("/")).parent.mkdir(parents=True)
    (tmp_path / RECORDING.lstrip("/")).write_bytes(b"\0" * 16044)

    assert await c.calls.adopt(left) == [CALL]
    assert c.calls.channels == {AGENT_LEG: CALL, CITIZEN_LEG: CALL}
    await c.run()
    assert c.ari.hung_up == [] and c.kinds("work_order_call_ended") == []
    assert c.state() == (AgentStatus.paused, PAUSE_REASON)
    assert await c.calls.adopt(left) == []  # a reconnect finds it ours
    mine = f"wo202600000003-{c.calls.controller.run_id}7-a"  # this run's own: not adopted
    c.ari.leave(mine, "Up", saved)
    assert await c.calls.adopt([*left, c.ari.channels[mine]]) == []
    del c.ari.channels[mine]

    del c.ari.channels[CITIZEN_LEG]
    over = await c.calls.handle(CALL, (CITIZEN_LEG, ChannelHangup(CITIZEN_LEG, 16)))
    assert over and c.ari.hung_up == [AGENT_LEG] and f"b-{CALL}" not in c.ari.bridges
    await c.calls.handle(CALL, (AGENT_LEG, ChannelHangup(AGENT_LEG, 16)))
    ended = c.kinds("work_order_call_ended")
    assert [(e["order"], e["outcome"]) for e in ended] == [("202600000001", "talked")]
    assert ended[0]["seconds"] >= 30
    assert [e["outcome"] for e in c.kinds("segment_ended")] == ["talked"]
    assert c.state() == (AgentStatus.ready, "")
    for task in list(c.desk._background):
        await task
    assert c.ami.actions == [{"Action": "StopMixMonitor", "Channel": "PJSIP/trunk-0000002a"}]
    assert [r["path"] for r in c.kinds("recording")] == [RECORDING]


async def test_a_call_back_still_ringing_is_ended_and_the_agent_back_to_their_pause(
    tmp_path: Path,
) -> None:
    """1002 (paused for a meeting when they clicked) had answered; the citizen's phone was
    ringing when the controller died. The new one hangs up both, writes the call-back's end
    as interrupted (no recording: nobody talked) and puts 1002 back in their meeting."""
    c = Restarted(tmp_path, (AgentStatus.paused, "meeting"))
    saved = SavedCallBack("202600000001", AGENT, "13900000561", c.paused_from).encode()
    left = [c.ari.leave(AGENT_LEG, "Up", saved), c.ari.leave(CITIZEN_LEG, "Ringing", saved)]
    await c.calls.adopt(left)
    await c.run()
    assert sorted(c.ari.hung_up) == [AGENT_LEG, CITIZEN_LEG]
    ended = c.kinds("work_order_call_ended")
    assert [(e["outcome"], e["detail"]) for e in ended] == [("interrupted", "controller_restart")]
    assert c.state() == (AgentStatus.paused, "meeting")
    assert c.calls.calls == {} and not c.desk._background
    # The hang-ups' own events reach a call that is over.
    assert await c.calls.handle(CALL, (AGENT_LEG, ChannelHangup(AGENT_LEG, 16)))
    assert len(c.kinds("work_order_call_ended")) == 1


async def test_a_follow_up_in_progress_is_ended_for_a_later_attempt(tmp_path: Path) -> None:
    """The citizen was hearing the satisfaction question (attempt 2): hung up, the attempt
    written as interrupted (the watch places it again); a channel of an order call that
    kept nothing (an older release) is hung up, nobody can carry it on."""
    c = Restarted(tmp_path, (AgentStatus.ready, ""))
    other = "wo202600000002-3f9a0c3-c"
    left = [
        c.ari.leave(CITIZEN_LEG, "Up", SavedFollowUp("202600000001", 2).encode()),
        c.ari.leave(other, "Up", ""),
    ]
    assert await c.calls.adopt(left) == [CALL]
    await c.run()
    assert sorted(c.ari.hung_up) == [CITIZEN_LEG, other]
    ended = c.kinds("work_order_follow_up_ended")
    assert [(e["attempt"], e["result"], e["verdict"]) for e in ended] == [
        (2, "interrupted", "retry")
    ]
    assert c.calls.calls == {}
