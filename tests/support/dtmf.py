"""RFC 2833 DTMF pcaps for SIPp, one copy per key press.

The pcaps that ship with sip-tester all carry one fixed RTP timestamp, so the same key twice
in a row reached Asterisk once; and each key's file starts at its own sequence number, so a
run of different keys went backwards and lost keys. Each press gets its own copy whose
sequence numbers continue those of the press before and whose timestamp (one per RFC 2833
event) moves on; the UDP checksum is zeroed (allowed for UDP over IPv4).
"""

from __future__ import annotations

import struct
from pathlib import Path

SHIPPED = Path("/usr/share/sip-tester")
NAMES = {"*": "star", "#": "pound", **{str(d): str(d) for d in range(10)}}
RTP_AT = 14 + 20 + 8  # Ethernet + IPv4 + UDP headers
UDP_CHECKSUM_AT = 14 + 20 + 6
PACKETS_PER_PRESS = 32  # the shipped files have 10 packets each


def shifted_pcap(key: str, press: int, out_dir: Path) -> Path:
    """A copy of the shipped pcap for key whose RTP seq/timestamp are unique to press."""
    source = SHIPPED / f"dtmf_2833_{NAMES[key]}.pcap"
    data = bytearray(source.read_bytes())
    magic = struct.unpack_from("<I", data, 0)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    pos = 24
    packet = 0
    while pos + 16 <= len(data):
        incl_len = struct.unpack_from(endian + "I", data, pos + 8)[0]
        frame = pos + 16
        if incl_len >= RTP_AT + 12:
            struct.pack_into(
                "!HI",
                data,
                frame + RTP_AT + 2,
                (1000 + press * PACKETS_PER_PRESS + packet) & 0xFFFF,
                (160_000 + press * 16_000) & 0xFFFFFFFF,
            )
            struct.pack_into("!H", data, frame + UDP_CHECKSUM_AT, 0)
            packet += 1
        pos = frame + incl_len
    assert packet <= PACKETS_PER_PRESS, source
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"dtmf-{press:03d}-{NAMES[key]}.pcap"
    target.write_bytes(bytes(data))
    return target
