"""The lifecycle on the real control plane, with durations of seconds: Idle (Pods gone, cost
down), Retiring (a real HTTP receiver gets the CloudEvent), Retired (archive kept, children gone,
cost 0), and restore (Ready again with the same spec and replica count). onRetire: Delete
archives instead when Argo CD tracks the app."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.helpers import eventually, get_json, kubectl, microapp, policy_fields

LIFE = {"idleAfter": "6s", "retireAfter": "24s", "notifyBefore": "10s"}


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.received.append({"content_type": self.headers.get("Content-Type"), **json.loads(body)})
        self.send_response(202)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def receiver(crds: None) -> Iterator[list[dict]]:
    """An HTTP endpoint for retirement notices, named in the PlatformPolicy for the test."""
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/notices"
    policy_fields("test-lifecycle", {"lifecycle": {"notify": {"url": url}}})
    yield Receiver.received
    policy_fields("test-lifecycle", {}, check=False)
    server.shutdown()


def status(namespace: str, name: str) -> dict:
    return get_json("mapp", name, "-n", namespace).get("status", {})


def phase(namespace: str, name: str, wanted: str, timeout: float = 60) -> dict:
    return eventually(
        lambda: (st := status(namespace, name)).get("phase") == wanted and st,
        timeout=timeout,
        what=f"{name} to be {wanted}",
    )


def pods(namespace: str, name: str) -> list[str]:
    return kubectl("get", "pods", "-n", namespace, "-l", f"microapp.dev/name={name}", "-o", "name").stdout.split()


def test_idle_retiring_retired_and_restored(operator: object, namespace: str, receiver: list[dict]) -> None:
    kubectl("apply", "-f", "-", input=microapp("sleepy", namespace, replicas=2, lifecycle=LIFE))
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, "mapp/sleepy")
    eventually(lambda: len(pods(namespace, "sleepy")) == 2, what="two Pods")
    awake = Decimal(status(namespace, "sleepy")["cost"]["estimatedMonthly"])

    st = phase(namespace, "sleepy", "Idle")
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Idle")
    assert Decimal(st["cost"]["estimatedMonthly"]) < awake
    eventually(lambda: pods(namespace, "sleepy") == [], what="the Pods to go")
    kubectl("wait", "--for=condition=Ready", "--timeout=5s", "-n", namespace, "mapp/sleepy")  # does not hang

    st = phase(namespace, "sleepy", "Retiring")
    notice = eventually(lambda: receiver, timeout=20, what="the retirement notice")[0]
    assert notice["content_type"] == "application/cloudevents+json"
    assert (notice["specversion"], notice["type"], notice["subject"]) == (
        "1.0",
        "dev.microapp.lifecycle.retiring",
        f"{namespace}/sleepy",
    )
    assert notice["data"]["retireAt"] == st["lifecycle"]["retireAt"]

    st = phase(namespace, "sleepy", "Retired")
    assert st["cost"]["estimatedMonthly"] == "0.00"
    archive = get_json("configmap", "microapp-archive-sleepy", "-n", namespace)
    assert json.loads(archive["data"]["spec.json"])["replicas"] == 2
    eventually(
        lambda: (
            kubectl("get", "deploy,svc,serviceaccount", "sleepy", "-n", namespace, check=False).stdout.strip() == ""
        ),
        what="the children to be removed",
    )

    kubectl("annotate", "--overwrite", "mapp", "sleepy", "-n", namespace, "microapp.dev/restore=now-1")
    st = eventually(
        lambda: (s := status(namespace, "sleepy")).get("phase") == "Running" and s,
        timeout=60,
        what="the restored app to run",
    )
    assert st["lifecycle"]["activitySource"] == "restore"
    assert get_json("deploy", "sleepy", "-n", namespace)["spec"]["replicas"] == 2
    eventually(lambda: len(pods(namespace, "sleepy")) == 2, what="the Pods to come back")


def test_delete_on_retire_archives_an_app_argo_cd_tracks(operator: object, namespace: str) -> None:
    life = {**LIFE, "onRetire": "Delete", "retireAfter": "12s", "notifyBefore": "4s"}
    plain = microapp("gone", namespace, lifecycle=life)
    tracked = microapp("gitops", namespace, lifecycle=life)
    tracked["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = (
        f"apps:microapp.dev/MicroApp:{namespace}/gitops"
    )
    kubectl("apply", "-f", "-", input=[plain, tracked])
    eventually(
        lambda: kubectl("get", "mapp", "gone", "-n", namespace, check=False).returncode != 0,
        timeout=90,
        what="the untracked app to be deleted",
    )
    st = phase(namespace, "gitops", "Retired", timeout=30)
    assert get_json("configmap", "microapp-archive-gitops", "-n", namespace)["data"]["cost"].endswith("/month")
    assert (
        "Argo CD tracks this MicroApp and would recreate it: archived instead; remove it from Git"
        in st["lifecycle"]["message"]
    )
