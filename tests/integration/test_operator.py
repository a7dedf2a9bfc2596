"""The operator records what it saw in status, and never writes spec or metadata."""

from __future__ import annotations

from tests.helpers import eventually, get_json, kubectl, microapp


def _status(namespace: str, name: str) -> dict:
    return get_json("mapp", name, "-n", namespace).get("status") or {}


def test_status_follows_generation(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("hello", namespace))
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, "microapp/hello")
    status = _status(namespace, "hello")
    assert status["observedGeneration"] == 1
    assert status["selector"] == "microapp.dev/name=hello"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["observedGeneration"] == 1

    kubectl("patch", "mapp", "hello", "-n", namespace, "--type=merge", "-p", '{"spec":{"replicas":2}}')
    eventually(
        lambda: _status(namespace, "hello").get("observedGeneration") == 2,
        what="observedGeneration 2 after a spec change",
    )
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, "microapp/hello")
    row = kubectl("get", "mapp", "hello", "-n", namespace, "--no-headers").stdout.split()
    assert row[:4] == ["hello", "web-service@^1", "Running", "True"]


def test_operator_never_writes_spec_or_metadata(operator: object, namespace: str) -> None:
    applied = microapp("untouched", namespace)
    kubectl("apply", "--server-side", "--field-manager=citizen", "-f", "-", input=applied)
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, "microapp/untouched")
    obj = get_json("mapp", "untouched", "-n", namespace, "--show-managed-fields")
    assert obj["metadata"]["annotations"] == applied["metadata"]["annotations"]
    assert "finalizers" not in obj["metadata"]
    assert obj["metadata"].get("labels") is None
    assert obj["spec"] == applied["spec"]
    assert "kopf" not in obj["status"]
    writers = {(m["manager"], m.get("subresource", "")) for m in obj["metadata"]["managedFields"]}
    assert all(sub == "status" for manager, sub in writers if manager != "citizen"), writers
    assert any(sub == "status" for _, sub in writers), writers
