"""Cost preflight and budgets through the real API server calling the real webhook."""

from __future__ import annotations

import concurrent.futures
import urllib.request
import uuid
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import eventually, get_json, kubectl, microapp

# web-service, 250m CPU + 256Mi per replica, OpenCost prices, 730 h: 6.54226 USD per replica-month
# (each app's estimate is rounded to cents: 1 replica 6.54, 2 -> 13.08, 3 -> 19.63, 4 -> 26.17).
PER_REPLICA = Decimal("6.54")


@pytest.fixture
def team(namespace: str, policy_team: object) -> str:
    name = f"t{uuid.uuid4().hex[:8]}"
    policy_team(name, namespaces=[namespace])  # type: ignore[operator]
    yield name
    kubectl("delete", "teambudget", name, "--ignore-not-found", "--wait=false")


def budget(team: str, limit: str, enforcement: str = "Deny", warn: int = 80) -> None:
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "TeamBudget",
            "metadata": {"name": team},
            "spec": {"team": team, "monthlyLimit": limit, "enforcement": enforcement, "warnAtPercent": warn},
        },
    )


def app(name: str, namespace: str, team: str, replicas: int = 1, **spec: object) -> dict:
    return microapp(name, namespace, team=team, replicas=replicas, resources={"cpu": "250m", "memory": "256Mi"}, **spec)


def tb_status(team: str) -> dict:
    return get_json("teambudget", team).get("status") or {}


def metric(operator: object, metric_name: str, **labels: str) -> float | None:
    text = urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5).read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_apply_and_dry_run_print_the_estimate(operator: object, namespace: str, team: str) -> None:
    budget(team, "100")
    dry = kubectl("apply", "--dry-run=server", "-f", "-", input=app("est", namespace, team, replicas=2))
    assert f"Warning: estimated cost 13.08 USD/month (team {team}: 13.08 of 100.00 committed)" in dry.stderr
    assert kubectl("get", "mapp", "est", "-n", namespace, check=False).returncode != 0
    real = kubectl("apply", "-f", "-", input=app("est", namespace, team, replicas=2))
    assert f"Warning: estimated cost 13.08 USD/month (team {team}: 13.08 of 100.00 committed)" in real.stderr
    eventually(
        lambda: (
            get_json("mapp", "est", "-n", namespace).get("status", {}).get("cost")
            == {"estimatedMonthly": "13.08", "currency": "USD"}
        ),
        what="status.cost",
    )
    eventually(lambda: tb_status(team).get("committedMonthly") == "13.08", what="TeamBudget committed")


def test_over_team_budget_is_refused_then_fits_with_fewer_replicas(operator: object, namespace: str, team: str) -> None:
    budget(team, "20")
    kubectl("apply", "-f", "-", input=app("base", namespace, team, replicas=1))
    proc = kubectl("apply", "-f", "-", input=app("big", namespace, team, replicas=3), check=False)
    assert proc.returncode != 0
    assert (
        f'admission webhook "admission.microapp.dev" denied the request: team {team} has 6.54 USD/month '
        f"committed by its other apps; this app's estimated 19.63 USD/month would bring it to 26.17, "
        f"over the TeamBudget limit of 20.00 USD. Lower spec.replicas or spec.resources"
    ) in proc.stderr
    assert kubectl("get", "mapp", "big", "-n", namespace, check=False).returncode != 0
    ok = kubectl("apply", "-f", "-", input=app("big", namespace, team, replicas=2))
    assert f"(team {team}: 19.62 of 20.00 committed)" in ok.stderr
    assert f"team {team} has committed 98% of its monthly budget (warning at 80%)" in ok.stderr
    assert metric(operator, "microapp_admission_denials_total", reason="TeamBudgetExceeded") >= 1


def test_warn_enforcement_allows_with_a_warning(operator: object, namespace: str, team: str) -> None:
    budget(team, "5", enforcement="Warn")
    proc = kubectl("apply", "-f", "-", input=app("warned", namespace, team))
    assert "over the TeamBudget limit of 5.00 USD (enforcement Warn: allowed)" in proc.stderr
    eventually(
        lambda: (
            next(
                (
                    c
                    for c in get_json("mapp", "warned", "-n", namespace).get("status", {}).get("conditions", [])
                    if c["type"] == "WithinBudget"
                ),
                {},
            ).get("status")
            == "False"
        ),
        what="flagged",
    )


