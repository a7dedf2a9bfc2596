"""Active/standby with two replicas of the chart: one leader, a standby that admits nothing, a
failover after SIGKILL within 15 s, a clean hand-over on SIGTERM, and no Deny budget overspent
by applies made across the failover (one ledger: the leader's)."""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.conftest import CHART, NS, RELEASE, Replicas, helm, host_values, record
from tests.helpers import eventually, get_json, kubectl, microapp

APP_COST = 6.54  # web-service, 250m CPU and 256Mi, one replica, at the tests' prices (USD/month)
LIMIT = 20  # so three such apps fit and a fourth does not


@pytest.fixture
def release(cluster: Path, helm_bin: str, image: str, tmp_path: Path) -> Iterator[None]:
    helm(
        helm_bin,
        "install",
        RELEASE,
        str(CHART),
        "-n",
        NS,
        "--create-namespace",
        "-f",
        str(host_values(tmp_path)),
        "--wait",
        "--timeout",
        "3m",
    )
    yield
    helm(helm_bin, "uninstall", RELEASE, "-n", NS, check=False)


@pytest.fixture
def team_ns(cluster: Path) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "teambudget", f"ha-{name}", check=False)
    kubectl("delete", "namespace", name, "--timeout=120s", check=False, timeout=150)


def app(name: str, namespace: str, team: str, **spec: Any) -> dict[str, Any]:
    return microapp(name, namespace, team=team, resources={"cpu": "250m", "memory": "256Mi"}, **spec)


def review(pod_ip: str, body: dict[str, Any]) -> dict[str, Any]:
    """An AdmissionReview sent straight to one replica's webhook port (bypassing the Service)."""
    request = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "operation": "CREATE",
            "object": body,
            "dryRun": True,
            "userInfo": {"username": "kwok-admin", "groups": ["system:masters"]},
        },
    }
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    req = urllib.request.Request(
        f"https://{pod_ip}:9443/admission",
        data=json.dumps(request).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read())["response"]


def holder() -> str:
    return (get_json("lease", RELEASE, "-n", NS).get("spec") or {}).get("holderIdentity") or ""


class Applier(threading.Thread):
    """One client creating one app, retrying while admission cannot be reached (a failover), until
    the webhook answers: allowed, or denied by the budget."""

    def __init__(self, body: dict[str, Any], deadline: float) -> None:
        super().__init__(daemon=True)
        self.body, self.deadline = body, deadline
        self.result, self.attempts, self.errors = "", 0, []  # type: str, int, list[str]

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            self.attempts += 1
            proc = kubectl("create", "-f", "-", input=self.body, check=False)
            if proc.returncode == 0 or "AlreadyExists" in proc.stderr:  # (an earlier try did get through)
                self.result = "admitted"
                return
            if "TeamBudget limit" in proc.stderr:
                self.result = "denied"
                return
            self.errors.append(proc.stderr.strip()[-200:])
            time.sleep(0.3)
        self.result = "timeout"


def test_failover_within_15s_and_no_budget_overspent(release: None, replicas: Replicas, team_ns: str) -> None:
    team = "qa"
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "TeamBudget",
            "metadata": {"name": f"ha-{team_ns}"},
            "spec": {"team": team, "monthlyLimit": str(LIMIT), "enforcement": "Deny"},
        },
    )
    replicas.start_all(2)
    leader = replicas.leader()
    standby = next(c for n, c in replicas.containers.items() if n != leader.pod)
    kubectl("apply", "-f", "-", input=app("before", team_ns, team))  # through the Service: the leader
    eventually(
        lambda: (get_json("mapp", "before", "-n", team_ns).get("status") or {}).get("observedGeneration") == 1,
        timeout=60,
        what="the first app reconciled",
    )

    # The standby admits nothing, even when a review reaches it directly.
    standby_ip = get_json("pod", standby.pod, "-n", NS)["status"]["podIP"]
    answer = eventually(lambda: review(standby_ip, app("direct", team_ns, team)), what="the standby's webhook")
    assert answer["allowed"] is False and answer["status"]["code"] == 503
    assert "standby" in answer["status"]["message"]

    # SIGKILL the leader, then at once: a change to the existing app (its env, not its cost) and
    # 6 new apps in parallel, of which 2 fit the budget beside "before" (3 x 6.54 <= 20 < 4 x 6.54).
    t0 = time.monotonic()
    leader.kill()
    appliers = [Applier(app(f"n{i}", team_ns, team), t0 + 60) for i in range(6)]
    for a in appliers:
        a.start()
    taken = eventually(
        lambda: holder() not in ("", leader.pod) and time.monotonic(),
        timeout=30,
        interval=0.2,
        what="the standby taking the Lease",
    )
    changed = _retry_until_admitted(
        lambda: kubectl(
            "apply",
            "-f",
            "-",
            check=False,
            input=app("before", team_ns, team, env=[{"name": "MODE", "value": "after-kill"}]),
        ),
        t0 + 60,
    )
    assert changed.returncode == 0, changed.stderr
    admitted_at = time.monotonic()
    eventually(
        lambda: (
            {"name": "MODE", "value": "after-kill"}
            in get_json("deployment", "before", "-n", team_ns)["spec"]["template"]["spec"]["containers"][0].get(
                "env", []
            )
        ),
        timeout=60,
        interval=0.2,
        what="the change made after the kill reconciled by the new leader",
    )
    reconciled_at = time.monotonic()
    for a in appliers:
        a.join(timeout=90)
    results = [a.result for a in appliers]
    assert "timeout" not in results, [a.errors[-3:] for a in appliers]
    admitted = results.count("admitted")
    assert admitted == 2, f"{results}: one ledger admits exactly the 2 apps that fit"
    status = eventually(
        lambda: (lambda s: s if s.get("committedMonthly") == f"{3 * APP_COST:.2f}" else None)(
            get_json("teambudget", f"ha-{team_ns}").get("status") or {}
        ),
        what="TeamBudget status: 3 apps committed",
    )
    assert float(status["committedMonthly"]) <= LIMIT, status
    assert [p["metadata"]["name"] for p in get_json("pods", "-n", NS, "-l", "microapp.dev/leader=true")["items"]] == [
        holder()
    ], "exactly one Pod wears the leader label"

    # The killed replica comes back (the kubelet restarts it) as the standby; a clean stop of the
    # leader then hands the Lease over without waiting for it to expire.
    leader.start()
    eventually(lambda: "standby until elected" in leader.logs(), timeout=30, what="the restarted replica on standby")
    new_leader = replicas.containers[holder()]
    t1 = time.monotonic()
    new_leader.terminate()
    eventually(lambda: holder() == leader.pod, timeout=15, interval=0.2, what="the Lease handed over on SIGTERM")
    handover = time.monotonic() - t1
    figures = {
        "failover_lease_s": round(taken - t0, 1),
        "failover_admission_s": round(admitted_at - t0, 1),
        "failover_reconcile_s": round(reconciled_at - t0, 1),
        "handover_on_sigterm_s": round(handover, 1),
        "new_apps_admitted": admitted,
        "new_apps_denied": results.count("denied"),
        "committed_usd": round(float(status["committedMonthly"]), 2),
        "limit_usd": LIMIT,
    }
    record("ha", **figures)
    assert reconciled_at - t0 < 15, figures
    assert handover < 5, figures


def _retry_until_admitted(apply: Any, deadline: float) -> Any:
    """An apply retried while no replica answers admission (the failover window)."""
    proc = apply()
    while proc.returncode != 0 and "TeamBudget limit" not in proc.stderr and time.monotonic() < deadline:
        time.sleep(0.3)
        proc = apply()
    return proc
