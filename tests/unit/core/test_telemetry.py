"""Telemetry wiring: collector sidecar, env, config hash, scraping, dashboards."""

from __future__ import annotations

import json

import pytest
import yaml

from microapp_operator.api import types as api
from microapp_operator.core import catalog, plan
from tests.factories import microapp

POLICY = api.PlatformPolicySpec.model_validate(
    {
        "telemetry": {
            "sidecarImage": "otel/opentelemetry-collector:0.148.0",
            "endpoint": "http://otel-gateway.observability:4317",
            "resources": {"cpu": "50m", "memory": "64Mi"},
        }
    }
)


def render(podmonitor: bool = False, policy: api.PlatformPolicySpec = POLICY, **spec: object) -> dict[str, dict]:
    fields = {"template": "web-service", "image": "registry.internal/shop:1", **spec}
    app = microapp("shop", "team-a", owner=None, team="a", uid="u", typed=False, **fields)
    return {
        f"{o['kind']}/{o['metadata']['name']}": o
        for o in plan.desired(plan.parse(app), catalog.builtin(), policy=policy, podmonitor=podmonitor).objects
    }


def test_sidecar_env_config_and_annotations() -> None:
    objs = render()
    pod = objs["Deployment/shop"]["spec"]["template"]
    app, sidecar = pod["spec"]["containers"]
    assert sidecar["name"] == "otel-collector" and sidecar["image"] == "otel/opentelemetry-collector:0.148.0"
    assert sidecar["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}
    assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True  # pod security defaults apply
    env = {e["name"]: e["value"] for e in app["env"]}
    assert env == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",  # the sidecar's address (localhost may be ::1)
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",  # the port's protocol, whatever the SDK's default
        "OTEL_SERVICE_NAME": "shop",
        "OTEL_RESOURCE_ATTRIBUTES": "k8s.namespace.name=team-a,microapp.team=a",
        "OTEL_SEMCONV_STABILITY_OPT_IN": "http",  # http.server.request.duration, what the activity query counts
    }
    config = yaml.safe_load(objs["ConfigMap/shop-otel"]["data"]["config.yaml"])
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "127.0.0.1:4317"
    assert config["exporters"]["otlp_grpc"] == {
        "endpoint": "otel-gateway.observability:4317",
        "tls": {"insecure": True},
    }
    assert {a["key"] for a in config["processors"]["resource"]["attributes"]} == {
        "service.name",
        "k8s.namespace.name",
        "microapp.team",
    }
    ann = pod["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == "8080"
    assert len(ann["microapp.dev/otel-config-hash"]) == 16


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_an_app_that_chooses_otlp_http_is_sent_to_the_http_port(protocol: str) -> None:
    objs = render(env=[{"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": protocol}])
    app = objs["Deployment/shop"]["spec"]["template"]["spec"]["containers"][0]
    env = [(e["name"], e["value"]) for e in app["env"] if e["name"].startswith("OTEL_EXPORTER")]
    assert env == [("OTEL_EXPORTER_OTLP_PROTOCOL", protocol), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]


def test_config_change_changes_the_hash() -> None:
    other = POLICY.model_copy(update={"telemetry": api.PolicyTelemetry(endpoint="http://otel.elsewhere:4317")})
    a = render()["Deployment/shop"]["spec"]["template"]["metadata"]["annotations"]["microapp.dev/otel-config-hash"]
    b = render(policy=other)["Deployment/shop"]["spec"]["template"]["metadata"]["annotations"][
        "microapp.dev/otel-config-hash"
    ]
    assert a != b


def test_podmonitor_replaces_scrape_annotations() -> None:
    objs = render(podmonitor=True)
    assert "prometheus.io/scrape" not in objs["Deployment/shop"]["spec"]["template"]["metadata"]["annotations"]
    pm = objs["PodMonitor/shop"]
    assert pm["spec"]["selector"] == {"matchLabels": {"microapp.dev/name": "shop"}}
    assert pm["metadata"]["ownerReferences"][0]["uid"] == "u"


def test_serverless_gets_env_not_a_sidecar() -> None:
    objs = render(template="serverless-function")
    [container] = objs["Service/shop"]["spec"]["template"]["spec"]["containers"]
    assert {e["name"]: e["value"] for e in container["env"]}[
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    ] == "http://otel-gateway.observability:4317"
    assert "ConfigMap/shop-otel" not in objs


def test_cronjob_uses_a_native_sidecar() -> None:
    objs = render(template="scheduled-job", parameters={"schedule": "@daily"})
    pod = objs["CronJob/shop"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [init] = pod["initContainers"]
    assert init["name"] == "otel-collector" and init["restartPolicy"] == "Always"


def test_opt_out() -> None:
    objs = render(telemetry={"enabled": False})
    assert len(objs["Deployment/shop"]["spec"]["template"]["spec"]["containers"]) == 1
    assert "ConfigMap/shop-otel" not in objs and "ConfigMap/shop-dashboard" not in objs


def test_dashboard_is_valid_grafana_json() -> None:
    cm = render()["ConfigMap/shop-dashboard"]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(cm["data"]["shop.json"])
    titles = [p["title"] for p in board["panels"]]
    assert titles == [
        "Request rate",
        "Error ratio",
        "Latency p95",
        "CPU used vs requested",
        "Memory used vs requested",
        "Estimated monthly cost",
    ]
    assert all(p["targets"][0]["expr"] for p in board["panels"])


@pytest.mark.parametrize("required,allowed", [(True, False), (False, True)])
def test_required_telemetry_cannot_be_turned_off(required: bool, allowed: bool) -> None:
    from microapp_operator.core import guardrails

    policy = api.PlatformPolicySpec.model_validate({"telemetry": {"required": required}})
    app = {
        "metadata": {
            "name": "a",
            "namespace": "n",
            "annotations": {"microapp.dev/owner": "o", "microapp.dev/team": "t"},
        },
        "spec": {"template": "worker", "image": "registry.internal/a:1", "telemetry": {"enabled": False}},
    }
    found = [v for v in guardrails.evaluate_app(plan.AppMeta.of(app), plan.parse(app).spec, policy) if "telemetry" in v]
    assert (found == []) is allowed
