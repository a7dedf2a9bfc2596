"""`microapp diff FILE` on the real control plane: the server-side dry run through the real
admission webhook, the operator's own decision with the cluster's catalog and policy, compared
with the live children; and nothing is written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.ci_preflight import preflight, pull_request
from tests.helpers import KUBECONFIG, ROOT, get_json, kubectl, microapp

POLICY = ROOT / "tests" / "fixtures" / "platformpolicy.yaml"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "microapp_operator", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(KUBECONFIG), "NO_COLOR": "1", **(env or {})},
        timeout=120,
    )


def write(path: Path, body: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(body))
    return str(path)


def running(name: str, namespace: str, tmp_path: Path, **spec: Any) -> dict[str, Any]:
    body = microapp(name, namespace, **spec)
    kubectl("apply", "-f", "-", input=body)
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, f"mapp/{name}")
    return body


def estimate(path: str) -> str:
    """The monthly estimate `microapp estimate` prints offline with the tests' policy."""
    out = cli("estimate", path, "--policy", str(POLICY)).stdout
    return re.search(r"estimated ([0-9.]+) USD/month", out).group(1)  # type: ignore[union-attr]


def test_an_unchanged_file_has_no_diff(operator: object, namespace: str, tmp_path: Path) -> None:
    body = running("same", namespace, tmp_path)
    proc = cli("diff", write(tmp_path / "app.yaml", body))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"MicroApp {namespace}/same: no changes (4 children checked)"
    cost = estimate(str(tmp_path / "app.yaml"))
    assert lines[1] == "unchanged: " + ", ".join(
        f"{k} same" for k in ("ServiceAccount", "NetworkPolicy", "Deployment", "Service")
    ), proc.stdout
    assert lines[2] == f"cost: {cost} USD/month (unchanged); budget: estimated {cost} USD/month", proc.stdout
    assert lines[-1] == "0 of 1 MicroApp(s) would change"


def test_an_edit_shows_the_app_the_children_and_the_cost_and_writes_nothing(
    operator: object, namespace: str, tmp_path: Path
) -> None:
    body = running("edit", namespace, tmp_path)
    before = get_json("mapp", "edit", "-n", namespace)
    deployment_rv = get_json("deployment", "edit", "-n", namespace)["metadata"]["resourceVersion"]
    body["spec"].update({"replicas": 3, "resources": {"cpu": "200m", "memory": "128Mi"}})
    path = write(tmp_path / "app.yaml", body)
    proc = cli("diff", path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.startswith(f"MicroApp {namespace}/edit: changed; 1 to create, 1 to update\n"), out
    assert "-  replicas: 1\n+  replicas: 3\n" in out  # the MicroApp's spec
    assert "Deployment edit: update\n" in out
    assert "  -  replicas: 1\n  +  replicas: 3\n" in out  # the Deployment, as rendered
    assert "  -            cpu: 100m\n  +            cpu: 200m\n" in out
    assert "PodDisruptionBudget edit: create\n" in out  # more than one replica: a PDB
    assert "unchanged: ServiceAccount edit, NetworkPolicy edit, Service edit\n" in out
    assert not [
        ln for ln in out.splitlines() if ln.lstrip().startswith(("+", "-")) and "env: []" in ln
    ]  # dropped by the server: no change
    old = before["status"]["cost"]["estimatedMonthly"]
    new = estimate(path)
    delta = f"{float(new) - float(old):.2f}"
    assert f"cost: {old} -> {new} USD/month (+{delta}); budget: " in out
    assert out.endswith("1 of 1 MicroApp(s) would change\n")
    # a dry run: nothing was stored, nothing reconciled
    after = get_json("mapp", "edit", "-n", namespace)
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"]
    assert get_json("deployment", "edit", "-n", namespace)["metadata"]["resourceVersion"] == deployment_rv

    data = json.loads(cli("diff", path, "-o", "json").stdout)
    assert {c["kind"]: c["action"] for c in data[0]["children"]} == {
        "ServiceAccount": "unchanged",
        "Deployment": "update",
        "Service": "unchanged",
        "PodDisruptionBudget": "create",
        "NetworkPolicy": "unchanged",
    }
    assert data[0]["differs"] is True and data[0]["cost"] == {
        "before": old,
        "after": new,
        "currency": "USD",
        "budget": data[0]["cost"]["budget"],
    }


def test_a_new_app_is_all_creates_and_is_not_created(operator: object, namespace: str, tmp_path: Path) -> None:
    proc = cli("diff", write(tmp_path / "app.yaml", microapp("fresh", namespace)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"MicroApp {namespace}/fresh: new; 4 to create\n")
    assert "--- /dev/null\n+++ after apply MicroApp\n" in proc.stdout
    for kind in ("ServiceAccount", "Deployment", "Service", "NetworkPolicy"):  # (in the catalog's order)
        assert f"{kind} fresh: create\n" in proc.stdout
    assert "USD/month (new)" in proc.stdout
    assert kubectl("get", "mapp", "fresh", "-n", namespace, check=False).returncode != 0


def test_what_admission_would_refuse_is_exit_2_with_the_reason(
    operator: object, namespace: str, tmp_path: Path
) -> None:
    bad = microapp("evil", namespace, image="docker.io/evil/miner:1.0")
    proc = cli("diff", write(tmp_path / "app.yaml", bad))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"MicroApp {namespace}/evil: the apply would be refused\n")
    assert "spec.image 'docker.io/evil/miner:1.0' is not from an allowed registry (registry.internal/)" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_an_unreachable_cluster_is_a_clear_message(tmp_path: Path) -> None:
    proc = cli(
        "diff", write(tmp_path / "app.yaml", microapp("x", "default")), env={"KUBECONFIG": str(tmp_path / "missing")}
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        f"microapp: cannot read the MicroApps, catalog and policy: no kubeconfig at "
        f"{tmp_path / 'missing'}; set $KUBECONFIG to your cluster's kubeconfig (make demo "
        "writes .cluster/kubeconfig)\n"
    )


def test_the_ci_preflight_diffs_a_pull_request_against_the_cluster(
    operator: object, namespace: str, tmp_path: Path
) -> None:
    """manifests/ci/microapp-preflight.sh with a kubeconfig: validate, estimate, then diff."""
    running("existing", namespace, tmp_path)
    repo = pull_request(
        tmp_path,
        {
            "apps/existing.yaml": microapp("existing", namespace, replicas=2),
            "apps/new.yaml": microapp("added", namespace),
        },
        namespace=namespace,
    )
    proc = preflight(repo, tmp_path, kubeconfig=str(KUBECONFIG))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "== microapp diff (against the cluster; a dry run)\n" in out
    assert f"MicroApp {namespace}/existing: changed; 1 to create, 1 to update\n" in out
    assert f"MicroApp {namespace}/added: new; 4 to create\n" in out
    assert "2 of 2 MicroApp(s) would change\n" in out and out.rstrip().endswith("preflight: passed")
    assert kubectl("get", "mapp", "added", "-n", namespace, check=False).returncode != 0  # nothing applied
