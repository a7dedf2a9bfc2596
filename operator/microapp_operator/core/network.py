"""A NetworkPolicy per app (pure).

Ingress only from Pods of the app's own namespace, plus the ingress controller's namespace
for ``expose: public``. Egress is open, except for teams marked ``sandbox``: then DNS and the
telemetry endpoint only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from ..api import types as api

DEFAULT_INGRESS_NAMESPACE = "ingress-nginx"
NS_LABEL = "kubernetes.io/metadata.name"


def policy(
    *,
    app: str,
    namespace: str,
    public: bool,
    sandbox: bool,
    ingress_namespace: str | None,
    telemetry_endpoint: str | None,
) -> dict[str, Any]:
    sources: list[dict[str, Any]] = [{"podSelector": {}}]  # same namespace
    if public:
        sources.append(
            {"namespaceSelector": {"matchLabels": {NS_LABEL: ingress_namespace or DEFAULT_INGRESS_NAMESPACE}}}
        )
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": {api.NAME_LABEL: app}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": sources}],
    }
    if sandbox:
        spec["policyTypes"] = ["Ingress", "Egress"]
        egress: list[dict[str, Any]] = [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {NS_LABEL: "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }
        ]
        target = _endpoint(telemetry_endpoint)
        if target:
            ns, port = target
            egress.append(
                {
                    "to": [{"namespaceSelector": {"matchLabels": {NS_LABEL: ns}}}],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            )
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": app, "namespace": namespace},
        "spec": spec,
    }


def _endpoint(url: str | None) -> tuple[str, int] | None:
    """(namespace, port) of a cluster Service URL such as http://otel-gateway.observability:4317."""
    if not url:
        return None
    parsed = urlparse(url)
    parts = (parsed.hostname or "").split(".")
    if len(parts) < 2:
        return None
    return parts[1], parsed.port or (443 if parsed.scheme == "https" else 80)
