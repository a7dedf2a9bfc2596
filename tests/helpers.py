"""Helpers shared by the integration tests: real kubectl against the local control plane."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from tests import factories

ROOT = Path(__file__).resolve().parent.parent
KUBECONFIG = Path(os.environ.get("MICROAPP_TEST_KUBECONFIG", ROOT / ".cluster" / "kubeconfig"))


def _versions() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (ROOT / "hack" / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


VERSIONS = _versions()
CACHE = Path(os.environ.get("MICROAPP_CACHE", Path.home() / ".cache" / "microapp-operator"))
BIN = CACHE / VERSIONS["KUBE_VERSION"] / "bin"
KUBECTL = str(BIN / "kubectl")
CLUSTER_NAME = os.environ.get("MICROAPP_CLUSTER_NAME", "microapp")
AUDIT_LOG = KUBECONFIG.parent / "kwok" / "clusters" / CLUSTER_NAME / "logs" / "audit.log"
OPERATOR_AGENT = "microapp-operator/"


def kubectl(
    *args: str, input: str | dict | list | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the control plane's own kubectl; raise with its stderr when ``check`` and it fails."""
    if isinstance(input, (dict, list)):
        input = yaml.safe_dump_all(input if isinstance(input, list) else [input])
    proc = subprocess.run(
        [KUBECTL, "--kubeconfig", str(KUBECONFIG), *args], input=input, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def audit_writes(*, since: datetime, namespaces: set[str], agent: str = OPERATOR_AGENT) -> list[dict[str, Any]]:
    """Write requests the API server itself logged (hack/audit-policy.yaml) from clients whose
    user agent starts with ``agent`` in ``namespaces`` since ``since``: one test's own writes,
    whatever else the cluster is doing."""
    found = []
    for line in AUDIT_LOG.read_text().splitlines():
        event = json.loads(line)
        ref = event.get("objectRef") or {}
        if (
            event.get("stage") == "ResponseComplete"
            and str(event.get("userAgent", "")).startswith(agent)
            and ref.get("namespace") in namespaces
            and datetime.fromisoformat(event["requestReceivedTimestamp"].replace("Z", "+00:00")) >= since
        ):
            found.append(
                {
                    "verb": event["verb"],
                    "resource": ref.get("resource"),
                    "name": ref.get("name"),
                    "subresource": ref.get("subresource"),
                    "code": (event.get("responseStatus") or {}).get("code"),
                }
            )
    return found


def get_json(*args: str) -> dict[str, Any]:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def eventually(
    predicate: Callable[[], Any], *, timeout: float = 30, interval: float = 0.5, what: str = "condition"
) -> Any:
    """Poll until ``predicate`` returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except AssertionError as exc:  # a kubectl that failed, e.g. object not there yet
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def microapp(
    name: str, namespace: str, *, team: str = "qa", annotations: dict[str, str | None] | None = None, **spec: Any
) -> dict[str, Any]:
    """A valid MicroApp manifest for the local cluster (a cost center, one replica, no telemetry:
    tests/integration/test_telemetry.py covers it); keyword arguments override spec fields, and
    ``annotations`` the annotations (None removes one). A public app is approved by the test
    harness's admin (a platform admin)."""
    approval = {"microapp.dev/public-approved-by": "kwok-admin"} if spec.get("expose") == "public" else {}
    fields = {"image": "registry.internal/finance/app:1.0.0", "replicas": 1, "telemetry": {"enabled": False}}
    return factories.microapp(
        name,
        namespace,
        owner="alice@example.com",
        team=team,
        annotations={factories.COST_CENTER: "CC-1234", **approval, **(annotations or {})},
        **{**fields, **spec},
    )


def mark_suite(items: list[Any], suite: str, marker: Any) -> None:
    """Mark every test collected from ``tests/<suite>/`` (chaos, delivery) with its marker."""
    for item in items:
        if f"/{suite}/" in str(item.path):
            item.add_marker(marker)


def record_figures(results: Path, suite: str, name: str, figures: dict[str, Any]) -> None:
    """Keep a test's figures in ``results`` (JSON) for the report its make target prints."""
    data = json.loads(results.read_text()) if results.exists() else {}
    data[name] = figures
    results.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"[{suite}] {name}: {figures}")


def policy_fields(manager: str, spec: dict[str, Any] | None = None, *, force: bool = False, check: bool = True) -> None:
    """Own ``spec``'s fields of the default PlatformPolicy as field manager ``manager`` (server-side
    apply); ``spec=None`` releases them again (the fields go back to what other managers set)."""
    kubectl(
        "apply", "--server-side", f"--field-manager={manager}", *(["--force-conflicts"] if force else []), "-f", "-",
        input={"apiVersion": "microapp.dev/v1alpha1", "kind": "PlatformPolicy", "metadata": {"name": "default"},
               **({"spec": spec} if spec is not None else {})},
        check=check,
    )  # fmt: skip
