"""Telemetry on the real control plane: sidecar, env, ConfigMap, scraping, PodMonitors."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT, eventually, get_json, kubectl, microapp, policy_fields

PODMONITOR_CRD = ROOT / "tests" / "fixtures" / "crds" / "monitoring.coreos.com_podmonitors.yaml"


def observed(namespace: str, name: str) -> None:
    kubectl("wait", "--for=condition=Ready", "--timeout=90s", "-n", namespace, f"mapp/{name}", timeout=100)


def test_web_service_gets_sidecar_env_config_and_scraping_under_restricted(operator: object, namespace: str) -> None:
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    kubectl("apply", "-f", "-", input=microapp("otel", namespace, replicas=2, telemetry={"enabled": True}))
    observed(namespace, "otel")
    template = get_json("deployment", "otel", "-n", namespace)["spec"]["template"]
    app, sidecar = template["spec"]["containers"]
    assert sidecar["name"] == "otel-collector" and sidecar["image"] == "otel/opentelemetry-collector:0.148.0"
    env = {e["name"]: e["value"] for e in app["env"]}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4317" and env["OTEL_SERVICE_NAME"] == "otel"
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == f"k8s.namespace.name={namespace},microapp.team=qa"
    config = get_json("configmap", "otel-otel", "-n", namespace)["data"]["config.yaml"]
    assert "otel-gateway.observability:4317" in config
    annotations = template["metadata"]["annotations"]
    podmonitors = kubectl("get", "crd", "podmonitors.monitoring.coreos.com", check=False).returncode == 0
    if not podmonitors:
        assert annotations["prometheus.io/scrape"] == "true"
    assert "microapp.dev/otel-config-hash" in annotations
    pods = get_json("pods", "-n", namespace, "-l", "microapp.dev/name=otel")["items"]
    assert len(pods) == 2 and all(len(p["spec"]["containers"]) == 2 for p in pods)  # admitted under restricted
    assert get_json("configmap", "otel-dashboard", "-n", namespace)["metadata"]["labels"]["grafana_dashboard"] == "1"
    cost = get_json("mapp", "otel", "-n", namespace)["status"]["cost"]["estimatedMonthly"]
    assert cost == "8.08"  # 2 x (100m + 128Mi app: 2.69, 50m + 64Mi sidecar: 1.35): the sidecar is counted


def test_installing_podmonitor_crd_switches_existing_apps(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("scraped", namespace, telemetry={"enabled": True}))
    observed(namespace, "scraped")
    kubectl("apply", "--server-side", "-f", str(PODMONITOR_CRD))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(PODMONITOR_CRD))
    pm = eventually(
        lambda: get_json("podmonitor", "scraped", "-n", namespace),
        timeout=60,
        what="a PodMonitor for the running app, without restarting the operator",
    )
    assert pm["spec"]["selector"] == {"matchLabels": {"microapp.dev/name": "scraped"}}
    eventually(
        lambda: (
            "prometheus.io/scrape"
            not in get_json("deployment", "scraped", "-n", namespace)["spec"]["template"]["metadata"]["annotations"]
        ),
        what="scrape annotations replaced",
    )


@pytest.fixture
def telemetry_required() -> object:
    def set_required(value: bool) -> None:
        policy_fields("test-telemetry", {"telemetry": {"required": value}}, force=True)

    set_required(True)
    yield
    set_required(False)


def test_opting_out_is_refused_when_the_policy_requires_telemetry(
    operator: object, namespace: str, telemetry_required: object
) -> None:
    def refused() -> str:
        proc = kubectl("apply", "-f", "-", input=microapp("quiet", namespace), check=False)
        return proc.stderr if proc.returncode != 0 else ""

    err = eventually(refused, what="the policy change to reach the operator")
    assert (
        "- spec.telemetry.enabled: false is not allowed: the platform requires telemetry for every app; "
        "remove spec.telemetry or set enabled: true"
    ) in err


def _metrics(operator: object) -> dict[tuple[str, tuple], float]:
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5).read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict, metric_name: str, **labels: str) -> float:
    return sum(
        v
        for (n, lab), v in samples.items()
        if n == metric_name and all(dict(lab).get(k) == x for k, x in labels.items())
    )


def test_operator_metrics_follow_apps(operator: object, namespace: str, policy_team: object) -> None:
    import urllib.request
    import uuid

    assert urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/readyz", timeout=5).status == 200
    team = f"m{uuid.uuid4().hex[:8]}"  # its own team: other tests' apps come and go meanwhile
    policy_team(team, namespaces=[namespace])  # type: ignore[operator]
    before = _metrics(operator)
    body = microapp("counted", namespace, team=team, replicas=2)
    kubectl("apply", "-f", "-", input=body)
    observed(namespace, "counted")

    def settled() -> dict:
        m = _metrics(operator)
        return (
            m
            if (
                _value(m, "microapp_estimated_monthly_cost", namespace=namespace, name="counted")
                and _value(m, "microapp_team_budget_committed", team=team)
            )
            else {}
        )

    after = eventually(settled, what="the app's cost series")
    assert _value(after, "microapp_estimated_monthly_cost", namespace=namespace, name="counted", team=team) == 5.39
    assert _value(after, "microapp_team_budget_committed", team=team) == 5.39
    assert _value(after, "microapp_reconcile_duration_seconds_count") > _value(
        before, "microapp_reconcile_duration_seconds_count"
    )
    assert _value(before, "microapp_apps", team=team) == 0
    assert _value(after, "microapp_apps", phase="Running", team=team) == 1
    assert _value(after, "microapp_phase_transitions_total", to_phase="Running") >= 1
    assert _value(after, "microapp_admission_requests_total", operation="CREATE", allowed="true") >= 1
    assert _value(after, "microapp_admission_duration_seconds_count") >= 1
    kubectl("delete", "mapp", "counted", "-n", namespace)

    def removed() -> dict:
        m = _metrics(operator)
        return {} if _value(m, "microapp_estimated_monthly_cost", namespace=namespace, name="counted") else m

    gone = eventually(removed, what="series removed")
    assert _value(gone, "microapp_apps", team=team) == 0


def test_json_logs(crds: None, namespace: str, tmp_path: object) -> None:
    import json
    import os
    import subprocess
    import sys
    import time

    from tests.helpers import KUBECONFIG

    log = tmp_path / "json.log"  # type: ignore[operator]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "microapp_operator",
                "run",
                "--log-format",
                "json",
                "--no-webhook",
                "--metrics-port",
                "0",
                "--liveness",
                "",
                "--namespace",
                namespace,
            ],
            env={**os.environ, "KUBECONFIG": str(KUBECONFIG)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "initial sync done" not in log.read_text() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(line["message"].startswith("initial sync done") for line in lines)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
