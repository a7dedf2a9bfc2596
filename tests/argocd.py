"""Argo CD's own code on our health check and actions: the `argocd` CLI (built from the Go module
proxy by hack/build-tool.sh) run as Argo CD's users test customizations, with the shipped
manifests/argocd/argocd-cm.yaml:

    argocd admin settings resource-overrides health FILE --argocd-cm-path argocd-cm.yaml
    argocd admin settings resource-overrides list-actions FILE --argocd-cm-path argocd-cm.yaml
    argocd admin settings resource-overrides run-action FILE ACTION --argocd-cm-path argocd-cm.yaml

and how live MicroApps become the committed fixtures (``normalize``).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CUSTOMIZATION = ROOT / "manifests" / "argocd" / "resource_customizations" / "microapp.dev" / "MicroApp"
TESTDATA = CUSTOMIZATION / "testdata"
ARGOCD_CM = ROOT / "manifests" / "argocd" / "argocd-cm.yaml"
STAMP = "2026-01-01T00:00:00Z"
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
FIXTURE_NS = "team-qa"


def argocd_binary() -> str:
    proc = subprocess.run([str(ROOT / "hack" / "build-tool.sh"), "argocd"], capture_output=True, text=True)
    assert proc.returncode == 0, f"the argocd CLI did not build:\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().splitlines()[-1]


def _run(argocd: str, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [argocd, "admin", "settings", "resource-overrides", *args, "--argocd-cm-path", str(ARGOCD_CM)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": os.environ.get("HOME", "/tmp"), **(env or {})},
    )
    assert proc.returncode == 0, f"argocd {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def health(argocd: str, path: Path) -> tuple[str, str]:
    """(status, message) as Argo CD computes them."""
    out = _run(argocd, "health", str(path))
    status = re.search(r"^STATUS: (.*)$", out, re.M)
    message = re.search(r"^MESSAGE: (.*)$", out, re.M)
    assert status, out
    return status.group(1), message.group(1) if message else ""


def list_actions(argocd: str, path: Path) -> list[dict[str, Any]]:
    out = _run(argocd, "list-actions", str(path)).splitlines()
    assert out and out[0].split() == ["NAME", "DISABLED"], out
    return [{"name": n, "disabled": d == "true"} for n, d in (line.split() for line in out[1:] if line.strip())]


def run_action(argocd: str, path: Path, action: str) -> dict[str, Any]:
    """The object the action returns: the CLI diffs it against the input with $KUBECTL_EXTERNAL_DIFF,
    which here prints the second file, the action's result."""
    out = _run(argocd, "run-action", str(path), action, env={"KUBECTL_EXTERNAL_DIFF": "sh -c 'cat \"$2\"' diff"})
    return yaml.safe_load(out.split("\n", 2)[2] if out.startswith("Following fields") else out)


def stamp(value: Any) -> Any:
    """Every RFC 3339 time in a value replaced by one fixed time (fixtures must not drift with the clock)."""
    if isinstance(value, dict):
        return {k: stamp(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stamp(v) for v in value]
    if isinstance(value, str):
        return _TIME.sub(STAMP, value)
    return value


def normalize(obj: dict[str, Any]) -> dict[str, Any]:
    """A live MicroApp as a fixture: a fixed namespace, no server bookkeeping, fixed times."""
    meta = obj["metadata"]
    namespace = meta["namespace"]
    keep = {"generation", "labels", "annotations", "finalizers", "deletionTimestamp"}
    out_meta = {"name": meta["name"], "namespace": FIXTURE_NS, **{k: v for k, v in meta.items() if k in keep}}
    annotations = {
        k: v
        for k, v in (out_meta.get("annotations") or {}).items()
        if k != "kubectl.kubernetes.io/last-applied-configuration"
    }
    if annotations:
        out_meta["annotations"] = annotations
    else:
        out_meta.pop("annotations", None)
    text = yaml.safe_dump(
        {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "metadata": out_meta,
            "spec": obj.get("spec"),
            **({"status": obj["status"]} if "status" in obj else {}),
        },
        sort_keys=False,
    )
    text = text.replace(namespace, FIXTURE_NS)
    return stamp(yaml.safe_load(text))


def write_action_expectations() -> None:
    """actions/testdata: each action's input fixture with the one annotation it writes, at STAMP
    (the test compares after replacing every time by STAMP, and checks the real one against the
    clock). Rewritten with the fixtures (MICROAPP_UPDATE_FIXTURES=1)."""
    tests = yaml.safe_load((CUSTOMIZATION / "actions" / "action_test.yaml").read_text())["actionTests"]
    keys = {
        "wake": "microapp.dev/wake",
        "snooze": "microapp.dev/snooze-until",
        "restore": "microapp.dev/restore",
        "mark-active": "microapp.dev/last-activity",
    }
    for case in tests:
        source = CUSTOMIZATION / "actions" / case["inputPath"]
        obj = yaml.safe_load(source.read_text())
        obj["metadata"].setdefault("annotations", {})[keys[case["action"]]] = STAMP
        (CUSTOMIZATION / "actions" / case["expectedOutputPath"]).write_text(
            f"# {source.relative_to(CUSTOMIZATION)} after the '{case['action']}' action (written by "
            f"tests/argocd.py).\n" + yaml.safe_dump(obj, sort_keys=False)
        )
