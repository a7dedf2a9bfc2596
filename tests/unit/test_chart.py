"""The Helm chart's ClusterRole covers everything the operator reads and writes."""

from __future__ import annotations

from pathlib import Path

import yaml

from microapp_operator.runtime import kube

ROOT = Path(__file__).resolve().parents[2]
CHILD_VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}


def _rules() -> list[dict]:
    role = yaml.safe_load((ROOT / "charts/microapp-operator/templates/clusterrole.yaml").read_text())
    return role["rules"]


def allowed(group: str, resource: str) -> set[str]:
    verbs: set[str] = set()
    for rule in _rules():
        if group in rule["apiGroups"] and resource in rule["resources"]:
            verbs |= set(rule["verbs"])
    return verbs


def test_every_child_kind_can_be_applied_watched_and_pruned() -> None:
    for res in kube.RESOURCES.values():
        if res.group == "microapp.dev" or res.kind == "Event":
            continue
        assert CHILD_VERBS <= allowed(res.group, res.plural), (res.kind, res.api_version)


def test_microapps_verbs() -> None:
    # update/patch only so that it may grant them to editors (RBAC escalation prevention); the
    # operator itself never writes a MicroApp's spec or metadata (tests/integration/test_operator.py).
    # delete: the lifecycle's onRetire: Delete.
    assert allowed("microapp.dev", "microapps") == {"get", "list", "watch", "update", "patch", "delete"}
    assert {"patch"} <= allowed("microapp.dev", "microapps/status")
    assert "create" in allowed("", "events")


def test_webhook_configuration_can_be_managed() -> None:
    assert {"create", "patch"} <= allowed("admissionregistration.k8s.io", "validatingwebhookconfigurations")


def test_operator_holds_every_permission_it_grants() -> None:
    """RBAC refuses to let anyone create a Role granting more than they hold (no escalate verb)."""
    from microapp_operator.core import catalog, plan

    app = {"metadata": {"name": "a", "namespace": "n", "uid": "u",
                        "annotations": {"microapp.dev/editors": "user:bob", "microapp.dev/viewers": "user:eve"}},
           "spec": {"template": "web-service", "image": "r/x:1", "expose": "public", "host": "a.example.com",
                    "parameters": {"autoscale": {"max": 3, "min": 2}}}}
    roles = [o for o in plan.desired(plan.parse(app), catalog.builtin()).objects if o["kind"] == "Role"]
    assert {r["metadata"]["name"] for r in roles} == {"a-editor", "a-viewer"}
    for role in roles:
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    assert set(rule["verbs"]) <= allowed(group, resource), (group, resource, rule["verbs"])
    for rule in _rules():
        assert not {"escalate", "bind", "impersonate", "*"} & set(rule["verbs"]), rule
        assert "secrets" not in rule["resources"], rule
