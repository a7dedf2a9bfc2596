"""The local control plane is a real cluster: nodes, scheduling, GC, RBAC, Pod Security."""

from __future__ import annotations

import json

import pytest

from tests.helpers import VERSIONS, eventually, get_json, kubectl


def test_server_version_is_the_pinned_release(cluster: object) -> None:
    info = json.loads(kubectl("version", "-o", "json").stdout)
    assert info["serverVersion"]["gitVersion"] == VERSIONS["KUBE_VERSION"]
    assert info["clientVersion"]["gitVersion"] == VERSIONS["KUBE_VERSION"]


def test_at_least_two_ready_kwok_nodes(cluster: object) -> None:
    nodes = get_json("nodes")["items"]
    ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])]
    assert len(ready) >= 2
    assert all(n["metadata"]["annotations"].get("kwok.x-k8s.io/node") == "fake" for n in ready)


def _deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "registry.internal/x:1"}]},
            },
        },
    }


def test_deployment_gets_ready_pods_on_kwok_nodes(namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_deployment("web", 2))
    kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=90s", timeout=100)
    pods = get_json("pods", "-n", namespace, "-l", "app=web")["items"]
    assert len(pods) == 2
    nodes = {n["metadata"]["name"] for n in get_json("nodes")["items"]}
    for pod in pods:
        assert pod["spec"]["nodeName"] in nodes
        assert pod["status"]["phase"] == "Running"
        assert any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])


def test_garbage_collector_removes_owned_children(namespace: str) -> None:
    kubectl("create", "configmap", "parent", "-n", namespace)
    uid = get_json("configmap", "parent", "-n", namespace)["metadata"]["uid"]
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "child",
            "namespace": namespace,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "parent", "uid": uid, "controller": True}
            ],
        },
    }
    kubectl("apply", "-f", "-", input=child)
    kubectl("delete", "configmap", "parent", "-n", namespace)
    eventually(
        lambda: kubectl("get", "configmap", "child", "-n", namespace, check=False).returncode != 0,
        timeout=60,
        what="the garbage collector to delete the child ConfigMap",
    )


def test_rbac_authorization_is_enforced(namespace: str) -> None:
    proc = kubectl("auth", "can-i", "create", "deployments", "-n", namespace, "--as=mallory@example.com", check=False)
    assert proc.stdout.strip() == "no"
    denied = kubectl("get", "pods", "-n", namespace, "--as=mallory@example.com", check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr


def test_pod_security_admission_enforces_restricted(namespace: str) -> None:
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "priv", "namespace": namespace},
        "spec": {
            "containers": [{"name": "c", "image": "registry.internal/x:1", "securityContext": {"privileged": True}}]
        },
    }
    proc = kubectl("apply", "-f", "-", input=pod, check=False)
    assert proc.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in proc.stderr


async def test_kube_pages_follows_continue_tokens_on_the_real_api_server(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kube.pages (the child cache's and priming's lists): 7 labelled ConfigMaps read 3 at a
    time come in 3 pages, all of one snapshot, none twice, the unlabelled one left out."""
    from microapp_operator.api.kinds import CONFIGMAP
    from microapp_operator.runtime.kube import Kube
    from tests.helpers import KUBECONFIG

    for i in range(7):
        kubectl("create", "configmap", f"paged-{i}", "-n", namespace)
        kubectl("label", "configmap", f"paged-{i}", "-n", namespace, "paging=yes")
    kubectl("create", "configmap", "unlabelled", "-n", namespace)
    monkeypatch.setenv("KUBECONFIG", str(KUBECONFIG))
    kube = await Kube.connect()
    try:
        pages = [
            (sorted(i["metadata"]["name"] for i in items), rv)
            async for items, rv in kube.pages(CONFIGMAP, label_selector="paging=yes", namespace=namespace, limit=3)
        ]
    finally:
        await kube.close()
    assert [len(names) for names, _ in pages] == [3, 3, 1]
    assert sorted(n for names, _ in pages for n in names) == [f"paged-{i}" for i in range(7)]
    assert len({rv for _, rv in pages}) == 1 and pages[0][1]
