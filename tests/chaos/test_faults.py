"""Faults on the real control plane: a throttled API server, the operator SIGKILLed mid-rollout,
and the API server stopped and started while apps change. Each test checks objects and counts,
and records how long convergence took."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.chaos.conftest import record
from tests.helpers import ROOT, audit_writes, eventually, get_json, kubectl, microapp
from tests.integration.conftest import OperatorProcess

APPS = 300
KINDS = "deployments,services,serviceaccounts,networkpolicies"


def app(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    """A web-service with no Pods (replicas 0): the test is about the operator, not the scheduler."""
    return microapp(name, namespace, replicas=0, **spec)


def job(name: str, namespace: str) -> dict[str, Any]:
    """A daily CronJob app: it has a cost (a share of the month) and no Pods during the test."""
    return microapp(name, namespace, template="scheduled-job", parameters={"schedule": "@daily"})


def create_apps(
    namespace: str, count: int, prefix: str = "app", parallel: int = 6, make: Callable[[str, str], dict[str, Any]] = app
) -> None:
    """``count`` MicroApps through kubectl (and so the webhook), from ``parallel`` clients."""
    chunks = [[make(f"{prefix}-{i}", namespace) for i in range(j, count, parallel)] for j in range(parallel)]
    procs = [
        subprocess.Popen(
            [*kubectl_cmd(), "create", "-f", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in chunks
    ]
    for proc, chunk in zip(procs, chunks):
        proc.stdin.write("".join(f"---\n{json.dumps(doc)}\n" for doc in chunk))  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()  # type: ignore[union-attr]


def kubectl_cmd() -> list[str]:
    from tests.helpers import KUBECONFIG, KUBECTL

    return [KUBECTL, "--kubeconfig", str(KUBECONFIG)]


def apps(namespace: str) -> list[dict[str, Any]]:
    return get_json("mapp", "-n", namespace)["items"]


def converged(namespace: str, count: int) -> Callable[[], bool]:
    def check() -> bool:
        items = apps(namespace)
        done = [
            a
            for a in items
            if a.get("status", {}).get("observedGeneration") == a["metadata"]["generation"]
            and any(c["type"] == "Ready" and c["status"] == "True" for c in a["status"].get("conditions", []))
        ]
        return len(items) == count and len(done) == count

    return check


def children(namespace: str, kinds: str = KINDS) -> list[dict[str, Any]]:
    return get_json(kinds, "-n", namespace, "-l", "app.kubernetes.io/managed-by=microapp-operator")["items"]


def assert_exactly_the_expected_children(
    namespace: str, count: int, kinds: tuple[str, ...] = ("Deployment", "Service", "ServiceAccount", "NetworkPolicy")
) -> None:
    uids = {a["metadata"]["uid"]: a["metadata"]["name"] for a in apps(namespace)}
    found = children(namespace, KINDS + ",cronjobs")
    by_kind: dict[str, list[str]] = {}
    for obj in found:
        by_kind.setdefault(obj["kind"], []).append(obj["metadata"]["name"])
        refs = [r for r in obj["metadata"].get("ownerReferences", []) if r.get("controller")]
        assert len(refs) == 1 and refs[0]["uid"] in uids, f"orphan {obj['kind']}/{obj['metadata']['name']}"
        assert obj["metadata"]["name"] == uids[refs[0]["uid"]], f"{obj['kind']}/{obj['metadata']['name']} misowned"
    expected = sorted(uids.values())
    assert {k: sorted(v) for k, v in by_kind.items()} == {k: expected for k in kinds}
    assert len(found) == len(kinds) * count


def team_budget(limit: str = "100000") -> None:
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "TeamBudget",
            "metadata": {"name": "qa"},
            "spec": {"team": "qa", "monthlyLimit": limit},
        },
    )


def test_a_throttled_api_server_is_absorbed_and_300_apps_converge(operator: OperatorProcess, namespace: str) -> None:
    since = datetime.now(UTC)
    start = time.monotonic()
    create_apps(namespace, APPS)
    created = time.monotonic() - start
    eventually(converged(namespace, APPS), timeout=900, interval=3, what=f"{APPS} apps to converge under throttling")
    seconds = time.monotonic() - start
    throttled = [w for w in audit_writes(since=since, namespaces={namespace}) if w["code"] == 429]
    assert throttled, "the API server never throttled the operator: the fault was not injected"
    assert_exactly_the_expected_children(namespace, APPS)
    assert "reconcile crashed" not in operator.text()
    record(
        "throttled_api_server",
        apps=APPS,
        create_seconds=round(created, 1),
        converge_seconds=round(seconds, 1),
        operator_429s=len(throttled),
    )


def test_sigkill_during_a_300_app_rollout_leaves_exactly_the_expected_children(
    operator: OperatorProcess, namespace: str
) -> None:
    team_budget()
    kinds = ("CronJob", "ServiceAccount", "NetworkPolicy")
    try:
        create_apps(namespace, APPS, make=job)
        eventually(
            lambda: len(children(namespace, "cronjobs,serviceaccounts,networkpolicies")) >= APPS,
            timeout=600,
            interval=1,
            what="the rollout to be under way",
        )
        before = len(children(namespace, "cronjobs,serviceaccounts,networkpolicies"))
        operator.kill()
        killed = time.monotonic()
        operator.start()
        eventually(converged(namespace, APPS), timeout=900, interval=3, what="convergence after SIGKILL")
        seconds = time.monotonic() - killed
        assert_exactly_the_expected_children(namespace, APPS, kinds)
        estimates = sum(Decimal(a["status"]["cost"]["estimatedMonthly"]) for a in apps(namespace))

        def settled() -> dict | None:
            st = get_json("teambudget", "qa").get("status", {})
            return st if st.get("apps") == APPS and Decimal(st.get("committedMonthly", "-1")) == estimates else None

        assert estimates > 0
        status = eventually(settled, timeout=60, what="TeamBudget status to equal the sum of the estimates")
        record(
            "sigkill_mid_rollout",
            apps=APPS,
            children_at_kill=before,
            converge_seconds_after_kill=round(seconds, 1),
            committed=status["committedMonthly"],
        )
    finally:
        kubectl("delete", "teambudget", "qa", check=False)


def test_the_api_server_stopped_and_started_while_apps_change(operator: OperatorProcess, namespace: str) -> None:
    count = 40
    create_apps(namespace, count)
    eventually(converged(namespace, count), timeout=600, interval=2, what="the apps to be ready")
    pid = operator.proc.pid  # type: ignore[union-attr]

    def change(names: list[str], mode: str) -> None:
        for name in names:
            kubectl(
                "patch",
                "mapp",
                name,
                "-n",
                namespace,
                "--type=merge",
                "-p",
                json.dumps({"spec": {"env": [{"name": "MODE", "value": mode}]}}),
            )

    before_stop = [f"app-{i}" for i in range(10)]
    after_start = [f"app-{i}" for i in range(10, 20)]
    change(before_stop, "before-stop")
    subprocess.run([str(ROOT / "hack" / "cluster.sh"), "stop"], check=True)
    time.sleep(10)
    subprocess.run([str(ROOT / "hack" / "cluster.sh"), "start"], check=True)
    restarted = time.monotonic()
    eventually(
        lambda: kubectl("get", "mapp", "-n", namespace, check=False).returncode == 0,
        timeout=120,
        what="the API server to answer",
    )
    change(after_start, "after-start")

    def caught_up() -> bool:
        wanted = {**{n: "before-stop" for n in before_stop}, **{n: "after-start" for n in after_start}}
        deployments = {d["metadata"]["name"]: d for d in get_json("deployments", "-n", namespace)["items"]}
        for name, mode in wanted.items():
            env = deployments[name]["spec"]["template"]["spec"]["containers"][0].get("env", [])
            if {"name": "MODE", "value": mode} not in env:
                return False
        return converged(namespace, count)()

    eventually(caught_up, timeout=600, interval=2, what="the operator to catch up after the API server restart")
    seconds = time.monotonic() - restarted
    assert operator.proc is not None and operator.proc.pid == pid and operator.proc.poll() is None, (
        "the operator was restarted or died; it must reconnect on its own"
    )
    record("api_server_restart", apps=count, changed=20, converge_seconds_after_start=round(seconds, 1))
