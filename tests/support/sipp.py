"""Placing calls with SIPp: scenarios built from steps, run as subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from xml.sax.saxutils import escape

from tests.support.dtmf import shifted_pcap

_ports = itertools.count(0)


def free_udp_port() -> int:
    """A UDP port on loopback nobody uses right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_media_port(avoid: int = 0) -> int:
    """An even UDP port on loopback with the three above it free too: SIPp's RTP, RTCP and
    video ports (a free port rounded down to even could be another process's). `avoid`:
    a port chosen but not bound yet (SIPp's own SIP port), which would look free here."""
    while True:
        port = free_udp_port() & ~1
        if port <= avoid < port + 4:
            continue
        with contextlib.ExitStack() as held:
            try:
                for p in range(port, port + 4):
                    s = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    s.bind(("127.0.0.1", p))
            except OSError:
                continue
        return port


@dataclass(frozen=True)
class Pause:
    """Stay on the line, silent."""

    ms: int


@dataclass(frozen=True)
class Keys:
    """Press keys (RFC 2833), `gap_ms` apart so each one ends before the next, then wait
    `after_ms` (unless given, as long as the gap)."""

    keys: str
    gap_ms: int = 700
    after_ms: int | None = None


def typed(keys: str) -> Keys:
    """A number (an ID, a password) typed at a person's pace: each press's RFC 2833 packets
    last 140 ms, so 300 ms apart still ends every key before the next; the pause after the
    last key stays that of a single key."""
    return Keys(keys, gap_ms=300, after_ms=700)


@dataclass(frozen=True)
class Speak:
    """Send 8 s of G.711 speech (the recording that ships with sip-tester), then wait ms."""

    ms: int = 8500


@dataclass(frozen=True)
class Hold:
    """Stay on the line, silent, until the test says go on (`Caller.go_on`); at most
    timeout_ms, after which the call fails. For waits that end on an event the test
    observes (a prompt starts, an agent is offered the call) rather than after a fixed time."""

    timeout_ms: int = 60000


@dataclass(frozen=True)
class WaitForHangup:
    """Expect the other side to hang up (BYE) within timeout_ms, and answer it."""

    timeout_ms: int = 60000


@dataclass(frozen=True)
class Refused:
    """The only step: expect this final response instead of an answer, after early media
    (183) when `early_media`."""

    code: int = 486
    early_media: bool = True


@dataclass(frozen=True)
class KeysUntilHangup:
    """Press `key` every `every_ms` until the other side hangs up, at most `times` times, then
    answer its BYE: a caller rating the agent while the survey question may still be coming
    (a press too early is lost, the next one counts)."""

    key: str
    every_ms: int = 2500
    times: int = 12


Step = Pause | Keys | Speak | Hold | WaitForHangup | KeysUntilHangup | Refused
SPEECH_PCAP = "/usr/share/sip-tester/g711a.pcap"

SDP = """v=0
o=caller 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv
"""


def _invite(cseq: int, credentials: str | None = None) -> list[str]:
    """The caller's INVITE (with digest credentials when answering a challenge)."""
    return [
        '<send retrans="500"><![CDATA[',
        "INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
        "From: <sip:[field0]@[local_ip]:[local_port]>;tag=[call_number]",
        "To: <sip:[service]@[remote_ip]:[remote_port]>",
        "Call-ID: [call_id]",
        f"CSeq: {cseq} INVITE",
        "Contact: <sip:[field0]@[local_ip]:[local_port]>",
        *([credentials] if credentials else []),
        "Max-Forwards: 70",
        "Content-Type: application/sdp",
        "Content-Length: [len]",
        "",
        SDP,
        "]]></send>",
        '<recv response="100" optional="true"/>',
    ]


# A desk phone's INVITE is challenged first: ACK the 401; the real INVITE follows with CSeq 2.
CHALLENGED = [
    '<recv response="401" auth="true"/>',
    "<send><![CDATA[",
    "ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
    "[last_Via:]",
    "[last_From:]",
    "[last_To:]",
    "[last_Call-ID:]",
    "CSeq: 1 ACK",
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
    "]]></send>",
]


