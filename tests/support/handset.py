"""A phone's audio in tests: a steady tone sent as RTP (G.711 A-law) from a loopback port, and
everything Asterisk sends back kept, so that a test can tell whose voice a leg hears.

SIPp does the phone's SIP; its SDP names this port (`media_port=`), so Asterisk's RTP comes
here. Each person speaks at a frequency of their own; the Goertzel filter measures how loud
each frequency is in what a leg received. Asterisk learns our address from our packets
(symmetric RTP), so the handset sends only once Asterisk has sent it something; keys are
RFC 4733 events from the same port (Asterisk accepts RTP from the learnt source only).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct

from tests.support.sipp import free_media_port

RATE = 8000
FRAME = 160  # 20 ms
AMPLITUDE = 6000
_SEGMENT_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
KEY_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}


def alaw(sample: int) -> int:
    """One 16-bit sample in G.711 A-law (ITU-T G.711, as Sun's reference g711.c)."""
    value = sample >> 3
    mask = 0xD5
    if value < 0:
        mask, value = 0x55, -value - 1
    segment = next((i for i, end in enumerate(_SEGMENT_END) if value <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    code = segment << 4 | ((value >> 1) if segment < 2 else (value >> segment)) & 0x0F
    return code ^ mask


def linear(code: int) -> int:
    """One A-law byte as a 16-bit sample."""
    code ^= 0x55
    value = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    value += 8 if segment == 0 else 0x108
    if segment > 1:
        value <<= segment - 1
    return value if code & 0x80 else -value


LINEAR = [linear(c) for c in range(256)]


class Handset(asyncio.DatagramProtocol):
    """Speaks one tone, hears everything; `level(hz, since, until)` says how loud a tone was
    in what arrived between two loop times."""

    def __init__(self, tone_hz: int) -> None:
        self.tone_hz = tone_hz
        second = [
            AMPLITUDE * math.sin(2 * math.pi * tone_hz * n / RATE) for n in range(RATE)
        ]  # a whole number of cycles: frames repeat without a click
        self.tone = bytes(alaw(round(s)) for s in second)
        self.received: list[tuple[float, bytes]] = []
        self.port = 0
        self.muted = False
        self._transport: asyncio.DatagramTransport | None = None
        self._remote: tuple[str, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._seq = 0
        self._stamp = 0
        self._keys: asyncio.Queue[str] = asyncio.Queue()

    async def open(self) -> Handset:
        """Bind an even loopback port and start speaking (once Asterisk is heard)."""
        loop = asyncio.get_running_loop()
        self.port = free_media_port()
        await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", self.port))
        self._task = asyncio.create_task(self._speak())
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or data[1] & 0x7F != 8:  # only the audio (PCMA), not key events
            return
        self._remote = addr
        self.received.append((asyncio.get_running_loop().time(), data[12:]))

    async def press(self, keys: str) -> None:
        """Send keys (RFC 4733), each after the one before has ended."""
        for key in keys:
            await self._keys.put(key)
        await self._keys.join()
        await asyncio.sleep(0.3)

    def _send(self, payload_type: int, payload: bytes, marker: bool = False) -> None:
        assert self._transport is not None and self._remote is not None
        header = struct.pack(
            "!BBHII", 0x80, payload_type | (0x80 if marker else 0), self._seq, self._stamp, 0x1233
        )
        self._seq = (self._seq + 1) & 0xFFFF
        self._transport.sendto(header + payload, self._remote)

    async def _speak(self) -> None:
        loop = asyncio.get_running_loop()
        tick = loop.time()
        frame = 0
        while True:
            tick += FRAME / RATE
            await asyncio.sleep(max(0.0, tick - loop.time()))
            if self._remote is None:
                continue
            if not self._keys.empty():
                await self._key(self._keys.get_nowait(), tick)
                self._keys.task_done()
                tick = loop.time()
                continue
            start = (frame % (RATE // FRAME)) * FRAME
            frame += 1
            audio = b"\xd5" * FRAME if self.muted else self.tone[start : start + FRAME]
            self._send(8, audio)
            self._stamp += FRAME

    async def _key(self, key: str, tick: float) -> None:
        """One key press: 7 event packets 20 ms apart, the last 3 marked as its end."""
        event = KEY_EVENTS[key]
        for n in range(1, 8):
            end = n >= 5
            duration = min(n, 5) * FRAME
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
            self._send(101, payload, marker=n == 1)
            await asyncio.sleep(FRAME / RATE)
        self._stamp += 5 * FRAME

    def level(self, hz: int, since: float, until: float) -> float:
        """The amplitude of a tone of `hz` in what arrived between `since` and `until`
        (Goertzel), in 16-bit sample units; 0 when nothing arrived."""
        samples = [
            LINEAR[b] for at, payload in self.received if since <= at < until for b in payload
        ]
        if not samples:
            return 0.0
        coeff = 2 * math.cos(2 * math.pi * hz / RATE)
        s1 = s2 = 0.0
        for x in samples:
            s1, s2 = x + coeff * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2
        return 2 * math.sqrt(max(power, 0.0)) / len(samples)

    def heard_since(self, since: float) -> bool:
        """Whether any audio arrived since a loop time."""
        return any(at >= since for at, _ in self.received)

    async def close(self) -> None:
        """Stop speaking and release the port."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._transport is not None:
            self._transport.close()
