"""Packed objects: what goes in comes out, each read a fresh copy, kept smaller than its JSON."""

from __future__ import annotations

import orjson

from microapp_operator.runtime.packed import Packed


def deployment(i: int) -> dict:
    container = {
        "name": "app",
        "image": f"registry.internal/t/app-{i}:1.0",
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "resources": {"limits": {"cpu": "200m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
    }
    labels = {
        "app.kubernetes.io/name": f"app-{i}",
        "app.kubernetes.io/managed-by": "microapp-operator",
        "microapp.dev/name": f"app-{i}",
        "microapp.dev/team": "alpha",
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"app-{i}", "namespace": "ns", "resourceVersion": str(1000 + i), "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"microapp.dev/name": f"app-{i}"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [container],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                },
            },
        },
    }


def test_what_is_packed_comes_back_equal_and_each_read_is_a_copy() -> None:
    obj = deployment(1)
    packed = Packed.of(obj)
    assert packed.rv == "1001"
    first = packed.unpack()
    assert first == obj
    first["spec"]["replicas"] = 9
    assert packed.unpack()["spec"]["replicas"] == 1


def test_a_packed_object_is_well_under_its_json() -> None:
    """The point of packing: thousands of kept children take a fraction of their JSON."""
    obj = deployment(2)
    assert len(Packed.of(obj).data) < 0.6 * len(orjson.dumps(obj))
