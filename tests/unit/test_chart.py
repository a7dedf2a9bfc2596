"""The Helm chart's ClusterRole covers everything the operator reads and writes."""

from __future__ import annotations

from pathlib import Path

import yaml

from microapp_operator import kube

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


def test_microapps_are_read_only_except_status() -> None:
    assert allowed("microapp.dev", "microapps") == {"get", "list", "watch"}
    assert {"patch"} <= allowed("microapp.dev", "microapps/status")
    assert "create" in allowed("", "events")


def test_webhook_configuration_can_be_managed() -> None:
    assert {"create", "patch"} <= allowed("admissionregistration.k8s.io", "validatingwebhookconfigurations")
