"""The CI preflight example (manifests/ci/microapp-preflight.sh) run on a throw-away git
repository: a main branch with one app, and a pull request on top."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers import ROOT, microapp

SCRIPT = ROOT / "manifests" / "ci" / "microapp-preflight.sh"
POLICY = ROOT / "tests" / "fixtures" / "platformpolicy.yaml"


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
    )


def pull_request(tmp_path: Path, files: dict[str, object], namespace: str = "t-ci") -> Path:
    """A repository whose main branch has one app, and a PR branch that adds or edits ``files``."""
    repo = tmp_path / "repo"
    (repo / "apps").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "apps" / "existing.yaml").write_text(yaml.safe_dump(microapp("existing", namespace)))
    (repo / "README.md").write_text("apps\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "pr")
    for name, body in files.items():
        (repo / name).write_text(body if isinstance(body, str) else yaml.safe_dump(body))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "change")
    return repo


def preflight(repo: Path, tmp_path: Path, *, kubeconfig: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update(
        {
            "MICROAPP": f"{sys.executable} -m microapp_operator",
            "POLICY": str(POLICY),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }
    )
    if kubeconfig:
        env["KUBECONFIG"] = kubeconfig
    return subprocess.run([str(SCRIPT), "main"], cwd=repo, capture_output=True, text=True, env=env, timeout=120)
