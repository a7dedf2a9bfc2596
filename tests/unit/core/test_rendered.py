"""Rendered objects are checked and completed before anything is applied."""

from __future__ import annotations

import copy

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import rendered
from microapp_operator.core.render import RenderError


def deployment(**pod: object) -> dict:
    spec = {"containers": [{"name": "app", "image": "r/x:1"}], **pod}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app"},
        "spec": {
            "selector": {"matchLabels": {"microapp.dev/name": "app"}},
            "template": {"metadata": {"labels": {}}, "spec": spec},
        },
    }


def complete(*docs: dict, runtime: str = "container", security: api.TemplateSecurity | None = None) -> list[dict]:
    return rendered.complete(
        list(docs), app="app", namespace="ns", team="finance", runtime=runtime, security=security, uid="uid-1"
    )


def test_completes_namespace_labels_owner_and_pod_security() -> None:
    [obj] = complete(deployment())
    meta = obj["metadata"]
    assert meta["namespace"] == "ns"
    assert meta["labels"] == {
        "app.kubernetes.io/name": "app",
        "app.kubernetes.io/managed-by": "microapp-operator",
        "app.kubernetes.io/part-of": "app",
        "microapp.dev/name": "app",
        "microapp.dev/team": "finance",
    }
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "MicroApp",
            "name": "app",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    pod = obj["spec"]["template"]["spec"]
    assert obj["spec"]["template"]["metadata"]["labels"]["microapp.dev/name"] == "app"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["containers"][0]["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    }


def test_input_is_not_modified() -> None:
    doc = deployment()
    before = copy.deepcopy(doc)
    complete(doc)
    assert doc == before


def test_template_opt_outs() -> None:
    sec = api.TemplateSecurity(writable_root_filesystem=True, service_account_token=True)
    [obj] = complete(deployment(), security=sec)
    pod = obj["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False


REFUSED = {
    "cluster-role": (
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "app"}},
        "ClusterRole (rbac.authorization.k8s.io/v1) is not allowed for runtime container",
    ),
    "other-namespace": (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "kube-system"}},
        "namespace 'kube-system' is not the app's namespace 'ns'",
    ),
    "foreign-name": (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "payroll"}},
        "name 'payroll' must be 'app' or start with 'app-'",
    ),
    "path-name": (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-../etc"}},
        "name 'app-../etc' is not a DNS label",
    ),
    "long-name": (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-" + "x" * 70}},
        "is not a DNS label (a-z, 0-9, '-', at most 63)",
    ),
    "argocd-label": (
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "app", "labels": {"app.kubernetes.io/instance": "x"}},
        },
        "must not set app.kubernetes.io/instance (Argo CD tracking keys)",
    ),
    "template-owner": (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "ownerReferences": []}},
        "metadata.ownerReferences is set by the operator",
    ),
    "privileged": (
        deployment(containers=[{"name": "c", "securityContext": {"privileged": True}}]),
        "containers 'c': privileged is not allowed",
    ),
    "host-path": (
        deployment(volumes=[{"name": "root", "hostPath": {"path": "/"}}]),
        "volume 'root' of type hostPath is not allowed",
    ),
    "host-network": (deployment(hostNetwork=True), "hostNetwork is not allowed"),
    "host-pid": (deployment(hostPID=True), "hostPID is not allowed"),
    "add-capability": (
        deployment(containers=[{"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]),
        "adding capabilities (NET_ADMIN) is not allowed",
    ),
    "other-service-account": (
        deployment(serviceAccountName="admin"),
        "serviceAccountName 'admin' is not allowed; apps run as their own ServiceAccount 'app'",
    ),
    "root-user": (deployment(securityContext={"runAsUser": 0}), "Pods must not run as root"),
    "escalation": (
        deployment(initContainers=[{"name": "i", "securityContext": {"allowPrivilegeEscalation": True}}]),
        "initContainers 'i': allowPrivilegeEscalation is not allowed",
    ),
    "writable-root": (
        deployment(containers=[{"name": "c", "securityContext": {"readOnlyRootFilesystem": False}}]),
        "a writable root filesystem needs the template's security.writableRootFilesystem",
    ),
    "host-port": (
        deployment(containers=[{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}]}]),
        "hostPort is not allowed",
    ),
    "token": (
        deployment(automountServiceAccountToken=True),
        "automountServiceAccountToken: true needs the template's security.serviceAccountToken",
    ),
}


@pytest.mark.parametrize("doc,message", REFUSED.values(), ids=REFUSED.keys())
def test_refused(doc: dict, message: str) -> None:
    with pytest.raises(RenderError) as err:
        complete(doc)
    assert message in str(err.value)


def test_knative_service_only_for_serverless() -> None:
    ksvc = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "app"},
        "spec": {"template": {"spec": {"containers": [{"image": "r/x:1"}]}}},
    }
    [obj] = complete(ksvc, runtime="serverless")
    assert obj["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    with pytest.raises(RenderError, match="not allowed for runtime container"):
        complete(ksvc)


def test_all_problems_listed_at_once() -> None:
    with pytest.raises(RenderError) as err:
        complete(deployment(hostNetwork=True, hostPID=True))
    assert "hostNetwork is not allowed" in str(err.value) and "hostPID is not allowed" in str(err.value)


def test_duplicate_objects_refused() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"}}
    with pytest.raises(RenderError, match="a second ConfigMap named 'app'"):
        complete(cm, copy.deepcopy(cm))
