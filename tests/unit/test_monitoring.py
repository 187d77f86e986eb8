"""The shipped alert rules and dashboard use only metrics the controller exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from hotline import REPO_ROOT
from hotline.web import Metrics

ALERTS = REPO_ROOT / "monitoring" / "alerts.yml"
DASHBOARD = REPO_ROOT / "monitoring" / "grafana-dashboard.json"
PROMETHEUS_OWN = {"up"}  # set by Prometheus for every scrape target


def exported_names() -> set[str]:
    """Sample names as Prometheus sees them (counters get `_total`)."""
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name + "_total" if family.type == "counter" else family.name)
    return names


def used_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (ours are all hotline_*)."""
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    ours = set(re.findall(r"\bhotline_[a-z_]+\b", without_labels))
    return ours | ({"up"} & set(re.findall(r"\b[a-z_]+\b(?=\s*(?:\{|==))", expr)))


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_every_metric_an_alert_uses_is_exported() -> None:
    exported = exported_names() | PROMETHEUS_OWN
    for rule in rules():
        used = used_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)


def test_the_alerts_cover_what_ops_must_hear_about() -> None:
    assert {r["alert"] for r in rules()} >= {
        "HotlineControllerDown",
        "HotlineAsteriskDown",
        "HotlineRestartLoop",
        "HotlineNoAgentInHours",
        "HotlineAnswerRateLow",
        "HotlineCallsNotRecorded",
        "HotlineJournalBacklogGrowing",
        "HotlineDiskFilling",
        "HotlineCalendarEnding",
    }
    for rule in rules():
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"]


def test_every_dashboard_panel_shows_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_names() | PROMETHEUS_OWN
    shown: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = used_names(target["expr"])
            assert used and used <= exported, (panel["title"], used - exported)
            shown |= used
    # The dashboard shows the figures the alerts watch.
    assert set().union(*(used_names(r["expr"]) for r in rules())) <= shown


def test_promtool_accepts_the_rules_and_they_fire_on_what_they_describe() -> None:
    """monitoring/alerts_test.yml feeds series to the rules (promtool's own rule tests)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package `prometheus`, 19 MB: optional)")
    for command in (["check", "rules", ALERTS.name], ["test", "rules", "alerts_test.yml"]):
        run = subprocess.run(
            [promtool, *command],
            cwd=ALERTS.parent,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stdout + run.stderr
