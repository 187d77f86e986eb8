"""RFC 2833 DTMF pcaps for SIPp, one copy per key press.

The pcaps that ship with sip-tester all carry one fixed RTP timestamp, so the same key twice
in a row reached Asterisk once. Each press gets its own copy with the RTP sequence number and
timestamp moved on (ASTERISK.md); the UDP checksum is zeroed (allowed for UDP over IPv4).
"""

from __future__ import annotations

import struct
from pathlib import Path

SHIPPED = Path("/usr/share/sip-tester")
NAMES = {"*": "star", "#": "pound", **{str(d): str(d) for d in range(10)}}
RTP_AT = 14 + 20 + 8  # Ethernet + IPv4 + UDP headers
UDP_CHECKSUM_AT = 14 + 20 + 6


def shifted_pcap(key: str, press: int, out_dir: Path) -> Path:
    """A copy of the shipped pcap for key whose RTP seq/timestamp are unique to press."""
    source = SHIPPED / f"dtmf_2833_{NAMES[key]}.pcap"
    data = bytearray(source.read_bytes())
    magic = struct.unpack_from("<I", data, 0)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    pos = 24
    while pos + 16 <= len(data):
        incl_len = struct.unpack_from(endian + "I", data, pos + 8)[0]
        frame = pos + 16
        if incl_len >= RTP_AT + 12:
            seq, stamp = struct.unpack_from("!HI", data, frame + RTP_AT + 2)
            struct.pack_into(
                "!HI",
                data,
                frame + RTP_AT + 2,
                (seq + 50 * (press + 1)) & 0xFFFF,
                (stamp + 8000 * (press + 1)) & 0xFFFFFFFF,
            )
            struct.pack_into("!H", data, frame + UDP_CHECKSUM_AT, 0)
        pos = frame + incl_len
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"dtmf-{press:03d}-{NAMES[key]}.pcap"
    target.write_bytes(bytes(data))
    return target