def caller_scenario(steps: list[Step], work_dir: Path, auth: tuple[str, str] | None = None) -> str:
    """A UAC scenario: INVITE, then the steps, then BYE unless the far end hung up.
    With auth (user, password), the INVITE answers a digest challenge (a desk phone)."""
    cseq = 2 if auth else 1
    credentials = f"[authentication username={auth[0]} password={auth[1]}]" if auth else None
    if steps and isinstance(steps[0], Refused):
        return "\n".join(_refused(steps[0], cseq, credentials, auth is not None))
    body = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<scenario name="hotline caller">',
        *([*_invite(1), *CHALLENGED] if auth else []),
        *_invite(cseq, credentials),
        '<recv response="180" optional="true"/>',
        '<recv response="183" optional="true"/>',
        '<recv response="200" rtd="true"/>',
        "<send><![CDATA[",
        "ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
        "From: <sip:[field0]@[local_ip]:[local_port]>;tag=[call_number]",
        "To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]",
        "Call-ID: [call_id]",
        f"CSeq: {cseq} ACK",
        "Contact: <sip:[field0]@[local_ip]:[local_port]>",
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "]]></send>",
    ]
    press = 0
    holds = 0
    hung_up_by_far_end = False
    for step in steps:
        if isinstance(step, Pause):
            body.append(f'<pause milliseconds="{step.ms}"/>')
        elif isinstance(step, Keys):
            for n, key in enumerate(step.keys):
                pcap = shifted_pcap(key, press, work_dir)
                press += 1
                body.append(
                    f'<nop><action><exec play_pcap_audio="{escape(str(pcap))}"/></action></nop>'
                )
                last = n == len(step.keys) - 1
                after = step.after_ms if last and step.after_ms is not None else step.gap_ms
                body.append(f'<pause milliseconds="{after}"/>')
        elif isinstance(step, Hold):
            # The marker file says "holding now": the test's INFO must not come during a
            # pause (SIPp would abort the call on an unexpected request).
            holds += 1
            marker = escape(str(hold_marker(work_dir, holds)))
            body.append(f'<nop><action><exec command="touch {marker}"/></action></nop>')
            body.append(f'<recv request="INFO" timeout="{step.timeout_ms}"/>')
        elif isinstance(step, Speak):
            body.append(f'<nop><action><exec play_pcap_audio="{SPEECH_PCAP}"/></action></nop>')
            body.append(f'<pause milliseconds="{step.ms}"/>')
        elif isinstance(step, WaitForHangup | KeysUntilHangup):
            if isinstance(step, KeysUntilHangup):
                # Labels 100.. (one per press) and 199 (the BYE came): a loop bounded by count.
                for n in range(step.times):
                    pcap = shifted_pcap(step.key, press, work_dir)
                    press += 1
                    body.append(f'<label id="{100 + n}"/>')
                    body.append(
                        f'<nop><action><exec play_pcap_audio="{escape(str(pcap))}"/></action></nop>'
                    )
                    body.append(
                        f'<recv request="BYE" timeout="{step.every_ms}" '
                        f'ontimeout="{101 + n}" next="199"/>'
                    )
                body.append(f'<label id="{100 + step.times}"/>')
                body.append(f'<recv request="BYE" timeout="{2 * step.every_ms}"/>')
                body.append('<label id="199"/>')
            else:
                body.append(f'<recv request="BYE" timeout="{step.timeout_ms}"/>')
            body += [
                "<send><![CDATA[",
                "SIP/2.0 200 OK",
                "[last_Via:]",
                "[last_From:]",
                "[last_To:]",
                "[last_Call-ID:]",
                "[last_CSeq:]",
                "Content-Length: 0",
                "",
                "]]></send>",
            ]
            hung_up_by_far_end = True
            break
    if not hung_up_by_far_end:
        body += [
            '<send retrans="500"><![CDATA[',
            "BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
            "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
            "From: <sip:[field0]@[local_ip]:[local_port]>;tag=[call_number]",
            "To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]",
            "Call-ID: [call_id]",
            f"CSeq: {cseq + 1} BYE",
            "Contact: <sip:[field0]@[local_ip]:[local_port]>",
            "Max-Forwards: 70",
            "Content-Length: 0",
            "",
            "]]></send>",
            '<recv response="200" crlf="true"/>',
        ]
    body.append("</scenario>")
    return "\n".join(body)


def _refused(step: Refused, cseq: int, credentials: str | None, challenged: bool) -> list[str]:
    """INVITE, early media if expected, then the final response, acknowledged (ACK)."""
    early = [
        '<recv response="183"/>',
        # Asterisk repeats the 183 (once a playback starts): any number of them.
        '<label id="1"/>',
        '<recv response="183" optional="true" next="1"/>',
    ]
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<scenario name="hotline caller refused">',
        *([*_invite(1), *CHALLENGED] if challenged else []),
        *_invite(cseq, credentials),
        *(early if step.early_media else []),
        f'<recv response="{step.code}" timeout="30000"/>',
        "<send><![CDATA[",
        "ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
        "[last_Via:]",
        "[last_From:]",
        "[last_To:]",
        "[last_Call-ID:]",
        f"CSeq: {cseq} ACK",
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "]]></send>",
        "</scenario>",
    ]


