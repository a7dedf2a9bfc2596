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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import KUBECONFIG, ROOT, kubectl, policy_fields


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
            pytest.fail(
                f"the local control plane did not start:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}", pytrace=False
            )
    return KUBECONFIG


@pytest.fixture(scope="session")
def crds(cluster: Path) -> None:
    """What `make install` installs (with the tests' PlatformPolicy), plus the Knative CRD."""

    def apply(path: Path) -> None:
        kubectl("apply", "--server-side", "--field-manager=microapp-install", "--force-conflicts", "-f", str(path))

    for crd_dir in (ROOT / "crds", ROOT / "hack" / "crds"):
        apply(crd_dir)
        kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(crd_dir))
    kubectl("api-resources", "-o", "name")  # refreshes kubectl's discovery cache (new categories, kinds)
    apply(ROOT / "tests" / "fixtures" / "platformpolicy.yaml")
    apply(ROOT / "operator" / "microapp_operator" / "templates")


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


class OperatorProcess:
    """`microapp run` as a subprocess against the local cluster, restartable by tests."""

    def __init__(self, log: Path, *, kubeconfig: Path = KUBECONFIG, extra: tuple[str, ...] = ()) -> None:
        self.log = log
        self.kubeconfig = kubeconfig
        self.extra = extra
        self.port = _free_port()
        self.webhook_port = _free_port()
        self.metrics_port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        self.started_at = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "microapp_operator",
                    "run",
                    "--verbose",
                    "--resync-seconds",
                    "15",
                    "--liveness",
                    f"http://127.0.0.1:{self.port}/healthz",
                    "--webhook-port",
                    str(self.webhook_port),
                    "--metrics-port",
                    str(self.metrics_port),
                    *self.extra,
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"the operator exited with {self.proc.returncode}:\n{self.text()[-4000:]}", pytrace=False)
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                if "initial sync done" in self.text(self.started_at):
                    return
                time.sleep(0.3)
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"the operator was not live after 60s:\n{self.text()[-4000:]}", pytrace=False)
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown (a node dying, the OOM killer)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=20)
            self.proc = None

    def restart(self) -> int:
        """Restart; returns the log offset where the new process's output begins."""
        self.stop()
        offset = self.log.stat().st_size
        self.start()
        return offset

    def text(self, offset: int = 0) -> str:
        return self.log.read_bytes()[offset:].decode(errors="replace")


@pytest.fixture(scope="session")
def operator(crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    """The operator, started once for the session."""
    proc = OperatorProcess(tmp_path_factory.mktemp("operator") / "operator.log")
    proc.start()
    yield proc
    proc.stop()
    print(f"operator log: {proc.log}")


@pytest.fixture
def policy_team(crds: None) -> Iterator[Callable[..., None]]:
    """Add teams to the PlatformPolicy for one test (server-side apply, one field manager per
    team, so the rest of the policy is untouched); removed afterwards."""
    added: list[str] = []

    def add(team: str, *, namespaces: list[str], groups: list[str] | None = None, **extra: object) -> None:
        entry = {"name": team, "groups": groups or [f"{team}-devs"], "namespaces": namespaces, **extra}
        policy_fields(f"test-{team}", {"teams": [entry]})
        added.append(team)

    yield add
    for team in added:
        policy_fields(f"test-{team}", {}, check=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never `playwright install`), one per test module."""
    from playwright.sync_api import sync_playwright

    from tests.integration.portal import chromium_binary

    with sync_playwright() as pw:
        found = pw.chromium.launch(executable_path=chromium_binary(), args=["--no-sandbox"])
        yield found
        found.close()


@pytest.fixture
def portal_for(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start `microapp portal` with these flags (stopped after the test)."""
    from tests.integration.portal import PortalProcess

    started: list[PortalProcess] = []

    def start(*args: str) -> PortalProcess:
        started.append(PortalProcess(tmp_path / f"portal-{len(started)}.log", *args))
        return started[-1]

    yield start
    for proc in started:
        proc.stop()
