"""The operator's Prometheus metrics (prometheus-client), names per Prometheus conventions.

Defined here, below the runtime that updates them; ``entry/endpoints.py`` serves them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

app_cost = Gauge(
    "microapp_estimated_monthly_cost",
    "Estimated monthly cost of a MicroApp (policy currency).",
    ["namespace", "name", "team"],
    registry=REGISTRY,
)
team_committed = Gauge(
    "microapp_team_budget_committed",
    "Sum of the estimated monthly costs of a team's apps.",
    ["team"],
    registry=REGISTRY,
)
team_limit = Gauge("microapp_team_budget_limit", "Monthly limit of a team's TeamBudget.", ["team"], registry=REGISTRY)
admission_denials = Counter(
    "microapp_admission_denials_total", "MicroApp applies refused at admission.", ["reason"], registry=REGISTRY
)
admission_requests = Counter(
    "microapp_admission_requests_total",
    "MicroApp admission reviews answered.",
    ["operation", "allowed"],
    registry=REGISTRY,
)
admission_duration = Histogram(
    "microapp_admission_duration_seconds",
    "Time to answer a MicroApp admission review.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
    registry=REGISTRY,
)
reconcile_duration = Histogram(
    "microapp_reconcile_duration_seconds",
    "Time to reconcile one MicroApp.",
    ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
    registry=REGISTRY,
)
reconcile_skipped = Counter(
    "microapp_reconciles_skipped_total",
    "Reconciles skipped: nothing the decision reads changed since one that changed nothing.",
    registry=REGISTRY,
)
events_dropped = Counter(
    "microapp_events_dropped_total",
    "Events dropped: the backlog waiting for a saturated API server was full (the oldest go).",
    registry=REGISTRY,
)
reconcile_errors = Counter(
    "microapp_reconcile_errors_total", "Reconciles that failed, by kind of error.", ["kind"], registry=REGISTRY
)
phase_transitions = Counter(
    "microapp_phase_transitions_total",
    "MicroApp phase changes (lifecycle transitions).",
    ["from_phase", "to_phase"],
    registry=REGISTRY,
)
saved_cost = Gauge(
    "microapp_lifecycle_saved_monthly_cost",
    "Monthly cost an asleep or retired MicroApp does not incur (its awake estimate minus its current one).",
    ["namespace", "name", "team"],
    registry=REGISTRY,
)
notifications = Counter(
    "microapp_lifecycle_notifications_total", "Retirement notices posted, by result.", ["result"], registry=REGISTRY
)
lifecycle_transitions = Counter(
    "microapp_lifecycle_transitions_total", "Lifecycle states entered.", ["state"], registry=REGISTRY
)
activity_source_up = Gauge(
    "microapp_activity_source_up",
    "1 while the traffic activity source answers (0: apps are not idled).",
    registry=REGISTRY,
)
shard_namespaces = Gauge(
    "microapp_shard_namespaces",
    "Namespaces this shard holds (held) or is waiting for another shard to release (waiting); 0 when not sharded.",
    ["state"],
    registry=REGISTRY,
)
watch_reconnects = Counter(
    "microapp_watch_reconnects_total", "Child watch streams re-established.", ["kind"], registry=REGISTRY
)


class AppsCollector(Collector):
    """``microapp_apps{phase,team}``, computed at scrape time from the operator's state."""

    def __init__(self, source: Callable[[], Iterable[tuple[str, str]]]) -> None:
        self.source = source

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("microapp_apps", "MicroApps by phase and team.", labels=["phase", "team"])
        counts: dict[tuple[str, str], int] = {}
        for key in self.source():
            counts[key] = counts.get(key, 0) + 1
        for (phase, team), n in sorted(counts.items()):
            family.add_metric([phase, team], n)
        yield family
