"""manifests/ci/: the preflight script on a real git repository (offline: validate and
estimate; tests/integration/test_diff.py runs its diff step against the cluster), and the
GitHub Actions workflow that calls it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.ci_preflight import SCRIPT, preflight, pull_request
from tests.helpers import ROOT, microapp

WORKFLOW = ROOT / "manifests" / "ci" / "github-actions.yaml"


def test_a_valid_change_is_validated_and_estimated_and_passes(tmp_path: Path) -> None:
    edited = microapp("existing", "t-ci", replicas=2)
    repo = pull_request(
        tmp_path,
        {
            "apps/existing.yaml": edited,
            "apps/new.yaml": microapp("new", "t-ci"),
            "README.md": "only docs\n",
            "apps/other.yaml": {"kind": "ConfigMap"},
        },
    )
    proc = preflight(repo, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "preflight: 2 MicroApp file(s) changed since main: apps/existing.yaml apps/new.yaml\n" in out
    assert "apps/existing.yaml: MicroApp t-ci/existing: valid; lifecycle:" in out
    assert "apps/new.yaml: MicroApp t-ci/new: valid; lifecycle:" in out
    assert "MicroApp t-ci/existing: estimated " in out and "MicroApp t-ci/new: estimated " in out
    assert "== microapp diff: skipped (no KUBECONFIG; set one to compare with the cluster)" in out
    assert out.rstrip().endswith("preflight: passed")
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### MicroApp preflight: passed\n```diff\n") and "estimated" in summary


def test_an_invalid_microapp_fails_the_preflight_naming_the_field(tmp_path: Path) -> None:
    bad = microapp("bad", "t-ci", image="docker.io/evil/miner:latest", replicas=40)
    proc = preflight(pull_request(tmp_path, {"apps/bad.yaml": bad}), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        "apps/bad.yaml: MicroApp t-ci/bad: spec.replicas is 40; the platform allows at most 10 replicas" in proc.stdout
    )
    assert "is not from an allowed registry (registry.internal/)" in proc.stdout
    assert proc.stdout.rstrip().endswith("preflight: failed (see above)")
    assert (tmp_path / "summary.md").read_text().startswith("### MicroApp preflight: failed\n")


def test_a_pull_request_without_microapps_passes_at_once(tmp_path: Path) -> None:
    proc = preflight(pull_request(tmp_path, {"README.md": "docs\n"}), tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "preflight: no MicroApp file changed since main\n")


def test_a_base_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    repo = pull_request(tmp_path, {"README.md": "docs\n"})
    proc = subprocess.run([str(SCRIPT), "origin/nope"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "cannot list the files changed since origin/nope (fetch it: git fetch origin" in proc.stderr


def test_the_workflow_runs_the_script_on_pull_requests_touching_yaml() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    assert flow[True]["pull_request"]["paths"] == ["**.yaml", "**.yml"]  # YAML 1.1 reads `on` as True
    steps = flow["jobs"]["preflight"]["steps"]
    assert steps[0] == {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}}
    run = steps[-1]["run"]
    assert run.split()[0] == "manifests/ci/microapp-preflight.sh" and (ROOT / run.split()[0]).is_file()
    assert flow["permissions"] == {"contents": "read"}


def test_actionlint_accepts_the_workflow() -> None:
    """actionlint (built once from the Go module proxy, like Helm) checks the workflow's syntax and expressions."""
    built = subprocess.run([str(ROOT / "hack" / "build-tool.sh"), "actionlint"], capture_output=True, text=True)
    assert built.returncode == 0, f"actionlint did not build:\n{built.stderr[-3000:]}"
    actionlint = built.stdout.strip().splitlines()[-1]
    proc = subprocess.run([actionlint, "-shellcheck=", str(WORKFLOW)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