def test_app_limit_is_enforced(operator: object, namespace: str, team: str) -> None:
    proc = kubectl(
        "apply", "-f", "-", input=app("capped", namespace, team, replicas=2, budget={"monthlyLimit": "10"}), check=False
    )
    assert proc.returncode != 0
    assert (
        "this app would cost an estimated 13.08 USD/month, more than its spec.budget.monthlyLimit of "
        "10.00 USD. Lower spec.replicas or spec.resources, or raise spec.budget.monthlyLimit."
    ) in proc.stderr
    kubectl("apply", "-f", "-", input=app("capped", namespace, team, replicas=1, budget={"monthlyLimit": "10"}))


def test_kubectl_scale_cannot_bypass_the_budget(operator: object, namespace: str, team: str) -> None:
    budget(team, "15")
    kubectl("apply", "-f", "-", input=app("scaly", namespace, team))
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, "mapp/scaly")
    proc = kubectl("scale", "mapp/scaly", "-n", namespace, "--replicas=5", check=False)
    assert proc.returncode != 0
    assert 'admission webhook "admission-scale.microapp.dev" denied the request' in proc.stderr
    assert get_json("mapp", "scaly", "-n", namespace)["spec"]["replicas"] == 1
    kubectl("scale", "mapp/scaly", "-n", namespace, "--replicas=2")


def test_ten_concurrent_applies_never_exceed_the_budget(operator: object, namespace: str, team: str) -> None:
    budget(team, "30")  # fits 4 apps of 6.54

    def apply(i: int) -> int:
        return kubectl("apply", "-f", "-", input=app(f"rush-{i}", namespace, team), check=False).returncode

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(apply, range(10)))
    assert codes.count(0) == 4, codes
    assert len(get_json("mapp", "-n", namespace)["items"]) == 4
    eventually(lambda: tb_status(team).get("apps") == 4, what="4 apps committed")
    st = tb_status(team)
    assert Decimal(st["committedMonthly"]) == 4 * PER_REPLICA <= Decimal("30")
    assert st["remaining"] == "3.84"


def test_status_and_metrics_follow_creates_updates_deletes(operator: object, namespace: str, team: str) -> None:
    budget(team, "100")
    kubectl("apply", "-f", "-", input=app("a", namespace, team, replicas=1))
    kubectl("apply", "-f", "-", input=app("b", namespace, team, replicas=2))

    def settled(expected: str, count: int) -> bool:
        return (
            tb_status(team).get("committedMonthly") == expected
            and tb_status(team).get("apps") == count
            and metric(operator, "microapp_team_budget_committed", team=team) == float(expected)
        )

    eventually(lambda: settled("19.62", 2), timeout=60, what="19.62 committed by 2 apps")
    assert metric(operator, "microapp_estimated_monthly_cost", namespace=namespace, name="b", team=team) == 13.08
    assert metric(operator, "microapp_team_budget_limit", team=team) == 100.0
    kubectl("apply", "-f", "-", input=app("b", namespace, team, replicas=4))
    eventually(lambda: settled("32.71", 2), timeout=60, what="32.71 after scaling b to 4")
    kubectl("delete", "mapp", "a", "-n", namespace)
    eventually(lambda: settled("26.17", 1), timeout=60, what="26.17 after deleting a")
    assert metric(operator, "microapp_estimated_monthly_cost", namespace=namespace, name="a", team=team) is None
    status = tb_status(team)
    assert status["remaining"] == "73.83"
    assert next(c for c in status["conditions"] if c["type"] == "WithinBudget")["status"] == "True"


def test_lowered_budget_flags_but_keeps_running_apps(operator: object, namespace: str, team: str) -> None:
    budget(team, "50")
    kubectl("apply", "-f", "-", input=app("keep", namespace, team, replicas=2))
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, "mapp/keep")
    budget(team, "10")

    def flagged() -> bool:
        conds = {c["type"]: c for c in get_json("mapp", "keep", "-n", namespace)["status"]["conditions"]}
        return conds["WithinBudget"]["status"] == "False" and conds["Ready"]["status"] == "True"

    eventually(flagged, what="WithinBudget=False while still Ready")
    cond = next(
        c for c in get_json("mapp", "keep", "-n", namespace)["status"]["conditions"] if c["type"] == "WithinBudget"
    )
    assert cond["message"] == f"team {team} is over its budget: 13.08 of 10.00 USD/month committed"
    assert get_json("deployment", "keep", "-n", namespace)["spec"]["replicas"] == 2
    eventually(
        lambda: any(
            c["type"] == "WithinBudget" and c["status"] == "False" for c in tb_status(team).get("conditions", [])
        ),
        what="TeamBudget over",
    )
    # Lowering cost is allowed even over budget; raising is not; deleting always is.
    lower = kubectl("apply", "-f", "-", input=app("keep", namespace, team, replicas=1))
    assert "estimated cost 6.54 USD/month" in lower.stderr
    assert kubectl("apply", "-f", "-", input=app("keep", namespace, team, replicas=3), check=False).returncode != 0
    assert kubectl("apply", "-f", "-", input=app("new", namespace, team), check=False).returncode != 0
    kubectl("delete", "mapp", "keep", "-n", namespace)


