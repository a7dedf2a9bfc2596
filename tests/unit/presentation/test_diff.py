"""presentation/diff.py: what an apply would change, from inputs built by hand (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from microapp_operator.api.conditions import ConditionType, Reason
from microapp_operator.core import drift, reconcile, status
from microapp_operator.presentation import diff
from tests.factories import microapp


def deployment(replicas: int = 1, cpu: str = "100m", **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.internal/a:1",
                            "env": [],
                            "resources": {"requests": {"cpu": cpu}},
                        }
                    ]
                }
            },
            **extra,
        },
    }


def live(obj: dict[str, Any], **server: Any) -> dict[str, Any]:
    """``obj`` as the API server returns it: server metadata, defaults, status, our hash; empty lists dropped."""
    out = drift.with_hash(obj)
    out = {
        **out,
        "metadata": {**out["metadata"], "uid": "u1", "resourceVersion": "7", "managedFields": [{}]},
        "status": {"readyReplicas": 1},
    }
    containers = out["spec"]["template"]["spec"]["containers"]
    out["spec"] = {
        **out["spec"],
        "progressDeadlineSeconds": 600,
        "template": {
            "spec": {
                "containers": [
                    {k: v for k, v in c.items() if v != []} | {"imagePullPolicy": "IfNotPresent"} for c in containers
                ]
            }
        },
    }
    out["spec"].update(server)
    return out


def apply(
    *objects: dict[str, Any], estimate: str = "10", violations: list[str] | None = None, version: str = "1.0.0"
) -> reconcile.Apply:
    inventory = [{"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["metadata"]["name"]} for o in objects]
    return reconcile.Apply(
        tuple(objects),
        inventory,
        violations or [],
        Decimal(estimate),
        template={"name": "web-service", "version": version},
        conditions=[
            status.condition(
                ConditionType.WITHIN_BUDGET,
                "True",
                Reason.WITHIN_BUDGET,
                f"estimated {estimate} USD/month",
                generation=1,
                now=datetime(2026, 1, 1, tzinfo=UTC),
            )
        ],
    )


def app(replicas: int = 1) -> dict[str, Any]:
    last_applied = {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
    return microapp(
        "web", uid="u0", generation=3, owner=None, team="qa", annotations=last_applied, image=None, replicas=replicas
    )


def live_app(
    replicas: int = 1,
    cost: str = "10",
    violations: list[str] | None = None,
    inventory: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        **app(replicas),
        "status": {
            "cost": {"estimatedMonthly": cost, "currency": "USD"},
            "violations": violations,
            "template": {"name": "web-service", "version": "1.0.0"},
            "inventory": inventory
            if inventory is not None
            else [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
        },
    }


def report(
    decision: reconcile.Decision,
    live_children: dict[diff.ChildKey, dict[str, Any]],
    current: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> diff.Report:
    return diff.compare(
        live_app=live_app() if current is None else current,
        after=after or app(),
        decision=decision,
        live=live_children,
        currency="USD",
    )


def test_a_live_object_with_server_fields_and_dropped_empty_lists_is_unchanged() -> None:
    desired = deployment()
    change = diff.child(desired, live(desired))
    assert (change.action, change.lines) == ("unchanged", ())
    r = report(apply(desired), {diff.key_of(desired): live(desired)})
    assert not r.differs
    assert diff.text(r) == (
        "MicroApp ns/web: no changes (1 children checked)\nunchanged: Deployment web\n"
        "cost: 10.00 USD/month (unchanged); budget: estimated 10 USD/month\n"
    )


def test_an_update_shows_only_the_fields_the_operator_sets() -> None:
    change = diff.child(deployment(replicas=3, cpu="200m"), live(deployment()))
    assert change.action == "update"
    assert change.lines[:2] == ("--- live Deployment web", "+++ after apply Deployment web")
    body = [ln for ln in change.lines[2:] if ln[:1] in "+-"]
    assert body == ["-  replicas: 1", "+  replicas: 3", "-            cpu: 100m", "+            cpu: 200m"]
    assert not any(
        "progressDeadlineSeconds" in ln or "imagePullPolicy" in ln or "managedFields" in ln for ln in change.lines
    )


def test_a_field_no_longer_set_is_an_update_the_projection_cannot_show() -> None:
    before = deployment(minReadySeconds=5)
    change = diff.child(deployment(), live(before))
    assert (change.action, change.lines) == ("update", ())
    assert "no longer set" in change.note


def test_quantities_written_as_numbers_are_the_same_value() -> None:
    assert diff.projected({"cpu": 1}, {"cpu": "1"}) == {"cpu": "1"}
    assert diff.projected({"a": [1, 2]}, {"a": [1]}) == {"a": [1, 2]}  # another shape: shown as is


def test_new_children_are_created_and_children_no_longer_rendered_are_deleted() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "ns"}, "data": {"a": "b"}}
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"maxUnavailable": 1},
    }
    current = live_app(
        inventory=[
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "old"},
        ]
    )
    r = report(
        apply(deployment(), pdb), {diff.key_of(deployment()): live(deployment()), diff.key_of(cm): cm}, current=current
    )
    assert [(c.ref, c.action) for c in r.children] == [
        ("Deployment web", "unchanged"),
        ("PodDisruptionBudget web", "create"),
        ("ConfigMap old", "delete"),
    ]
    assert r.children[1].lines[:2] == ("--- /dev/null", "+++ after apply PodDisruptionBudget web")
    assert r.children[2].lines[:2] == ("--- live ConfigMap old", "+++ /dev/null")
    assert diff.headline(r) == "changed; 1 to create, 1 to delete"


def test_the_microapp_diff_ignores_server_metadata_and_last_applied() -> None:
    r = report(
        apply(deployment(replicas=2), estimate="20"),
        {diff.key_of(deployment()): live(deployment())},
        after={**app(2), "metadata": {**app(2)["metadata"], "generation": 4, "resourceVersion": "9"}},
    )
    assert [ln for ln in r.app_lines if ln[:1] in "+-" and ln[:3] not in ("---", "+++")] == [
        "-  replicas: 1",
        "+  replicas: 2",
    ]
    assert (r.cost_before, r.cost_after) == (Decimal("10"), Decimal("20"))
    text = diff.text(r)
    assert "cost: 10.00 -> 20.00 USD/month (+10.00); budget: estimated 20 USD/month\n" in text
    assert diff.as_data(r)["cost"] == {
        "before": "10.00",
        "after": "20.00",
        "currency": "USD",
        "budget": "estimated 20 USD/month",
    }


def test_findings_and_template_versions_are_compared() -> None:
    d = apply(deployment(), violations=["image 'x' has no fixed tag"], version="1.1.0")
    r = report(
        d, {diff.key_of(deployment()): live(deployment())}, current=live_app(violations=["replicas over the limit"])
    )
    assert r.findings_new == ("image 'x' has no fixed tag",) and r.findings_gone == ("replicas over the limit",)
    assert r.differs
    text = diff.text(r)
    assert "template: web-service@1.0.0 -> web-service@1.1.0\n" in text
    assert "new policy finding: image 'x' has no fixed tag\n" in text
    assert "policy finding resolved: replicas over the limit\n" in text


def test_a_stalled_or_held_app_applies_nothing_and_says_why() -> None:
    stall = reconcile.Stall(
        {"conditions": [{"type": "Ready", "status": "False", "message": "spec.parameters.port: must be an integer"}]}
    )
    r = report(stall, {})
    assert (r.outcome, r.children, r.differs) == ("stalled", (), True)
    assert diff.text(r).startswith(
        "MicroApp ns/web: would stall, nothing applied\n  spec.parameters.port: must be an integer\n"
    )
    held = reconcile.Hold(
        {"conditions": [{"type": "Ready", "status": "False", "message": "not rolled out: over"}]}, [], Decimal("900")
    )
    assert report(held, {}, current=None).outcome == "held"


def test_refused_and_new_apps() -> None:
    r = diff.refused(
        "ns", "web", "admission webhook denied the request: the MicroApp was refused:\n- image bad", new=True
    )
    assert r.differs and diff.text(r) == (
        "MicroApp ns/web: the apply would be refused\n"
        "  admission webhook denied the request: the MicroApp was refused:\n"
        "  - image bad\n"
    )
    fresh = diff.compare(live_app=None, after=app(), decision=apply(deployment()), live={}, currency="USD")
    assert diff.headline(fresh) == "new; 1 to create"
    assert fresh.app_lines[:2] == ("--- /dev/null", "+++ after apply MicroApp")
    assert "cost: 10.00 USD/month (new)" in diff.text(fresh)


def test_colour_only_when_asked() -> None:
    r = report(apply(deployment(replicas=2)), {diff.key_of(deployment()): live(deployment())})
    plain, coloured = diff.text(r), diff.text(r, colour=True)
    assert "\033[" not in plain
    assert "\033[32m  +  replicas: 2\033[0m" in coloured and "\033[31m  -  replicas: 1\033[0m" in coloured
    assert "\033[32m  +++" not in coloured  # file headers stay plain
    assert diff.changed([r, diff.refused("ns", "x", "no", new=False)]) == 2


def test_a_real_decision_reports_its_budget_and_template() -> None:
    """The report from ``reconcile.decide`` itself (not a hand-built Apply): the WithinBudget
    message and the template version come from the decided conditions."""
    from microapp_operator.api import types as api
    from microapp_operator.core import catalog, cost

    world = reconcile.World(templates=tuple(catalog.builtin()), policy=api.PlatformPolicySpec(), prices=cost.Prices())
    body = {**app(), "metadata": {**app()["metadata"], "annotations": {"microapp.dev/team": "qa"}}}
    body["spec"] = {**body["spec"], "image": "registry.internal/web:1", "telemetry": {"enabled": False}}
    running = {"inventory": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]}  # flagged, not held
    decision = reconcile.decide(body=body, old_status=running, world=world, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert isinstance(decision, reconcile.Apply)
    r = diff.compare(live_app=None, after=body, decision=decision, live={}, currency="USD")
    assert r.budget.startswith("estimated") and r.template_after.startswith("web-service@1.")
