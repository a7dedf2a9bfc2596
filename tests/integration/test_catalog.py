"""`microapp catalog` (and `kubectl microapp catalog`) against the real control plane: it reads
the cluster's AppTemplates, so a version the platform team publishes shows up at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from microapp_operator.core import catalog
from tests.helpers import KUBECONFIG, KUBECTL, kubectl


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    tools = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    return subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KUBECONFIG": str(KUBECONFIG), "PATH": tools},
    )


@pytest.fixture
def published(crds: None) -> Iterator[str]:
    """A template of its own name (no other test's app resolves it), in two versions."""
    name = f"catalog-{uuid.uuid4().hex[:6]}"
    for version, tags in (("1.0.0", ["queue"]), ("1.1.0", ["queue", "kafka"])):
        obj = next(o for o in catalog.builtin_objects() if o["spec"]["templateName"] == "worker")
        obj["metadata"] = {"name": f"{name}-{version}"}
        obj["spec"].update(
            {
                "templateName": name,
                "version": version,
                "tags": tags,
                "description": "Consumes a queue; a test template.",
                "changelog": [{"version": version, "note": "test"}],
            }
        )
        kubectl("apply", "-f", "-", input=obj)
    yield name
    kubectl("delete", "apptemplate", f"{name}-1.0.0", f"{name}-1.1.0", "--ignore-not-found")


def test_the_clusters_catalog_is_searched(published: str) -> None:
    proc = cli("microapp", "catalog", "-o", "table")
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()[1:]]
    assert {"web-service", "worker", "scheduled-job", "serverless-function", "webhook-handler", published} <= set(names)

    proc = cli("microapp", "catalog", published, "kafka")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(
        f"{published} 1.1.0 (container)\n  Consumes a queue; a test template.\n"
        "  versions: 1.1.0, 1.0.0\n  tags: queue, kafka\n"
    ), proc.stdout

    data = json.loads(cli("microapp", "catalog", published, "-o", "json").stdout)
    assert [(e["name"], e["version"], e["versions"]) for e in data] == [(published, "1.1.0", ["1.1.0", "1.0.0"])]


def test_the_kubectl_plugin_reads_the_same_catalog(published: str) -> None:
    proc = cli(KUBECTL, "microapp", "catalog", published, "-o", "table")
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[:2] for line in proc.stdout.splitlines()] == [["NAME", "VERSIONS"], [published, "1.1.0,1.0.0"]]


def test_a_deleted_version_is_gone_and_no_match_says_so(published: str) -> None:
    kubectl("delete", "apptemplate", f"{published}-1.1.0")
    proc = cli("microapp", "catalog", published, "kafka")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert f"no template in the cluster's catalog matches '{published} kafka'" in proc.stderr
    assert "  versions: 1.0.0\n" in cli("microapp", "catalog", published).stdout