def hold_marker(run_dir: Path, n: int) -> Path:
    """The file SIPp creates when the call reaches its nth `Hold`."""
    return run_dir / f"holding-{n}"


@dataclass
class CallResult:
    """How a SIPp run ended."""

    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        """Every call in the run completed its scenario."""
        return self.returncode == 0


class Caller:
    """A citizen's phone: SIPp placing one call to the hotline."""

    # Calls a failed test never finished; `hang_up_leftovers` ends them after each test.
    unfinished: ClassVar[set[Caller]] = set()

    def __init__(
        self,
        *,
        sip_port: int,
        work_dir: Path,
        number: str = "13800138000",
        auth: tuple[str, str] | None = None,
        media_port: int | None = None,
    ) -> None:
        self.auth = auth
        # The phone's audio elsewhere (tests/support/handset.py): its port in the SDP.
        self.media_port = media_port
        self.sip_port = sip_port
        self.work_dir = work_dir
        self.number = number
        self.proc: asyncio.subprocess.Process | None = None
        self._n = next(_ports)
        self.run_dir = work_dir / f"call-{self._n}"
        # SIPp's own SIP port and the Call-ID of its first call: where `go_on` sends its INFO.
        self.local_port = 0
        self.call_id = f"hold-{os.getpid()}-{self._n}-1"
        self._holds_passed = 0

    async def start(
        self, steps: list[Step], service: str = "12333", calls: int = 1, rate: int = 10
    ) -> None:
        """Begin the call (returns at once; `finish` waits for the end); `calls` > 1 places
        that many calls with the same steps, `rate` a second."""
        run_dir = self.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.local_port = free_udp_port()
        scenario = run_dir / "caller.xml"
        text = caller_scenario(steps, run_dir, self.auth)
        if self.media_port is not None:
            text = text.replace("m=audio [media_port]", f"m=audio {self.media_port}")
        scenario.write_text(text)
        inf = run_dir / "caller.csv"
        inf.write_text(f"SEQUENTIAL\n{self.number};\n")
        self.proc = await asyncio.create_subprocess_exec(
            "sipp",
            "-sf",
            str(scenario),
            "-inf",
            str(inf),
            "-s",
            service,
            "-m",
            str(calls),
            "-r",
            str(rate),
            "-i",
            "127.0.0.1",
            "-p",
            str(self.local_port),
            "-cid_str",
            self.call_id.removesuffix("-1") + "-%u",
            "-mi",
            "127.0.0.1",
            "-mp",
            str(free_media_port(avoid=self.local_port)),
            "-timeout",
            "120s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
            "-error_file",
            str(run_dir / "errors.log"),
            f"127.0.0.1:{self.sip_port}",
            cwd=run_dir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        Caller.unfinished.add(self)

    async def finish(self, timeout: float = 150) -> CallResult:
        """Wait for SIPp to end; its exit code says whether the scenario completed."""
        assert self.proc is not None
        out, _ = await asyncio.wait_for(self.proc.communicate(), timeout)
        Caller.unfinished.discard(self)
        errors = self.work_dir / f"call-{self._n}" / "errors.log"
        text = out.decode(errors="replace")[-2000:]
        if errors.exists():
            text += "\n" + errors.read_text(errors="replace")[-2000:]
        return CallResult(self.proc.returncode or 0, text)

    async def go_on(self, timeout: float = 30) -> None:
        """Let the call past its next `Hold`: once SIPp is holding there, send it an INFO in
        its dialog (SIPp matches it by Call-ID)."""
        assert self.proc is not None
        self._holds_passed += 1
        marker = hold_marker(self.run_dir, self._holds_passed)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not marker.exists():
            if self.proc.returncode is not None or loop.time() > deadline:
                raise AssertionError(f"the call never reached hold {self._holds_passed}")
            await asyncio.sleep(0.05)
        info = (
            f"INFO sip:{self.number}@127.0.0.1:{self.local_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{self.call_id}-{self._holds_passed}\r\n"
            f"From: <sip:test@127.0.0.1>;tag=test\r\n"
            f"To: <sip:{self.number}@127.0.0.1>\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {self._holds_passed} INFO\r\n"
            "Max-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(info.encode(), ("127.0.0.1", self.local_port))

    async def call(self, steps: list[Step], service: str = "12333") -> CallResult:
        """Place the call and wait for it to end."""
        await self.start(steps, service)
        return await self.finish()


async def hang_up_leftovers() -> None:
    """Stop the SIPp of every call a test left running (so it cannot leak into the next)."""
    for caller in list(Caller.unfinished):
        if caller.proc is not None:
            if caller.proc.returncode is None:
                caller.proc.kill()
            await caller.proc.communicate()
        Caller.unfinished.discard(caller)
