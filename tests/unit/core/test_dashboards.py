"""Platform and per-app dashboards: valid JSON, expected panels, queries on real metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from microapp_operator import metrics
from microapp_operator.core import catalog, dashboards, plan
from microapp_operator.entry import cli
from tests.factories import microapp

ROOT = Path(__file__).resolve().parents[3]
# Standard metrics of kube-state-metrics, cAdvisor, the Prometheus client, and the app convention
# (OpenTelemetry HTTP semantic conventions) that the per-app dashboard reads.
STANDARD = {
    "kube_pod_container_resource_requests",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "process_resident_memory_bytes",
    "http_server_request_duration_seconds_count",
    "http_server_request_duration_seconds_bucket",
}
PROMQL_WORDS = {"sum", "by", "rate", "histogram_quantile", "topk", "or", "le", "and", "on", "without", "irate"}


def exported() -> set[str]:
    names = set()
    for family in metrics.REGISTRY.collect():
        names |= {s.name for s in family.samples} | {family.name}
        if family.type == "histogram":
            names |= {f"{family.name}_bucket", f"{family.name}_count", f"{family.name}_sum"}
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names | {"microapp_apps"}


def metric_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr))
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    return {
        w
        for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges)
        if w not in PROMQL_WORDS and not w.isdigit() and "_" in w
    }


def app_board() -> dict:
    app = microapp(owner=None, team="t", uid="u", typed=False, template="web-service", image="r/x:1")
    cm = next(
        o for o in plan.desired(plan.parse(app), catalog.builtin()).objects if o["metadata"]["name"] == "shop-dashboard"
    )
    return json.loads(cm["data"]["shop.json"])


BOARDS = {
    "operator": dashboards.BOARDS["microapp-operator"],
    "showback": dashboards.BOARDS["microapp-showback"],
    "per-app": app_board(),
}


@pytest.mark.parametrize("board", BOARDS.values(), ids=BOARDS.keys())
def test_every_query_names_a_known_metric(board: dict) -> None:
    known = exported() | STANDARD
    for panel in board["panels"]:
        names = metric_names(panel["targets"][0]["expr"])
        assert names and names <= known, (panel["title"], names - known)


def test_expected_panels() -> None:
    assert {"Reconcile p95", "Admission p99", "Apps by phase", "Watch reconnects"} <= {
        p["title"] for p in BOARDS["operator"]["panels"]
    }
    assert {"Estimated monthly cost by team", "Budget used", "Idle apps"} <= {
        p["title"] for p in BOARDS["showback"]["panels"]
    }


def test_committed_dashboards_are_valid_and_current() -> None:
    for d in (ROOT / "charts/microapp-operator/files/dashboards", ROOT / "manifests/dashboards"):
        for path in d.glob("*.json"):
            assert json.loads(path.read_text())["panels"]
    assert (
        cli.main(
            [
                "crds",
                "--check",
                "-o",
                str(ROOT / "crds"),
                "--dashboards",
                str(ROOT / "charts/microapp-operator/files/dashboards"),
                "--dashboards",
                str(ROOT / "manifests/dashboards"),
            ]
        )
        == 0
    )
