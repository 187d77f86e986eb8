"""Printing the load benchmark's figures, and the controller's as ratios of native's."""

from __future__ import annotations

import statistics
from typing import Any


def print_phase(name: str, r: dict[str, Any]) -> None:
    """One line (two with latency) per run, as it ends."""
    cpu = r["cpu_ms_per_call"]
    cores = r["cores"]
    line = (
        f"{name:7} {r['flow']:7} {r['rate']:g}/s × {r['seconds']:g} s: {r['calls']} calls, "
        f"{r['failed']} failed, {r['max_simultaneous_calls']} at once, "
        f"{r['max_simultaneous_conversations']} conversations at once; CPU ms/call "
        f"Asterisk {cpu.get('asterisk', 0):.1f} controller {cpu.get('controller', 0):.1f} "
        f"SIPp {cpu.get('sipp', 0):.1f}; cores {cores.get('asterisk', 0):.2f} + "
        f"{cores.get('controller', 0):.2f} + SIPp {cores.get('sipp', 0):.2f}"
    )
    if "recordings" in r:
        line += f"; {r['recordings']} recorded"
    if "surveys" in r:
        line += f", {r['surveys']} surveys"
    print(line, flush=True)
    msgs, ari = r.get("messages_per_call", {}), r.get("ari_per_call", {})
    if msgs:
        print(
            f"        messages/call: ARI application {msgs.get('application', 0):g}, AMI "
            f"{msgs.get('manager', 0):g}, all taskprocessors {msgs.get('all', 0):g}; "
            f"controller: {ari.get('requests', 0):g} ARI requests, {ari.get('events', 0):g} "
            "events",
            flush=True,
        )
    if "first_prompt_ms" in r:
        f = r["first_prompt_ms"]
        print(
            f"        first prompt after 200 OK: p50 {f['p50']} ms, p99 {f['p99']} ms "
            f"({f['probes']} probes, {f['failed']} without audio)",
            flush=True,
        )


def _per_call(r: dict[str, Any]) -> float:
    """Asterisk + controller CPU per call (ms): what the targets compare."""
    cpu = r["cpu_ms_per_call"]
    return float(cpu.get("asterisk", 0) + cpu.get("controller", 0))


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or not theirs:
        return None
    return round(ours / theirs, 3)


def ratios(phases: dict[str, Any]) -> dict[str, Any]:
    """The controller's figures over native's, per phase that ran both."""
    out: dict[str, Any] = {}
    for name in ("menu", "flow", "latency"):
        both = phases.get(name, {})
        if "hotline" in both and "native" in both:
            ours, theirs = both["hotline"], both["native"]
            out[name] = {
                "cpu_per_call": _ratio(_per_call(ours), _per_call(theirs)),
                "conversations": _ratio(
                    ours["max_simultaneous_conversations"], theirs["max_simultaneous_conversations"]
                ),
            }
    rounds = phases.get("flow", {}).get("rounds", [])
    if rounds and all("hotline" in r and "native" in r for r in rounds):
        each = [_ratio(_per_call(r["hotline"]), _per_call(r["native"])) for r in rounds]
        known = [x for x in each if x is not None]
        ours = sum(_per_call(r["hotline"]) for r in rounds)
        theirs = sum(_per_call(r["native"]) for r in rounds)
        out["flow_rounds"] = {
            "cpu_per_call_each_round": each,
            "cpu_per_call_median": statistics.median(known) if known else None,
            "cpu_per_call_pooled": _ratio(ours, theirs),
            "failed": {side: [r[side]["failed"] for r in rounds] for side in ("hotline", "native")},
        }
    ramp = phases.get("ramp", {})
    if "hotline" in ramp and "native" in ramp:
        ours, theirs = (ramp[f]["highest_rate_without_failure"] for f in ("hotline", "native"))
        if ours and theirs:
            out["ramp"] = {
                "rate": _ratio(ours["rate"], theirs["rate"]),
                "cpu_per_call": _ratio(_per_call(ours), _per_call(theirs)),
                "conversations": _ratio(
                    ours["max_simultaneous_conversations"], theirs["max_simultaneous_conversations"]
                ),
            }
    return out


def summary(phases: dict[str, Any]) -> dict[str, Any]:
    """The figures the README quotes, flat."""
    out: dict[str, Any] = {}
    for name in ("menu", "latency", "flow"):
        for flow, r in phases.get(name, {}).items():
            if flow == "rounds":
                continue
            entry = {
                "rate": r["rate"],
                "calls": r["calls"],
                "failed": r["failed"],
                "max_simultaneous_calls": r["max_simultaneous_calls"],
                "cpu_ms_per_call_asterisk_plus_controller": round(_per_call(r), 2),
                "cores": r["cores"],
            }
            for key in ("first_prompt_ms", "recordings", "surveys", "messages_per_call"):
                if key in r:
                    entry[key] = r[key]
            if name == "flow":
                entry["max_simultaneous_conversations"] = r["max_simultaneous_conversations"]
            out[f"{name}_{flow}"] = entry
    for flow, result in phases.get("ramp", {}).items():
        best = result["highest_rate_without_failure"]
        out[f"ramp_{flow}"] = {
            "rates_tried": [s["rate"] for s in result["steps"]],
            "failed_per_rate": [s["failed"] for s in result["steps"]],
            "highest_rate_without_failure": best["rate"] if best else None,
            "cpu_ms_per_call_asterisk_plus_controller": round(_per_call(best), 2) if best else None,
            "max_simultaneous_conversations": best["max_simultaneous_conversations"]
            if best
            else None,
            "recordings": best.get("recordings") if best else None,
        }
    if "soak" in phases:
        out["soak"] = {
            "calls": phases["soak"]["calls"],
            "failed": phases["soak"]["failed"],
            "controller_rss_mb": phases["soak"]["controller_rss_mb"],
        }
    out["ratios"] = ratios(phases)
    return out
