"""Ring-all offers against the conversation machine, step by step, as the property test of
tests/unit/test_conversation_machine.py found them (its Center: the shell and the phones)."""

from __future__ import annotations

from acd.channel_events import ChannelAnswered, ChannelHangup, KeyPressed
from tests.unit.test_conversation_machine import Center, ConversationMachine


def test_ring_all_offer_made_twice_rings_once_after_a_transfer_back() -> None:
    """Found by a long random run: an agent offered a ring-all call, withdrawn when another
    agent answered, and offered it again when that agent transferred the caller back into
    the queue. Both offers reach the call through its mailbox, the first stale: the agent's
    phone rings once, and that offer's segment closes (it was left open)."""
    c = Center()
    state = ConversationMachine()
    state.c = c

    def ring(call: str, agent: str) -> str:
        return next(ch for ch, (k, a) in c.ringing.items() if (k, a) == (call, agent))

    def pick_up(call: str, agent: str) -> str:
        channel = ring(call, agent)
        c.up[channel] = c.ringing.pop(channel)
        c.post(call, ("agent", agent, ChannelAnswered(channel)))
        return channel

    state.caller_arrives("general")  # c1: 1001 (longest idle) talks with them
    c.deliver("c1")
    pick_up("c1", "1001")
    c.deliver("c1")
    assert c.calls["c1"].phase == "talking"
    state.caller_arrives("expert")  # c2 rings everyone else
    while c.mailbox["c2"]:
        c.deliver("c2")
    talking = pick_up("c2", "1002")
    for digit in ("*", "1"):  # 1002 answers and puts the caller back into `expert` at once
        c.post("c2", ("agent", "1002", KeyPressed(talking, digit)))
    ended = next(ch for ch, (k, _) in c.up.items() if k == "c1")
    c.up.pop(ended)
    c.post("c1", ("agent", "1001", ChannelHangup(ended, 16)))
    c.deliver("c1")  # 1001 in wrap-up, then ready: offered c2, queued behind the answer
    state.time_passes(20.0)
    assert c.router.agents["1001"].offered_call == "c2"
    while c.mailbox["c2"]:
        c.deliver("c2")
        state.every_offer_is_open_or_closed_by_a_segment()
    conv = c.calls["c2"]
    assert conv.phase == "waiting" and conv.queue == "expert"
    assert sorted(a for k, a in c.ringing.values() if k == "c2") == ["1001", "1003", "1004"]
    assert sorted(conv.offers) == ["1001", "1003", "1004"]
    state.teardown()
