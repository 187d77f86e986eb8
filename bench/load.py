"""Capacity under load, the controller against native Asterisk, in one run (issue #9).

    .venv/bin/python -m bench.load [OUT.json] [--phases menu,latency,flow,ramp] [--menu-rate 100]
        [--menu-seconds 60] [--latency-rate 50] [--latency-seconds 30] [--flow-rate 20]
        [--flow-seconds 30] [--rounds 1] [--ramp 15,20,25,30,35] [--ramp-seconds 20]
        [--soak MINUTES] [--flows hotline,native] [--agents 400] [--talk-seconds 10]

Starts its own instance ("bench", bench/center.py) with 400 agents, one SIPp UAS as all their
desk phones (echoing audio, hanging up after 10 s of talk), then runs the phases asked for,
each on the controller (12333) and on native dialplan + app_queue (bench/native.py, 12399):
  menu     callers at --menu-rate for --menu-seconds: welcome + main menu, hang up after 6 s;
  latency  menu traffic at --latency-rate while a probe caller (bench/probe.py) measures
           200 OK → first audible RTP packet, 2 probe calls a second;
  flow     the full flow at --flow-rate: menu by DTMF, queue, agent, 10 s of talk, survey;
           --rounds N runs it N times a side, alternating, and takes each round's ratio;
  ramp     the full flow at each rate of --ramp for --ramp-seconds, up to the first rate
           with a failed call (or a saturated machine): the highest rate with none;
  soak     (--soak MINUTES) menu traffic at 20 calls/s, the controller's RSS every minute.
CPU is utime + stime from /proc (Asterisk, the controller, SIPp) around each run. Every run
is bounded (SIPp stops itself), on loopback; everything is stopped at the end, also on
Ctrl-C or failure. Calls still up when SIPp stopped count as failed. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from bench import native
from bench.center import Center, cpu_seconds, rss_mb
from bench.probe import Probe, percentile
from bench.report import print_phase, ratios, summary
from bench.scenarios import HOTLINE, NATIVE, CallerLoad, full_flow_steps, menu_steps
from tests.support.sipp import Step

FLOWS = {"hotline": HOTLINE, "native": NATIVE}
SATURATED = 0.95  # of all cores busy (Asterisk + controller + SIPp): no higher rate is tried


class Sampler:
    """CPU seconds of the processes under load, read every second (SIPp's before it exits)."""

    def __init__(self, center: Center, sipps: list[CallerLoad]) -> None:
        self.center, self.sipps = center, sipps
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.rss: list[float] = []
        self.conversations = 0

    def read(self) -> None:
        """One reading of every process still alive."""
        pids = {"asterisk": self.center.asterisk_pid, "controller": self.center.controller_pid}
        phones = self.center.phones
        pids["sipp_agents"] = phones.proc.pid if phones and phones.proc else None
        for n, load in enumerate(self.sipps):
            pids[f"sipp_callers_{n}"] = load.proc.pid if load.proc else None
        for name, pid in pids.items():
            value = cpu_seconds(pid)
            if value is not None:
                self.first.setdefault(name, value)
                self.last[name] = value
        rss = rss_mb(self.center.controller_pid)
        if rss is not None:
            self.rss.append(rss)

    def used(self) -> dict[str, float]:
        """CPU seconds per process between the first and the last reading; SIPp summed."""
        used = {name: self.last[name] - self.first[name] for name in self.last}
        sipp = sum(v for k, v in used.items() if k.startswith("sipp_"))
        out = {k: v for k, v in used.items() if not k.startswith("sipp_")}
        out["sipp"] = sipp
        return out

    async def run(self) -> None:
        """Read every second until cancelled; the peak of conversations too."""
        while True:
            self.read()
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                self.conversations = max(self.conversations, await self.center.conversations())
            await asyncio.sleep(1)


async def run_calls(
    center: Center, name: str, service: str, steps: list[Step], rate: float, seconds: float,
    probe: Probe | None = None, soak: bool = False, tag: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Place rate × seconds calls with SIPp and measure them; the phase's figures."""
    calls = max(1, round(rate * seconds))
    load = CallerLoad(
        sip_port=center.settings.ports.sip,
        work_dir=center.work_dir / f"{name}-{service}-{rate:g}{tag}",
        steps=steps,
        rate=rate,
        calls=calls,
        service=service,
    )
    surveys = await center.count("SELECT count(*) FROM surveys")
    recorded = await center.count("SELECT count(*) FROM recordings")
    native_recorded = len(native.recordings(center.settings))
    tasks_before = await asyncio.to_thread(center.taskprocessors)
    traffic_before = await center.ari_traffic()
    sampler = Sampler(center, [load])
    sampler.read()
    started = time.monotonic()
    await load.start()
    ticker = asyncio.ensure_future(sampler.run())
    minute = asyncio.ensure_future(_rss_every_minute(sampler)) if soak else None
    try:
        if probe is not None:
            await asyncio.sleep(2)  # the load is under way
            await probe.run(rate=2, seconds=max(1.0, seconds - 4))
        counts = await load.finish()
    finally:
        ticker.cancel()
        if minute is not None:
            minute.cancel()
        await load.stop()
    sampler.read()
    wall = time.monotonic() - started
    await asyncio.sleep(3)  # recordings are stored a second after each call ends
    used = sampler.used()
    tasks = _difference(await asyncio.to_thread(center.taskprocessors), tasks_before)
    traffic = _difference(await center.ari_traffic(), traffic_before)
    result: dict[str, Any] = {
        "flow": "native" if service == NATIVE else "hotline",
        "rate": rate,
        "seconds": seconds,
        "calls": counts.created,
        "successful": counts.successful,
        "failed": counts.failures,
        "left_over": counts.left_over,
        "max_simultaneous_calls": counts.max_current,
        "max_simultaneous_conversations": sampler.conversations,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": {k: round(v, 2) for k, v in used.items()},
    }
    served = max(counts.created, 1)
    result["cpu_ms_per_call"] = {k: round(1000 * v / served, 2) for k, v in used.items()}
    result["cores"] = {k: round(v / wall, 3) for k, v in used.items()}
    # What a call costs in messages: Asterisk's taskprocessors, the controller's ARI traffic.
    result["messages_per_call"] = {k: round(v / served, 1) for k, v in tasks.items()}
    events = sum(v for k, v in traffic.items() if k.startswith("event:"))
    result["ari_per_call"] = {
        "requests": round(traffic.get("requests", 0) / served, 2),
        "events": round(events / served, 2),
        **{k: round(v / served, 2) for k, v in sorted(traffic.items()) if ":" in k},
    }
    result["saturation"] = round(sum(used.values()) / wall / (os.cpu_count() or 1), 3)
    if any(type(s).__name__ == "KeysUntilHangup" for s in steps):
        if service == NATIVE:
            result["recordings"] = len(native.recordings(center.settings)) - native_recorded
        else:
            result["recordings"] = await center.count("SELECT count(*) FROM recordings") - recorded
            result["surveys"] = await center.count("SELECT count(*) FROM surveys") - surveys
    if probe is not None:
        lat = probe.latencies
        result["first_prompt_ms"] = {
            "probes": len(lat) + probe.failed,
            "failed": probe.failed,
            "p50": _ms(percentile(lat, 50)),
            "p99": _ms(percentile(lat, 99)),
            "max": _ms(max(lat) if lat else None),
        }
    if soak:
        result["controller_rss_mb"] = {"start": sampler.rss[0], "end": sampler.rss[-1]}
    print_phase(name, result)
    return result


def _difference(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


async def _rss_every_minute(sampler: Sampler) -> None:
    for minute in range(1, 10_000):
        await asyncio.sleep(60)
        if sampler.rss:
            print(f"  minute {minute}: controller RSS {sampler.rss[-1]:.1f} MiB", flush=True)


async def ramp(center: Center, service: str, rates: list[float], seconds: float) -> dict[str, Any]:
    """The full flow at each rate in turn, up to the first failure or a saturated machine."""
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    for rate in rates:
        step = await run_calls(
            center, "ramp", service, full_flow_steps(center.talk_ms), rate, seconds
        )
        steps.append(step)
        if step["failed"]:
            break
        best = step
        if step["saturation"] >= SATURATED:
            break
        await asyncio.sleep(WRAPUP_PAUSE)
    return {"steps": steps, "highest_rate_without_failure": best}


WRAPUP_PAUSE = 5  # agents end their wrap-up before the next step


async def flow_rounds(center: Center, args: argparse.Namespace) -> dict[str, Any]:
    """The full flow on each side, --rounds times. The machine's speed drifts (it is shared),
    so the sides alternate A B, B A, A B, … and each round's ratio is taken from its own
    pair; the first round's runs stay the phase's figures, every round is kept."""
    flows = args.flows.split(",")
    rounds: list[dict[str, Any]] = []
    for n in range(args.rounds):
        this: dict[str, Any] = {}
        for flow in flows if n % 2 == 0 else flows[::-1]:
            this[flow] = await run_calls(
                center,
                "flow",
                FLOWS[flow],
                full_flow_steps(center.talk_ms),
                args.flow_rate,
                args.flow_seconds,
                tag=f"r{n + 1}" if args.rounds > 1 else "",
            )
            await asyncio.sleep(WRAPUP_PAUSE)
        rounds.append(this)
    result: dict[str, Any] = dict(rounds[0])
    if args.rounds > 1:
        result["rounds"] = rounds
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Bring the bench center up, run the phases, always bring it down."""
    phases = set(args.phases.split(","))
    work_dir = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    center = Center(
        work_dir=work_dir, agents=args.agents, channels=args.channels, greeting=args.greeting
    )
    report: dict[str, Any] = {
        "benchmark": "load",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "agents": args.agents,
        "channels": center.settings.channels,
        "talk_seconds": args.talk_seconds,
        "greeting": args.greeting,
        "phases": {},
    }
    out: dict[str, Any] = report["phases"]
    try:
        await center.open(talk_ms=int(args.talk_seconds * 1000))
        report["asterisk"] = center.asterisk_version()
        if "flow" in phases:  # before the ramps, whose last step ends with failed calls
            out["flow"] = await flow_rounds(center, args)
        for flow in args.flows.split(","):
            service = FLOWS[flow]
            if "menu" in phases:
                out.setdefault("menu", {})[flow] = await run_calls(
                    center, "menu", service, menu_steps(), args.menu_rate, args.menu_seconds
                )
            if "latency" in phases:
                probe = Probe(sip_port=center.settings.ports.sip, service=service)
                out.setdefault("latency", {})[flow] = await run_calls(
                    center, "latency", service, menu_steps(), args.latency_rate,
                    args.latency_seconds, probe=probe,
                )  # fmt: skip
            if "ramp" in phases:
                rates = [float(r) for r in args.ramp.split(",")]
                out.setdefault("ramp", {})[flow] = await ramp(
                    center, service, rates, args.ramp_seconds
                )
        if args.soak:
            out["soak"] = await run_calls(
                center, "soak", HOTLINE, menu_steps(), 20, args.soak * 60, soak=True
            )
        report["ratios"] = ratios(out)
        report["summary"] = summary(out)
    finally:
        await center.close()
        center.say(f"logs and SIPp files in {work_dir}")
    return report


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print the summary, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json_path", nargs="?", type=Path, default=Path(".local/bench-load.json"))
    parser.add_argument("--phases", default="menu,latency,flow,ramp")
    parser.add_argument("--flows", default="hotline,native", help="hotline, native or both")
    parser.add_argument("--agents", type=int, default=400)
    parser.add_argument("--channels", type=int, default=1850)
    parser.add_argument("--talk-seconds", type=float, default=10)
    parser.add_argument(
        "--no-greeting",
        dest="greeting",
        action="store_false",
        help="callers do not hear the agent's number (native's flow has no such step)",
    )
    parser.add_argument("--menu-rate", type=float, default=100)
    parser.add_argument("--menu-seconds", type=float, default=60)
    parser.add_argument("--latency-rate", type=float, default=50)
    parser.add_argument("--latency-seconds", type=float, default=30)
    parser.add_argument("--flow-rate", type=float, default=20)
    parser.add_argument("--flow-seconds", type=float, default=30)
    parser.add_argument(
        "--rounds",
        type=lambda v: max(1, int(v)),
        default=1,
        help="flow runs a side, alternating (A B, B A, …); at least 1",
    )
    parser.add_argument("--ramp", default="15,20,25,30,35")
    parser.add_argument("--ramp-seconds", type=float, default=20)
    parser.add_argument("--soak", type=float, default=0, metavar="MINUTES")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args))
    args.json_path.parent.mkdir(parents=True, exist_ok=True)
    args.json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report.get("summary", {}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
