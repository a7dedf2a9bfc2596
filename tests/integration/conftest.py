"""Fixtures for tests on the real local control plane (hack/cluster.sh).

The cluster is brought up (or reused) once per session; a test that needs it fails loudly
when it cannot start, it never skips.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.helpers import KUBECONFIG, ROOT, kubectl


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def cluster() -> Path:
    """The local control plane's kubeconfig; starts the cluster if it is not running."""
    if subprocess.run([str(ROOT / "hack" / "cluster.sh"), "status"]).returncode != 0:
        proc = subprocess.run([str(ROOT / "hack" / "cluster.sh"), "up"], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.fail(f"the local control plane did not start:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}",
                        pytrace=False)
    return KUBECONFIG


@pytest.fixture(scope="session")
def crds(cluster: Path) -> None:
    """CRDs and the default PlatformPolicy installed (as `make install` does)."""
    kubectl("apply", "--server-side", "--field-manager=microapp-install", "--force-conflicts",
            "-f", str(ROOT / "crds"))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(ROOT / "crds"))
    kubectl("apply", "--server-side", "--field-manager=microapp-install", "--force-conflicts",
            "-f", str(ROOT / "manifests" / "policy"))


@pytest.fixture
def namespace(cluster: Path) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (without waiting)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, "microapp.dev/test=true")
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def operator(crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[bytes]]:
    """The operator as a subprocess (`microapp run`) against the local cluster."""
    port = _free_port()
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    env = {**os.environ, "KUBECONFIG": str(KUBECONFIG)}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "microapp_operator.cli", "run", "--verbose",
                                 "--liveness", f"http://127.0.0.1:{port}/healthz"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the operator exited with {proc.returncode}:\n{log.read_text()[-4000:]}", pytrace=False)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the operator was not live after 60s:\n{log.read_text()[-4000:]}", pytrace=False)
            time.sleep(0.5)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    print(f"operator log: {log}")
