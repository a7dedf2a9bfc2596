"""What the portal's browser tests share: the portal as a subprocess, Debian's Chromium driven by
Playwright (never `playwright install`), axe-core, a team with RBAC in a namespace, and
screenshots under artifacts/portal/ (kept by CI, never committed)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import KUBECONFIG, ROOT, kubectl

SHOTS = Path(os.environ.get("MICROAPP_ARTIFACTS", ROOT / "artifacts")) / "portal"
CHROMIUM = ("chromium", "chromium-browser")


def chromium_binary() -> str:
    """Debian's chromium (hack/browser.sh installs it); the test fails, never skips, without it."""
    found = next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)
    if found is None:
        pytest.fail("Chromium is not installed: run hack/browser.sh (make test does)", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PortalProcess:
    """`microapp portal` against the local cluster (its own identity: the cluster's kubeconfig)."""

    def __init__(self, log: Path, *args: str, kubeconfig: Path = KUBECONFIG) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "microapp_operator", "portal", "--listen", f"127.0.0.1:{self.port}", *args],
                env={**os.environ, "KUBECONFIG": str(kubeconfig)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"the portal exited with {self.proc.returncode}:\n{log.read_text()[-3000:]}", pytrace=False)
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2)
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"the portal did not answer in 30s:\n{log.read_text()[-3000:]}", pytrace=False)
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, form: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """One request outside the browser (forged headers, tokens, cross-site posts)."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def csrf_of(page_html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page_html)
    assert found, page_html[:2000]
    return found.group(1)


def citizen_role(namespace: str, group: str) -> None:
    """The citizen developer's RBAC in ``namespace`` for ``group`` (as tests/integration/test_security.py)."""
    kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "citizen-developer"},
            "rules": [
                {
                    "apiGroups": ["microapp.dev"],
                    "resources": ["microapps"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch"],
                },
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["services", "pods", "events"], "verbs": ["get", "list", "watch"]},
            ],
        },
    )
    kubectl(
        "create", "rolebinding", "citizen-developer", "--role=citizen-developer", f"--group={group}", "-n", namespace
    )


def team_budget(team: str, limit: str, enforcement: str = "Deny") -> None:
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "TeamBudget",
            "metadata": {"name": team},
            "spec": {"team": team, "monthlyLimit": limit, "enforcement": enforcement},
        },
    )


def no_microapps(namespace: str) -> bool:
    return kubectl("get", "microapps", "-n", namespace, "-o", "name").stdout.strip() == ""


def axe_findings(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def shot(page: Any, name: str) -> None:
    """The viewport only: after a full-page screenshot headless Chromium's clicks can miss."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def viewer_role(namespace: str, group: str) -> None:
    """Read-only RBAC on MicroApps (and their Pods and Events) in ``namespace`` for ``group``."""
    kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "microapp-viewer"},
            "rules": [
                {"apiGroups": ["microapp.dev"], "resources": ["microapps"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]},
            ],
        },
    )
    kubectl("create", "rolebinding", "microapp-viewer", "--role=microapp-viewer", f"--group={group}", "-n", namespace)
