"""The native baseline: the same calls served by plain dialplan + app_queue + MixMonitor.

Added to the bench instance's rendered Asterisk config (never to the shipped templates): the
trunk routes the number NATIVE to a context that does what the controller does, on the same
Asterisk, with the same prompts, agents' phones and recording format: answer, welcome and
main menu (a key stops them, like the controller's barge-in; 0: a person), person menu (1:
social insurance), wait in a queue of the same agents, the conversation recorded by
MixMonitor on the caller's channel (option b: only while bridged, as the controller's AMI
MixMonitor), then the survey question, one key, thanks, hang up.
"""

from __future__ import annotations

from pathlib import Path

from bench.scenarios import NATIVE
from hotline.settings import Settings

QUEUE = "bench-native"
RECORDING_PREFIX = "native-"

DIALPLAN = """
[bench-native]
; bench/native.py: the controller's full flow in plain dialplan, for comparison.
exten => s,1,Answer()
 same => n,Read(KEY,{sounds}/welcome&{sounds}/menu-main,1,,3,6)
 same => n,GotoIf($["${{KEY}}" != "0"]?bye)
 same => n,Read(KEY,{sounds}/menu-person,1,,3,6)
 same => n,GotoIf($["${{KEY}}" != "1"]?bye)
 same => n,MixMonitor({monitor}/{prefix}${{UNIQUEID}}.wav,b)
 same => n,Queue({queue},c)
 same => n,StopMixMonitor()
 same => n,Read(RATING,{sounds}/survey,1,,3,5)
 same => n,Playback({sounds}/survey-thanks)
 same => n(bye),Hangup()
"""

QUEUE_CONF = """
[{queue}]
; bench/native.py: the same agents as the controller's social_insurance queue.
strategy = rrmemory
timeout = 15
retry = 1
wrapuptime = {wrapup}
ringinuse = no
autofill = yes
joinempty = unavailable,invalid,unknown
leavewhenempty = unavailable,invalid,unknown
musicclass = default
announce-position = no
announce-frequency = 0
{members}
"""


def install(settings: Settings, agents: list[str], wrapup_seconds: int) -> None:
    """Add the native context, its number on the trunk, and its queue to the rendered config
    (call after rendering, before Asterisk starts or reloads)."""
    etc = settings.on_host(settings.asterisk_dir) / "etc"
    inst = settings.asterisk_dir
    extensions = etc / "extensions.conf"
    text = extensions.read_text()
    if "[bench-native]" not in text:
        route = f"[from-trunk]\nexten => {NATIVE},1,Goto(bench-native,s,1)\n"
        text = text.replace("[from-trunk]\n", route, 1)
        text += DIALPLAN.format(
            sounds=inst / "sounds" / settings.language,
            monitor=inst / "spool" / "monitor",
            prefix=RECORDING_PREFIX,
            queue=QUEUE,
        )
        extensions.write_text(text)
    queues = etc / "queues.conf"
    text = queues.read_text()
    if f"[{QUEUE}]" not in text:
        members = "\n".join(f"member => PJSIP/{a},0,{a}" for a in agents)
        queues.write_text(
            text + QUEUE_CONF.format(queue=QUEUE, wrapup=wrapup_seconds, members=members)
        )


def recordings(settings: Settings) -> list[Path]:
    """The native flow's recordings on disk."""
    monitor = settings.on_host(settings.asterisk_dir) / "spool" / "monitor"
    return sorted(monitor.glob(f"{RECORDING_PREFIX}*.wav"))
