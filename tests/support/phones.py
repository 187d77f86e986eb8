"""Agents' IP desk phones in tests: SIPp registers the phone, and a SIPp UAS rings and answers.

One SIPp process sends REGISTER (with digest auth) naming the UAS's port as the contact, so
Asterisk rings that port; the UAS answers OPTIONS by itself (-aa) and echoes the caller's
audio back (-rtp_echo), so a recording of the call has both voices.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.dtmf import shifted_pcap
from tests.support.sipp import free_media_port, free_udp_port

REGISTER = """<?xml version="1.0" encoding="UTF-8"?>
<scenario name="register">
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{user}@[remote_ip]>;tag=[call_number]
To: <sip:{user}@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:{user}@127.0.0.1:{contact_port}>
Expires: {expires}
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{user}@[remote_ip]>;tag=[call_number]
To: <sip:{user}@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:{user}@127.0.0.1:{contact_port}>
[authentication username={user} password={password}]
Expires: {expires}
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
"""

UAS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<scenario name="desk phone">
<recv request="INVITE" crlf="true">
  <action>
{captures}
  </action>
</recv>
<send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
"""

# SIPp refuses a scenario that captures a variable it never uses: capture per mode.
CAPTURE_DIALOG = """    <ereg regexp=".*" search_in="hdr" header="From:" assign_to="from_hdr"/>
    <ereg regexp=".*" search_in="hdr" header="To:" assign_to="to_hdr"/>
    <ereg regexp="sip:[^&gt;;]*" search_in="hdr" header="Contact:" assign_to="contact"/>"""
CAPTURE_CSEQ = """    <ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="cseq_num"/>"""

ANSWER = """<pause milliseconds="{ring_ms}"/>
<send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:{user}@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=agent 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv

]]></send>
<recv request="ACK" crlf="true"/>
"""

HANG_UP_AFTER = """<pause milliseconds="{talk_ms}"/>
<send retrans="500"><![CDATA[
BYE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$to_hdr];tag=[call_number]
To: [$from_hdr]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200" crlf="true"/>
</scenario>
"""

WAIT_FOR_BYE = """<recv request="BYE"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
"""

NEVER_ANSWER = """<recv request="CANCEL"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
<send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[call_number]
[last_Call-ID:]
CSeq: [$cseq_num] INVITE
Content-Length: 0

]]></send>
<recv request="ACK"/>
</scenario>
"""


BUSY = """<send><![CDATA[
SIP/2.0 486 Busy Here
[last_Via:]
[last_From:]
[last_To:];tag=[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
<recv request="ACK"/>
</scenario>
"""


@dataclass
class DeskPhone:
    """One agent's phone: registered, ringing, answering (or not)."""

    user: str
    password: str
    sip_port: int
    work_dir: Path
    mode: str = "answer"  # answer | no_answer | busy
    ring_ms: int = 300
    talk_ms: int | None = None  # hang up after this long; None: wait for the other side
    # (after ms, keys): the agent presses keys ("," a second's pause between), then waits.
    keys: tuple[int, str] | None = None
    # SIPp's -m: the UAS ends after this many calls. Asterisk's OPTIONS qualify pings count
    # too, so a phone that registers needs room for them; an unregistered line (behind the
    # trunk) counts only real calls.
    calls: int = 5
    media_port: int | None = None  # the phone's audio elsewhere (tests/support/handset.py)
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    uas_port: int = 0

    def _uas_scenario(self) -> str:
        if self.mode == "no_answer":
            return UAS_HEAD.format(captures=CAPTURE_CSEQ) + NEVER_ANSWER
        if self.mode == "busy":
            return UAS_HEAD.format(captures="") + BUSY
        body = ANSWER.format(ring_ms=self.ring_ms, user=self.user)
        if self.keys is not None:
            after_ms, keys = self.keys
            body += f'<pause milliseconds="{after_ms}"/>\n'
            for press, key in enumerate(keys):
                if key == ",":  # a second's pause between keys
                    body += '<pause milliseconds="1000"/>\n'
                    continue
                pcap = shifted_pcap(key, press, self.work_dir)
                body += f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
                body += '<pause milliseconds="400"/>\n'
        if self.talk_ms is None:
            return UAS_HEAD.format(captures="") + body + WAIT_FOR_BYE
        tail = HANG_UP_AFTER.format(talk_ms=self.talk_ms)
        return UAS_HEAD.format(captures=CAPTURE_DIALOG) + body + tail

    async def _sipp(self, *args: str, name: str) -> asyncio.subprocess.Process:
        with (self.work_dir / f"{name}.out").open("wb") as log:
            return await asyncio.create_subprocess_exec(
                "sipp",
                "-nostdin",
                "-i",
                "127.0.0.1",
                *args,
                cwd=self.work_dir,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def answer_at(self, port: int) -> None:
        """Only answer calls sent to port (a department's line behind the trunk)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.uas_port = port
        await self.register(expires=-1)

    async def register(self, expires: int = 300) -> None:
        """Start the UAS, then register it; returns once Asterisk accepted the registration."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if not self.procs:
            self.uas_port = self.uas_port or free_udp_port()
            uas = self.work_dir / f"uas-{self.user}.xml"
            text = self._uas_scenario()
            if self.media_port is not None:
                text = text.replace("m=audio [media_port]", f"m=audio {self.media_port}")
            uas.write_text(text)
            self.procs.append(
                await self._sipp(
                    "-sf",
                    str(uas),
                    "-p",
                    str(self.uas_port),
                    "-m",
                    str(self.calls),
                    "-aa",
                    "-mi",
                    "127.0.0.1",
                    "-mp",
                    str(free_media_port(avoid=self.uas_port)),
                    "-rtp_echo",
                    "-trace_err",
                    "-error_file",
                    str(self.work_dir / f"uas-{self.user}.err"),
                    name=f"uas-{self.user}",
                )
            )
        if expires < 0:  # answer only, no registration
            return
        reg = self.work_dir / f"register-{self.user}-{expires}.xml"
        reg.write_text(
            REGISTER.format(
                user=self.user, password=self.password, contact_port=self.uas_port, expires=expires
            )
        )
        proc = await self._sipp(
            "-sf",
            str(reg),
            "-m",
            "1",
            "-p",
            str(free_udp_port()),
            f"127.0.0.1:{self.sip_port}",
            name=f"register-{self.user}",
        )
        code = await asyncio.wait_for(proc.wait(), 30)
        if code != 0:
            raise AssertionError(f"phone {self.user} could not register (sipp exit {code})")
        if expires and self.procs[0].returncode not in (None, 0):
            # Registered, but nothing answers at the contact (SIPp could not bind).
            errors = self.work_dir / f"uas-{self.user}.err"
            raise AssertionError(
                f"phone {self.user}'s answering SIPp exited ({self.procs[0].returncode}): "
                + (errors.read_text(errors="replace")[-500:] if errors.exists() else "")
            )

    async def handled_all(self, timeout: float) -> bool:
        """Whether the phone took its `calls` calls to their end (a BYE received and
        answered, where it waits for one) within timeout seconds."""
        try:
            code = await asyncio.wait_for(self.procs[0].wait(), timeout)
        except TimeoutError:
            return False
        return code == 0

    async def close(self) -> None:
        """Unregister and stop ringing."""
        if self.procs and self.user.isdigit() and len(self.user) == 4:
            with contextlib.suppress(AssertionError):
                await self.register(expires=0)
        for proc in self.procs:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
        self.procs.clear()
