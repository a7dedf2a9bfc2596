"""Never touch what is not ours: a MicroApp can neither take over nor delete an object it did
not create, for every kind the templates and the operator render.

Two paths, each on the real API server, webhook and garbage collector:
* admission: creating a MicroApp whose rendered objects collide with existing ones is refused;
* reconcile: an app changed to render a name someone else already uses stalls with
  NameConflict, the foreign object is unchanged, and deleting the app leaves it in place.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import eventually, get_json, kubectl, microapp

POD = {"containers": [{"name": "c", "image": "registry.internal/foreign:1"}]}
LABELS = {"app": "foreign"}


def foreign(kind: str, name: str) -> dict[str, Any]:
    """A minimal valid object of ``kind``, as another team or tool would have created it."""
    api, spec = {
        "Deployment": (
            "apps/v1",
            {"spec": {"selector": {"matchLabels": LABELS}, "template": {"metadata": {"labels": LABELS}, "spec": POD}}},
        ),
        "Service": ("v1", {"spec": {"ports": [{"port": 80}]}}),
        "ServiceAccount": ("v1", {}),
        "ConfigMap": ("v1", {"data": {"owner": "someone else"}}),
        "Role": ("rbac.authorization.k8s.io/v1", {"rules": []}),
        "RoleBinding": (
            "rbac.authorization.k8s.io/v1",
            {
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "User", "name": "someone", "apiGroup": "rbac.authorization.k8s.io"}],
            },
        ),
        "NetworkPolicy": ("networking.k8s.io/v1", {"spec": {"podSelector": {}}}),
        "Ingress": (
            "networking.k8s.io/v1",
            {"spec": {"defaultBackend": {"service": {"name": "x", "port": {"number": 80}}}}},
        ),
        "CronJob": (
            "batch/v1",
            {
                "spec": {
                    "schedule": "@daily",
                    "jobTemplate": {"spec": {"template": {"spec": {**POD, "restartPolicy": "Never"}}}},
                }
            },
        ),
        "HorizontalPodAutoscaler": (
            "autoscaling/v2",
            {
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
                    "maxReplicas": 2,
                }
            },
        ),
        "PodDisruptionBudget": ("policy/v1", {"spec": {"selector": {"matchLabels": LABELS}, "minAvailable": 1}}),
    }[kind]
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "labels": {"owner": "another-team"}}, **spec}


# kind -> (name of the object the app renders, spec that renders it, spec that does not: None if always rendered)
EDITORS = {"microapp.dev/editors": "user:bob@example.com"}
CASES: dict[str, tuple[str, dict, dict | None]] = {
    "Deployment": ("{app}", {}, {"template": "scheduled-job", "parameters": {"schedule": "@daily"}}),
    "Service": ("{app}", {"expose": "internal"}, {"expose": "none"}),
    "ServiceAccount": ("{app}", {}, None),
    "ConfigMap": ("{app}-otel", {"telemetry": {"enabled": True}}, {"telemetry": {"enabled": False}}),
    "Role": ("{app}-editor", {"annotations": EDITORS}, {}),
    "RoleBinding": ("{app}-editors", {"annotations": EDITORS}, {}),
    "NetworkPolicy": ("{app}", {}, None),
    "Ingress": ("{app}", {"expose": "public", "host": "own.example.com"}, {"expose": "internal"}),
    "CronJob": ("{app}", {"template": "scheduled-job", "parameters": {"schedule": "@daily"}}, {}),
    "HorizontalPodAutoscaler": ("{app}", {"parameters": {"autoscale": {"max": 3}}}, {}),
    "PodDisruptionBudget": ("{app}", {"replicas": 2}, {"replicas": 1}),
}
PLURAL = {
    "Deployment": "deployments",
    "Service": "services",
    "ServiceAccount": "serviceaccounts",
    "ConfigMap": "configmaps",
    "Role": "roles",
    "RoleBinding": "rolebindings",
    "NetworkPolicy": "networkpolicies",
    "Ingress": "ingresses",
    "CronJob": "cronjobs",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
}


def app_body(name: str, namespace: str, spec: dict) -> dict:
    spec = dict(spec)
    return microapp(name, namespace, annotations=spec.pop("annotations", {}), **spec)


def snapshot(kind: str, name: str, namespace: str) -> dict:
    """What the operator must never change: identity, owners, labels, content, and whether it manages
    any field. (Not resourceVersion or annotations: the deployment controller updates a foreign
    Deployment's status and revision annotation on its own.)"""
    obj = json.loads(kubectl("get", PLURAL[kind], name, "-n", namespace, "-o", "json", "--show-managed-fields").stdout)
    meta = obj["metadata"]
    return {
        "uid": meta["uid"],
        "ownerReferences": meta.get("ownerReferences"),
        "labels": meta.get("labels"),
        "content": {k: v for k, v in obj.items() if k not in ("metadata", "status")},
        "touched by the operator": any(
            m.get("manager") == "microapp-operator" for m in meta.get("managedFields") or []
        ),
    }


@pytest.mark.parametrize("kind", CASES, ids=CASES)
def test_creating_an_app_over_a_foreign_object_is_refused(operator: object, namespace: str, kind: str) -> None:
    name_tpl, spec, _ = CASES[kind]
    app = f"own{kind.lower()[:10]}"
    kubectl("apply", "-n", namespace, "-f", "-", input=foreign(kind, name_tpl.format(app=app)))
    before = snapshot(kind, name_tpl.format(app=app), namespace)
    proc = kubectl("apply", "-f", "-", input=app_body(app, namespace, spec), check=False)
    assert proc.returncode != 0, proc.stdout
    assert (
        f"{kind} '{name_tpl.format(app=app)}' (" in proc.stderr
        and "already exists and is not managed by this MicroApp" in proc.stderr
    ), proc.stderr
    assert "rename the MicroApp (metadata.name)" in proc.stderr
    assert kubectl("get", "mapp", app, "-n", namespace, check=False).returncode != 0
    assert snapshot(kind, name_tpl.format(app=app), namespace) == before


@pytest.mark.parametrize(
    "kind", [k for k, c in CASES.items() if c[2] is not None], ids=[k for k, c in CASES.items() if c[2] is not None]
)
def test_an_app_changed_onto_a_foreign_name_stalls_and_its_deletion_leaves_the_object(
    operator: object, namespace: str, kind: str
) -> None:
    name_tpl, spec, base = CASES[kind]
    app = f"rec{kind.lower()[:10]}"
    target = name_tpl.format(app=app)
    kubectl("apply", "-f", "-", input=app_body(app, namespace, base or {}))
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, f"mapp/{app}")
    kubectl("apply", "-n", namespace, "-f", "-", input=foreign(kind, target))
    before = snapshot(kind, target, namespace)
    kubectl("apply", "-f", "-", input=app_body(app, namespace, spec))

    def stalled() -> dict | None:
        conds = {c["type"]: c for c in get_json("mapp", app, "-n", namespace).get("status", {}).get("conditions", [])}
        return conds.get("Stalled") if conds.get("Stalled", {}).get("reason") == "NameConflict" else None

    cond = eventually(stalled, timeout=30, what=f"{app} to stall with NameConflict")
    assert cond["message"].startswith(f"{kind} '{target}' (")
    assert snapshot(kind, target, namespace) == before
    sa_uid = get_json("serviceaccounts", app, "-n", namespace)["metadata"]["uid"]  # one of the app's own
    kubectl("delete", "mapp", app, "-n", namespace, "--wait=true", "--timeout=60s")
    eventually(
        lambda: (
            kubectl("get", "serviceaccount", app, "-n", namespace, "-o", "jsonpath={.metadata.uid}", check=False).stdout
            != sa_uid
        ),
        timeout=60,
        what="the garbage collector to remove the app's own children",
    )
    assert snapshot(kind, target, namespace) == before


def test_the_ledger_story(operator: object, namespace: str) -> None:
    """The report's case: ServiceAccount ledger and ConfigMap ledger-otel exist; a worker named ledger
    with telemetry is applied. It is refused, naming both, and neither object changes."""
    for kind, name in (("ServiceAccount", "ledger"), ("ConfigMap", "ledger-otel")):
        kubectl("apply", "-n", namespace, "-f", "-", input=foreign(kind, name))
    before = [snapshot("ServiceAccount", "ledger", namespace), snapshot("ConfigMap", "ledger-otel", namespace)]
    proc = kubectl(
        "apply",
        "-f",
        "-",
        input=app_body("ledger", namespace, {"template": "worker", "telemetry": {"enabled": True}}),
        check=False,
    )
    assert proc.returncode != 0
    assert "ServiceAccount 'ledger' (v1)" in proc.stderr and "ConfigMap 'ledger-otel' (v1)" in proc.stderr
    assert get_json("configmap", "ledger-otel", "-n", namespace)["data"] == {"owner": "someone else"}
    assert [snapshot("ServiceAccount", "ledger", namespace), snapshot("ConfigMap", "ledger-otel", namespace)] == before
