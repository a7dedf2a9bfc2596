"""The operator's Prometheus metrics (prometheus-client), names per Prometheus conventions."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

app_cost = Gauge("microapp_estimated_monthly_cost", "Estimated monthly cost of a MicroApp (policy currency).",
                 ["namespace", "name", "team"], registry=REGISTRY)
team_committed = Gauge("microapp_team_budget_committed", "Sum of the estimated monthly costs of a team's apps.",
                       ["team"], registry=REGISTRY)
team_limit = Gauge("microapp_team_budget_limit", "Monthly limit of a team's TeamBudget.", ["team"], registry=REGISTRY)
admission_denials = Counter("microapp_admission_denials_total", "MicroApp applies refused at admission.",
                            ["reason"], registry=REGISTRY)
admission_requests = Counter("microapp_admission_requests_total", "MicroApp admission reviews answered.",
                             ["operation", "allowed"], registry=REGISTRY)


def serve(port: int, addr: str = "127.0.0.1") -> None:
    """Expose /metrics (a daemon thread; the event loop is never blocked by scrapes)."""
    start_http_server(port, addr=addr, registry=REGISTRY)
