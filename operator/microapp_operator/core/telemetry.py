"""Telemetry wiring (pure): OpenTelemetry Collector sidecar, scrape annotations, dashboards.

Container runtimes get a collector sidecar per Pod (OTLP on localhost, resource attributes,
export to the policy's endpoint) configured by a rendered ConfigMap whose hash is a Pod
template annotation, so a config change rolls the Pods. Serverless (Knative) apps get the
same environment pointing straight at the policy's endpoint: their Pods scale to zero, and a
sidecar would add cold-start time and cost to every instance (documented choice).
Metrics: Prometheus scrape annotations, or a PodMonitor when the Prometheus Operator's CRDs
exist. A Grafana dashboard ConfigMap per app.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..api import types as api
from ..api.kinds import KNATIVE_SERVICE, PODMONITOR
from . import dashboards
from .memo import ByIdentity
from .rendered import pod_specs, pod_template_metadata

# The core distribution at the release hack/versions.env pins (OTELCOL_VERSION), the one the tests
# build and load every rendered configuration into; tests/unit/test_collector.py keeps them equal.
DEFAULT_IMAGE = "otel/opentelemetry-collector:0.148.0"
# The OTLP gRPC exporter's name since collector v0.144 (`otlp` is its deprecated alias).
EXPORTER = "otlp_grpc"
DEFAULT_ENDPOINT = "http://otel-gateway.observability:4317"
DEFAULT_RESOURCES = {"cpu": "50m", "memory": "64Mi"}
SIDECAR = "otel-collector"
LOOPBACK = "127.0.0.1"  # where the sidecar's OTLP receiver listens
HASH_ANNOTATION = "microapp.dev/otel-config-hash"


@dataclass(frozen=True)
class Settings:
    image: str
    endpoint: str
    resources: dict[str, Any]

    @classmethod
    def from_policy(cls, policy: api.PlatformPolicySpec) -> Settings:
        """Built once per policy object (every render asks)."""
        return _SETTINGS(policy)

    @classmethod
    def _from_policy(cls, policy: api.PlatformPolicySpec) -> Settings:
        t = policy.telemetry or api.PolicyTelemetry()
        res = t.resources.model_dump(exclude_none=True) if t.resources else DEFAULT_RESOURCES
        return cls(t.sidecar_image or DEFAULT_IMAGE, t.endpoint or DEFAULT_ENDPOINT, res)


_SETTINGS: ByIdentity[api.PlatformPolicySpec, Settings] = ByIdentity(Settings._from_policy, size=4)


def enabled(spec: api.MicroAppSpec) -> bool:
    return spec.telemetry is None or spec.telemetry.enabled is not False


def collector_config(*, app: str, namespace: str, team: str, endpoint: str) -> str:
    attrs = [
        {"key": "service.name", "value": app, "action": "upsert"},
        {"key": "k8s.namespace.name", "value": namespace, "action": "upsert"},
        {"key": "microapp.team", "value": team, "action": "upsert"},
    ]
    config = {
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": f"{LOOPBACK}:4317"}, "http": {"endpoint": f"{LOOPBACK}:4318"}}}
        },
        "processors": {"resource": {"attributes": attrs}, "batch": {}},
        "exporters": {
            EXPORTER: {"endpoint": endpoint.split("://", 1)[-1], "tls": {"insecure": endpoint.startswith("http://")}}
        },
        "service": {
            "pipelines": {
                p: {"receivers": ["otlp"], "processors": ["resource", "batch"], "exporters": [EXPORTER]}
                for p in ("traces", "metrics", "logs")
            }
        },
    }
    return json.dumps(config, sort_keys=True)  # JSON is YAML; PyYAML emits 10x slower, indent 5x


def app_env(*, app: str, namespace: str, team: str, endpoint: str, protocol: str = "grpc") -> list[dict[str, str]]:
    """The OpenTelemetry SDK's environment: where to send (with the protocol named, since SDKs differ in
    their default: most take http/protobuf on 4318, Python takes gRPC), who the app is, and the stable
    HTTP semantic conventions (http.server.request.duration, which the default activity query counts;
    Python's and JavaScript's instrumentations report the old http.server.duration without it)."""
    return [
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": endpoint},
        {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": protocol},
        {"name": "OTEL_SERVICE_NAME", "value": app},
        {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": f"k8s.namespace.name={namespace},microapp.team={team}"},
        {"name": "OTEL_SEMCONV_STABILITY_OPT_IN", "value": "http"},
    ]


def _endpoint(endpoint: str, protocol: str) -> str:
    """The endpoint for the protocol: OTLP/HTTP's port is 4318 where gRPC's is 4317."""
    if protocol.startswith("http/") and endpoint.endswith(":4317"):
        return endpoint[: -len("4317")] + "4318"
    return endpoint


def inject(
    docs: list[dict[str, Any]], *, app: str, namespace: str, team: str, port: int, settings: Settings, podmonitor: bool
) -> list[dict[str, Any]]:
    """Rendered documents plus telemetry, in place (before the rendered-object rules run)."""
    config = collector_config(app=app, namespace=namespace, team=team, endpoint=settings.endpoint)
    digest = hashlib.sha256(config.encode()).hexdigest()[:16]
    sidecar_used = False
    for obj in docs:
        serverless = (obj.get("apiVersion"), obj.get("kind")) == KNATIVE_SERVICE.key
        for _, pod in pod_specs(obj):
            # 127.0.0.1, not localhost: the sidecar listens on IPv4 loopback, and localhost may be ::1.
            target = settings.endpoint if serverless else f"http://{LOOPBACK}:4317"
            for c in pod.get("containers") or []:
                own = {e.get("name"): e.get("value") for e in c.get("env") or []}
                protocol = str(own.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc")  # the app's own choice wins
                env = app_env(
                    app=app, namespace=namespace, team=team, endpoint=_endpoint(target, protocol), protocol=protocol
                )
                c["env"] = [*(c.get("env") or []), *(e for e in env if e["name"] not in own)]
            meta = pod_template_metadata(obj)
            assert meta is not None  # pod_specs found a Pod template
            if not serverless:
                meta.setdefault("annotations", {})[HASH_ANNOTATION] = digest
                if not podmonitor:
                    meta["annotations"].update(
                        {
                            "prometheus.io/scrape": "true",
                            "prometheus.io/port": str(port),
                            "prometheus.io/path": "/metrics",
                        }
                    )
                if obj.get("kind") == "CronJob":  # a native sidecar, so the Job can complete
                    pod.setdefault("initContainers", []).append({**_sidecar(settings), "restartPolicy": "Always"})
                else:
                    pod.setdefault("containers", []).append(_sidecar(settings))
                pod.setdefault("volumes", []).append({"name": "otel-config", "configMap": {"name": f"{app}-otel"}})
                sidecar_used = True
    if sidecar_used:
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{app}-otel"},
                "data": {"config.yaml": config},
            }
        )
    return docs


def _sidecar(settings: Settings) -> dict[str, Any]:
    return {
        "name": SIDECAR,
        "image": settings.image,
        "args": ["--config=/etc/otel/config.yaml"],
        "resources": {
            "requests": dict(settings.resources),
            "limits": {"memory": settings.resources.get("memory", "64Mi")},
        },
        "volumeMounts": [{"name": "otel-config", "mountPath": "/etc/otel", "readOnly": True}],
    }


def pod_monitor(*, app: str, namespace: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": PODMONITOR.api_version,
        "kind": PODMONITOR.kind,
        "metadata": {"name": app, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {api.NAME_LABEL: app}},
            "podMetricsEndpoints": [{"targetPort": port, "path": "/metrics", "interval": "30s"}],
        },
    }


def dashboard_name(app: str) -> str:
    return f"{app}-dashboard"


def dashboard(*, app: str, namespace: str, team: str) -> dict[str, Any]:
    """A Grafana dashboard ConfigMap (sidecar-discovered through the grafana_dashboard label)."""
    # The labels the sidecar's resource attributes become at the gateway (manifests/telemetry/gateway.yaml),
    # on OpenTelemetry's stable HTTP server metric (see core/activity.py).
    sel = f'k8s_namespace_name="{namespace}", service_name="{app}"'
    pods = f'namespace="{namespace}", pod=~"{app}-.*"'
    requests = "http_server_request_duration_seconds_count"
    panels = [
        ("Request rate", f"sum(rate({requests}{{{sel}}}[5m]))", "reqps"),
        (
            "Error ratio",
            f'sum(rate({requests}{{{sel}, http_response_status_code=~"5.."}}[5m])) / '
            f"sum(rate({requests}{{{sel}}}[5m]))",
            "percentunit",
        ),
        (
            "Latency p95",
            f"histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{{{sel}}}[5m])))",
            "s",
        ),
        (
            "CPU used vs requested",
            f"sum(rate(container_cpu_usage_seconds_total{{{pods}}}[5m])) / "
            f'sum(kube_pod_container_resource_requests{{{pods}, resource="cpu"}})',
            "percentunit",
        ),
        (
            "Memory used vs requested",
            f"sum(container_memory_working_set_bytes{{{pods}}}) / "
            f'sum(kube_pod_container_resource_requests{{{pods}, resource="memory"}})',
            "percentunit",
        ),
        (
            "Estimated monthly cost",
            f'microapp_estimated_monthly_cost{{namespace="{namespace}", name="{app}"}}',
            "currencyUSD",
        ),
    ]
    board = {
        "title": f"MicroApp {namespace}/{app}",
        "uid": hashlib.sha1(f"{namespace}/{app}".encode()).hexdigest()[:12],
        "tags": ["microapp", f"team:{team}"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "panels": dashboards.grid([(title, "timeseries", unit, expr) for title, expr, unit in panels]),
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": dashboard_name(app), "labels": {"grafana_dashboard": "1"}},
        "data": {f"{app}.json": json.dumps(board, sort_keys=True)},
    }
