"""A stop that fits the grace period: the operator running, the API server stopped, then
SIGTERM, as an SRE (or a node drain during a control-plane outage) would do it. Kubernetes
kills a Pod 30 s after SIGTERM by default; the operator must be gone before, with one line
naming what it gave up and no traceback."""

from __future__ import annotations

import signal
import subprocess
import time

from tests.chaos.conftest import record
from tests.chaos.test_faults import converged, create_apps
from tests.helpers import ROOT, eventually, kubectl
from tests.integration.conftest import OperatorProcess

GRACE = 30.0


def test_sigterm_with_the_api_server_stopped_exits_within_the_grace_period(
    operator: OperatorProcess, namespace: str
) -> None:
    create_apps(namespace, 6, parallel=2)
    eventually(converged(namespace, 6), timeout=300, interval=2, what="the apps to be ready")
    proc = operator.proc
    assert proc is not None
    offset = operator.log.stat().st_size
    subprocess.run([str(ROOT / "hack" / "cluster.sh"), "stop"], check=True)
    try:
        time.sleep(3)  # the operator's watches and Kopf's have noticed
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=GRACE + 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
        seconds = time.monotonic() - sent
        operator.proc = None
    finally:
        subprocess.run([str(ROOT / "hack" / "cluster.sh"), "start"], check=True)
        eventually(
            lambda: kubectl("get", "ns", namespace, check=False).returncode == 0,
            timeout=120,
            what="the API server to answer again",
        )
    out = operator.text(offset)
    record("sigterm_with_the_api_server_stopped", exit_seconds=round(seconds, 1), exit_code=code)
    assert code is not None and seconds < GRACE, f"exited after {seconds:.1f}s (code {code}):\n{out[-4000:]}"
    assert "Traceback" not in out, out[-6000:]
    abandoned = [line for line in out.splitlines() if "abandoned:" in line]
    assert len(abandoned) == 1, out[-4000:]
    assert "webhook configuration" in abandoned[0] or "API" in abandoned[0], abandoned[0]
