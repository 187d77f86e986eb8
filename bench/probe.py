"""First-prompt latency as a caller hears it: a minimal SIP caller over UDP (asyncio).

Each probe call sends an INVITE (PCMA) through the trunk (unauthenticated from 127.0.0.1),
takes the time of the 200 OK, ACKs it, sends 20 ms packets of A-law silence (as a real phone
does: Asterisk's Answer() otherwise waits for the caller's first frame), and takes the time of
the first RTP packet whose audio is not silence, on the same monotonic clock; then BYE.
Latency = first audible packet - 200 OK. One call at a time, `rate` calls a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import struct
import time
from dataclasses import dataclass, field

ALAW_SILENCE = 0xD5
LOUD = 64  # |sample| (16-bit linear) below this counts as silence (dither, comfort noise)


def _alaw_to_linear(byte: int) -> int:
    """ITU G.711 A-law to a 16-bit linear sample."""
    a = byte ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


LINEAR = [abs(_alaw_to_linear(b)) for b in range(256)]


def audible(payload: bytes) -> bool:
    """Whether an A-law payload holds anything louder than silence."""
    return any(LINEAR[b] >= LOUD for b in payload)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | None, int]) -> None:
        self.queue.put_nowait((data, time.monotonic()))


@dataclass
class Probe:
    """Probe calls to `service` at 127.0.0.1:`sip_port`; latencies in seconds."""

    sip_port: int
    service: str
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    async def run(self, rate: float, seconds: float) -> None:
        """Place probe calls, `rate` a second, for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                latency = await asyncio.wait_for(self.one_call(), 10)
            except (TimeoutError, OSError, ValueError):
                latency = None
            if latency is None:
                self.failed += 1
            else:
                self.latencies.append(latency)
            await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))

    async def one_call(self) -> float | None:
        """One call; the latency, or None when no audible packet came within 5 s."""
        loop = asyncio.get_running_loop()
        sip_t, sip = await loop.create_datagram_endpoint(_Udp, local_addr=("127.0.0.1", 0))
        rtp_t, rtp = await loop.create_datagram_endpoint(_Udp, local_addr=("127.0.0.1", 0))
        try:
            return await self._dialog(sip_t, sip, rtp_t, rtp)
        finally:
            sip_t.close()
            rtp_t.close()

    async def _dialog(
        self,
        sip_t: asyncio.DatagramTransport,
        sip: _Udp,
        rtp_t: asyncio.DatagramTransport,
        rtp: _Udp,
    ) -> float | None:
        n = next(self._seq)
        sip_port = sip_t.get_extra_info("sockname")[1]
        rtp_port = rtp_t.get_extra_info("sockname")[1]
        call_id = f"probe-{os.getpid()}-{n}@127.0.0.1"
        target = f"sip:{self.service}@127.0.0.1:{self.sip_port}"
        head = {
            "From": f"<sip:13700000000@127.0.0.1:{sip_port}>;tag=p{n}",
            "To": f"<{target}>",
            "Call-ID": call_id,
            "Contact": f"<sip:probe@127.0.0.1:{sip_port}>",
            "Max-Forwards": "70",
        }
        sdp = (
            f"v=0\r\no=probe {n} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {rtp_port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"
        )
        server = ("127.0.0.1", self.sip_port)
        sip_t.sendto(_request("INVITE", target, head, 1, sip_port, sdp), server)
        while True:  # provisional answers, then the final one
            data, at = await sip.queue.get()
            status = int(data.split(b" ", 2)[1])
            if status >= 200:
                break
        if status != 200:
            raise ValueError(f"probe call refused: {status}")
        answered = at
        text = data.decode(errors="replace")
        head["To"] = _header(text, "To")
        remote_media = re.search(r"c=IN IP4 (\S+).*?m=audio (\d+)", text, re.S)
        contact = re.search(r"<(sip:[^>]+)>", _header(text, "Contact"))
        uri = contact.group(1) if contact else target
        sip_t.sendto(_request("ACK", uri, head, 1, sip_port), server)
        latency = None
        sender = asyncio.ensure_future(self._send_silence(rtp_t, remote_media))
        try:
            end = answered + 5
            while latency is None and time.monotonic() < end:
                with contextlib.suppress(TimeoutError):
                    packet, at = await asyncio.wait_for(rtp.queue.get(), end - time.monotonic())
                    if len(packet) > 12 and audible(packet[12:]):
                        latency = at - answered
        finally:
            sender.cancel()
        sip_t.sendto(_request("BYE", uri, head, 2, sip_port), server)
        with contextlib.suppress(TimeoutError):  # the 200 to the BYE; a lost one is harmless
            await asyncio.wait_for(sip.queue.get(), 2)
        return latency

    @staticmethod
    async def _send_silence(rtp_t: asyncio.DatagramTransport, media: re.Match[str] | None) -> None:
        if media is None:
            return
        to = (media.group(1), int(media.group(2)))
        for seq in itertools.count():
            header = struct.pack("!BBHII", 0x80, 8, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, 0x1234)
            rtp_t.sendto(header + bytes([ALAW_SILENCE]) * 160, to)
            await asyncio.sleep(0.02)


def _header(message: str, name: str) -> str:
    match = re.search(rf"^{name}:\s*(.*?)\r?$", message, re.M | re.I)
    return match.group(1) if match else ""


def _request(
    method: str, uri: str, head: dict[str, str], cseq: int, port: int, body: str = ""
) -> bytes:
    branch = f"z9hG4bK{os.urandom(6).hex()}"
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};rport;branch={branch}",
        *(f"{k}: {v}" for k, v in head.items()),
        f"CSeq: {cseq} {method}",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
