"""The README's walkthrough, run line by line as a new user would type it, against the real
control plane with the operator running: if the README and the tool disagree, this fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import KUBECONFIG, KUBECTL, ROOT, kubectl

MARKER = "<!-- walkthrough: tests/integration/test_walkthrough.py runs every command of the next block -->"
NAMESPACE = "team-finance"

# What each step must print (a substring of its stdout), keyed by how the command starts; the
# order of the README's commands must be this one.
EXPECTED: list[tuple[str, list[str]]] = [
    ("export KUBECONFIG=", []),
    ("microapp catalog web", ["web-service 1.1.0 (container)\n", "  tags: http, web, api"]),
    ("microapp new hello", ["wrote hello.yaml\n"]),
    ("microapp validate", [f"hello.yaml: MicroApp {NAMESPACE}/hello: valid; lifecycle: "]),
    ("microapp estimate", [f"MicroApp {NAMESPACE}/hello: estimated "]),
    ("kubectl apply", ["microapp.microapp.dev/hello created\n"]),
    ("kubectl wait --for=condition=Ready", ["condition met"]),
    ("microapp explain hello", ["hello", "Running", "Deployment hello"]),
    ("sed -i", []),
    (
        "microapp diff",
        [
            f"MicroApp {NAMESPACE}/hello: changed; 1 to create, 1 to update\n",
            "-  replicas: 1\n",
            "+  replicas: 2\n",
            "PodDisruptionBudget hello: create\n",
            "cost: 4.04 -> 8.08 USD/month (+4.04); budget: ",  # the README quotes this line
            "1 of 1 MicroApp(s) would change\n",
        ],
    ),
    ("kubectl apply", ["microapp.microapp.dev/hello configured\n"]),
    ("kubectl wait --for=jsonpath=", ["condition met"]),
    (
        "microapp diff",
        [
            f"MicroApp {NAMESPACE}/hello: no changes (",  # 7 children, 8 with the PodMonitor CRD
            "0 of 1 MicroApp(s) would change\n",
        ],
    ),
]


def walkthrough() -> list[tuple[str, int]]:
    """The commands of the README block after the marker, with the exit code each one's
    comment announces ("# exit 1: ..."; 0 when it says nothing)."""
    text = (ROOT / "README.md").read_text()
    assert MARKER in text, "README.md lost its walkthrough marker"
    block = text.split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    steps = []
    for line in block.splitlines():
        code = re.search(r"#\s*exit (\d+)", line)
        steps.append((line, int(code.group(1)) if code else 0))
    return steps


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A directory like a checkout (manifests/ is there), the namespace make demo creates, and
    no app named hello; the app is deleted afterwards."""
    (tmp_path / "manifests").symlink_to(ROOT / "manifests")
    kubectl("create", "namespace", NAMESPACE, check=False)
    kubectl("delete", "mapp", "hello", "-n", NAMESPACE, "--ignore-not-found", "--wait=true")
    yield tmp_path
    kubectl("delete", "mapp", "hello", "-n", NAMESPACE, "--ignore-not-found", "--wait=false")


def test_the_readme_walkthrough_works_as_written(operator: object, workdir: Path) -> None:
    steps = walkthrough()
    assert [cmd for cmd, _ in steps if not any(cmd.startswith(p) for p, _ in EXPECTED)] == []
    assert len(steps) == len(EXPECTED), [cmd for cmd, _ in steps]
    tools = os.pathsep.join([str(Path(sys.executable).parent), str(Path(KUBECTL).parent), os.environ["PATH"]])
    env = {**os.environ, "PATH": tools, "NO_COLOR": "1"}
    for (command, code), (prefix, wanted) in zip(steps, EXPECTED):
        assert command.startswith(prefix), f"README step {command!r} is not the expected {prefix!r}"
        if command.startswith("export KUBECONFIG="):
            env["KUBECONFIG"] = str(KUBECONFIG)  # the test cluster's, where the README names make demo's
            continue
        proc = subprocess.run(
            ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == code, (
            f"{command}\nexit {proc.returncode}, the README says {code}:\n{proc.stdout}\n{proc.stderr}"
        )
        for text in wanted:
            assert text in proc.stdout, f"{command}\nprinted no {text!r}:\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
