"""The controller's Prometheus metrics (served by web.py; counted by the call path, which
therefore needs nothing else of the web layer)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from hotline.component_metrics import SupervisedParts


class ByLabels:
    """A labelled counter's children kept at hand: `labels()` resolves its arguments each
    time, and the ARI counters count every request and event of every call."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[tuple[str, ...], Counter] = {}

    def inc(self, *labels: str) -> None:
        """Add one to the child of these label values."""
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._counter.labels(*labels)
        child.inc()


class Metrics:
    """The controller's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.calls_total = Counter(
            "hotline_calls", "Calls that entered the controller", registry=self.registry
        )
        self.calls_adopted = Counter(
            "hotline_calls_adopted", "Calls adopted after a (re)connect", registry=self.registry
        )
        self.calls_active = Gauge(
            "hotline_calls_active", "Calls in progress", registry=self.registry
        )
        self.calls_refused = Counter(
            "hotline_calls_refused",
            "Calls refused on arrival (lines_busy: HOTLINE_MAX_CALLERS citizens on the line)",
            ["reason"],
            registry=r,
        )
        self.calls_refused.labels("lines_busy")  # 0 from the start: increase() sees the 1st
        self.max_callers = Gauge(
            "hotline_max_callers", "Citizens' calls taken in at once (the limit)", registry=r
        )
        self.ari_events = Counter(
            "hotline_ari_events", "ARI events received", ["type"], registry=self.registry
        )
        self.ari_requests = Counter(
            "hotline_ari_requests",
            "ARI REST requests sent, by method and resource (path without ids)",
            ["method", "resource"],
            registry=r,
        )
        self.count_ari_event = ByLabels(self.ari_events).inc
        self.count_ari_request = ByLabels(self.ari_requests).inc
        self.journal_backlog = Gauge(
            "hotline_journal_backlog", "Call facts not yet in PostgreSQL", registry=self.registry
        )
        # What the alert rules (monitoring/prometheus/alerts.yml) and the dashboard use.
        self.component_up = Gauge(
            "hotline_component_up",
            "1 when a part answers: ari, ami, database (set at scrape); asterisk, postgres,"
            " controller (set by the supervisor)",
            ["part"],
            registry=self.registry,
        )
        self.restarts = Counter(
            "hotline_restarts", "Restarts of a part by the supervisor", ["part"], registry=r
        )
        self.supervised: SupervisedParts | None = None  # where component_up and restarts come from
        self.agents_logged_in = Gauge(
            "hotline_agents_logged_in", "Agents logged in (any state but logged out)", registry=r
        )
        self.work_orders_escalated = Gauge(
            "hotline_work_orders_escalated",
            "Work orders on the 督办 list by reason (overdue, near_due, no_owner), last scan",
            ["reason"],
            registry=r,
        )
        self.in_hours = Gauge(
            "hotline_in_hours", "1 while people answer (dialplan/hours.yaml)", registry=r
        )
        self.calendar_days_left = Gauge(
            "hotline_calendar_days_left",
            "Days until the end of the last year whose holidays hours.yaml lists (0: not this"
            " year's)",
            registry=r,
        )
        self.calls_offered = Counter(
            "hotline_calls_offered", "Calls that entered a queue", ["queue"], registry=r
        )
        self.calls_answered = Counter(
            "hotline_calls_answered", "Calls an agent answered, per queue", ["queue"], registry=r
        )
        self.recordings_failed = Counter(
            "hotline_recordings_failed",
            "Agent calls whose recording did not start or whose file is missing",
            registry=r,
        )
        self.disk_free = Gauge(
            "hotline_disk_free_bytes",
            "Free bytes where recordings and the journal are written",
            ["path"],
            registry=r,
        )
        self.disk_size = Gauge(
            "hotline_disk_size_bytes", "Size of the same file systems", ["path"], registry=r
        )
        self.journal_spool_bytes = Gauge(
            "hotline_journal_spool_bytes",
            "Bytes of the journal's spool on disk (facts kept until PostgreSQL has them)",
            registry=self.registry,
        )
        self.journal_alarm = Gauge(
            "hotline_journal_spool_alarm",
            "1 while facts cannot all be kept on disk (spool full, disk low, write failed)",
            registry=self.registry,
        )
