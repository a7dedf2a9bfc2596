"""kind-config.yaml, checked by kind's own code: kind (built from the Go module proxy) decodes it
strictly and validates it, with its Podman provider (Podman is installed here); the only step
it cannot take here is pulling the kindest/node image, as there is no registry."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def kind() -> str:
    proc = subprocess.run([str(ROOT / "hack" / "build-tool.sh"), "kind"], capture_output=True, text=True)
    assert proc.returncode == 0, f"kind did not build:\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().splitlines()[-1]


def create(kind: str, config: Path) -> str:
    env = {**os.environ, "KIND_EXPERIMENTAL_PROVIDER": "podman"}
    proc = subprocess.run(
        [kind, "create", "cluster", "--config", str(config), "--name", "microapp-config-check", "--retain=false"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode != 0, "kind created a cluster: this machine was not expected to be able to"
    return proc.stdout + proc.stderr


def test_kind_accepts_the_config_and_stops_only_at_the_image_pull(kind: str) -> None:
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    assert config["nodes"][0]["labels"]["ingress-ready"] == "true"
    out = create(kind, ROOT / "kind-config.yaml")
    assert "kindest/node:v1.34.0" in out and "invalid configuration" not in out and "unable to decode" not in out, out


@pytest.mark.parametrize(
    "mutation, message",
    [
        (lambda c: c["nodes"][1].update(role="wroker"), '"wroker" is not a valid node role'),
        (lambda c: c["nodes"][0].update(extraPortMapings=[]), "field extraPortMapings not found"),
    ],
)
def test_kind_refuses_a_broken_copy(kind: str, tmp_path: Path, mutation, message: str) -> None:  # type: ignore[no-untyped-def]
    """The check can fail: kind's validation does run before the pull."""
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    mutation(config)
    (tmp_path / "kind.yaml").write_text(yaml.safe_dump(config))
    assert message in create(kind, tmp_path / "kind.yaml")