def test_reconciler_holds_a_new_app_the_webhook_did_not_see(operator: object, namespace: str, team: str) -> None:
    budget(team, "5")
    saved = get_json("validatingwebhookconfiguration", "microapp.dev")
    kubectl("delete", "validatingwebhookconfiguration", "microapp.dev")  # e.g. an admin removed it
    try:
        kubectl("apply", "-f", "-", input=app("sneak", namespace, team, replicas=2))

        def held() -> dict:
            conds = {
                c["type"]: c for c in get_json("mapp", "sneak", "-n", namespace).get("status", {}).get("conditions", [])
            }
            return conds if conds.get("Ready", {}).get("reason") == "OverBudget" else {}

        conds = eventually(held, what="the app held back")
        assert conds["WithinBudget"]["status"] == "False"
        assert conds["Ready"]["message"].startswith("not rolled out: ")
        assert get_json("deployment", "-n", namespace, "-l", "microapp.dev/name=sneak")["items"] == []
    finally:
        operator.restart()  # re-registers the webhook configuration
    assert (
        get_json("validatingwebhookconfiguration", "microapp.dev")["webhooks"][0]["name"]
        == saved["webhooks"][0]["name"]
    )
    budget(team, "50")  # a raise lets the held app roll out
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, "mapp/sneak")


def test_budget_enforcement_fails_closed_without_the_operator(operator: object, namespace: str) -> None:
    operator.stop()
    try:
        proc = kubectl("apply", "-f", "-", input=microapp("closed", namespace), check=False)
        assert proc.returncode != 0
        assert 'failed calling webhook "admission.microapp.dev"' in proc.stderr
        assert kubectl("get", "mapp", "closed", "-n", namespace, check=False).returncode != 0
        hook = get_json("validatingwebhookconfiguration", "microapp.dev")["webhooks"][0]
        assert hook["failurePolicy"] == "Fail"
    finally:
        operator.start()
    kubectl("apply", "-f", "-", input=microapp("closed", namespace))


def test_a_second_budget_for_a_team_is_stalled_and_takes_over_when_the_first_goes(
    operator: object, namespace: str, team: str
) -> None:
    """Two TeamBudgets for one team: the older is enforced; the newer says so (Stalled,
    DuplicateBudget); deleting the older puts the newer in force, at admission too."""
    budget(team, "100")
    second = f"{team}-second"
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "TeamBudget",
            "metadata": {"name": second},
            "spec": {"team": team, "monthlyLimit": "5"},
        },
    )
    try:

        def stalled() -> dict:
            conds = {c["type"]: c for c in (get_json("teambudget", second).get("status") or {}).get("conditions", [])}
            return conds.get("Stalled", {})

        cond = eventually(stalled, what="the second TeamBudget Stalled")
        assert cond["reason"] == "DuplicateBudget"
        assert f"team {team}'s budget is TeamBudget {team}" in cond["message"]
        kubectl("apply", "-f", "-", input=app("fits", namespace, team))  # 6.54 fits 100, not 5
        kubectl("delete", "teambudget", team)
        eventually(lambda: tb_status(second).get("remaining") is not None, what="the second in force")
        refused = kubectl("apply", "-f", "-", input=app("more", namespace, team), check=False)
        assert refused.returncode != 0 and "over the TeamBudget limit of 5.00 USD" in refused.stderr
        assert not any(c["type"] == "Stalled" for c in tb_status(second).get("conditions", []))
    finally:
        kubectl("delete", "teambudget", second, "--ignore-not-found", "--wait=false")
        kubectl("delete", "mapp", "fits", "-n", namespace, "--ignore-not-found", "--wait=false")
