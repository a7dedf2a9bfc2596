"""Telemetry on the real control plane: sidecar, env, ConfigMap, scraping, PodMonitors."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT, eventually, get_json, kubectl, microapp

PODMONITOR_CRD = ROOT / "tests" / "fixtures" / "crds" / "monitoring.coreos.com_podmonitors.yaml"


def observed(namespace: str, name: str) -> None:
    kubectl("wait", "--for=condition=Ready", "--timeout=90s", "-n", namespace, f"mapp/{name}", timeout=100)


def test_web_service_gets_sidecar_env_config_and_scraping_under_restricted(operator: object, namespace: str) -> None:
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    kubectl("apply", "-f", "-", input=microapp("otel", namespace, replicas=2, telemetry={"enabled": True}))
    observed(namespace, "otel")
    template = get_json("deployment", "otel", "-n", namespace)["spec"]["template"]
    app, sidecar = template["spec"]["containers"]
    assert sidecar["name"] == "otel-collector" and sidecar["image"] == "otel/opentelemetry-collector:0.115.0"
    env = {e["name"]: e["value"] for e in app["env"]}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317" and env["OTEL_SERVICE_NAME"] == "otel"
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
    pm = eventually(lambda: get_json("podmonitor", "scraped", "-n", namespace), timeout=60,
                    what="a PodMonitor for the running app, without restarting the operator")
    assert pm["spec"]["selector"] == {"matchLabels": {"microapp.dev/name": "scraped"}}
    eventually(lambda: "prometheus.io/scrape" not in get_json("deployment", "scraped", "-n", namespace)
               ["spec"]["template"]["metadata"]["annotations"], what="scrape annotations replaced")


@pytest.fixture
def telemetry_required() -> object:
    def set_required(value: bool) -> None:
        kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=test-telemetry", "-f", "-",
                input={"apiVersion": "microapp.dev/v1alpha1", "kind": "PlatformPolicy", "metadata": {"name": "default"},
                       "spec": {"telemetry": {"required": value}}})
    set_required(True)
    yield
    set_required(False)


def test_opting_out_is_refused_when_the_policy_requires_telemetry(operator: object, namespace: str,
                                                                 telemetry_required: object) -> None:
    def refused() -> str:
        proc = kubectl("apply", "-f", "-", input=microapp("quiet", namespace), check=False)
        return proc.stderr if proc.returncode != 0 else ""
    err = eventually(refused, what="the policy change to reach the operator")
    assert ("- spec.telemetry.enabled: false is not allowed: the platform requires telemetry for every app; "
            "remove spec.telemetry or set enabled: true") in err
