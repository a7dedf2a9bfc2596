"""Fault tests on a dedicated local control plane (`make chaos`): a low API server request limit
(max in flight, no priority and fairness), six simulated nodes, and the operator running as a
ServiceAccount (system:masters is never throttled, a real operator's identity is).

The cluster's kubeconfig comes from MICROAPP_TEST_KUBECONFIG; a test fails loudly when the
cluster is not up. Figures (convergence seconds, 429 counts) go to chaos-results.json beside it.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import KUBECONFIG, ROOT, kubectl, mark_suite, record_figures
from tests.integration.conftest import OperatorProcess

RESULTS = KUBECONFIG.parent / "chaos-results.json"
OPERATOR_NS = "microapp-system"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_suite(items, "chaos", pytest.mark.chaos)


def record(name: str, **figures: Any) -> None:
    """Keep a test's figures for the report `make chaos` prints."""
    record_figures(RESULTS, "chaos", name, figures)


@pytest.fixture(scope="session")
def cluster() -> Path:
    if subprocess.run([str(ROOT / "hack" / "cluster.sh"), "status"]).returncode != 0:
        pytest.fail(f"the chaos control plane is not running ({KUBECONFIG}); run `make chaos`", pytrace=False)
    return KUBECONFIG


@pytest.fixture(scope="session")
def installed(cluster: Path) -> None:
    for path in (ROOT / "crds", ROOT / "hack" / "crds"):
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
        kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(path))
    kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "tests" / "fixtures" / "platformpolicy.yaml")
    )
    kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "operator" / "microapp_operator" / "templates")
    )


@pytest.fixture(scope="session")
def sa_kubeconfig(cluster: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig for ServiceAccount microapp-system/microapp-operator (cluster-admin, but not
    system:masters: its requests are throttled like a deployed operator's)."""
    kubectl("create", "namespace", OPERATOR_NS, check=False)
    kubectl("create", "serviceaccount", "microapp-operator", "-n", OPERATOR_NS, check=False)
    kubectl(
        "create",
        "clusterrolebinding",
        "microapp-operator-chaos",
        "--clusterrole=cluster-admin",
        f"--serviceaccount={OPERATOR_NS}:microapp-operator",
        check=False,
    )
    token = kubectl("create", "token", "microapp-operator", "-n", OPERATOR_NS, "--duration=4h").stdout.strip()
    admin = yaml.safe_load(KUBECONFIG.read_text())
    cluster_entry = admin["clusters"][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster_entry],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": cluster_entry["name"], "user": "operator"}}],
        "current-context": "operator",
    }
    path = tmp_path_factory.mktemp("sa") / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@pytest.fixture
def operator(installed: None, sa_kubeconfig: Path, tmp_path: Path) -> Iterator[OperatorProcess]:
    proc = OperatorProcess(
        tmp_path / "operator.log", kubeconfig=sa_kubeconfig, extra=("--workers", "16", "--resync-seconds", "60")
    )
    proc.start()
    yield proc
    proc.stop()
    print(f"operator log: {proc.log}")


@pytest.fixture
def namespace(cluster: Path) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=true", "--timeout=300s", check=False, timeout=320)
