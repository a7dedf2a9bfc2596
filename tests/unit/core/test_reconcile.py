"""The pure reconcile decision: Stall, Hold or Apply, from dict fixtures and a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import budget, catalog, cost, reconcile
from microapp_operator.core.ledger import Entry
from tests.factories import microapp

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
POLICY = api.PlatformPolicySpec.model_validate(
    {
        "teams": [{"name": "finance", "groups": ["finance-devs"], "namespaces": ["ns"]}],
        "guardrails": {"allowedRegistries": ["registry.internal/"]},
    }
)


def body(**spec: object) -> dict:
    fields = {"image": "registry.internal/shop:1", "replicas": 2, "telemetry": {"enabled": False}, **spec}
    return microapp(uid="u1", generation=2, typed=False, **fields)


def world(**kw: object) -> reconcile.World:
    return reconcile.World(templates=tuple(catalog.builtin()), policy=POLICY, prices=cost.Prices(), **kw)  # type: ignore[arg-type]


def decide(app: dict, old: dict | None = None, **kw: object) -> reconcile.Decision:
    return reconcile.decide(body=app, old_status=old or {}, world=world(**kw), now=NOW)


def status(d: reconcile.Decision, answers: reconcile.Answers = reconcile.NOTHING_LIVE) -> dict:
    return reconcile.status_after(d, answers)


def cond(status: dict, type_: str) -> dict:
    return next(c for c in status["conditions"] if c["type"] == type_)


STALLS = {
    "invalid-spec": ({"replicas": -1}, "InvalidSpec", "spec.replicas: Input should be greater than or equal to 0"),
    "no-template": ({"template": "nope"}, "TemplateNotFound", "no template named 'nope'"),
    "bad-parameters": (
        {"parameters": {"autoscale": {"max": "x"}}},
        "InvalidParameters",
        "spec.parameters.autoscale.max",
    ),
}


@pytest.mark.parametrize("spec,reason,text", STALLS.values(), ids=STALLS.keys())
def test_permanent_problems_stall(spec: dict, reason: str, text: str) -> None:
    d = decide(body(**spec))
    assert isinstance(d, reconcile.Stall) and d.estimate is None
    assert (cond(d.status, "Stalled")["reason"], cond(d.status, "Ready")["status"]) == (reason, "False")
    assert text in cond(d.status, "Stalled")["message"]
    assert d.status["observedGeneration"] == 2 and d.status["phase"] == "Failed"


def test_an_invalid_spec_still_reports_identity_violations() -> None:
    app = body(replicas=-1)
    del app["metadata"]["annotations"]["microapp.dev/owner"]
    d = decide(app)
    assert d.violations == ["metadata.annotations.microapp.dev/owner is required (the owner's user name)"]


def test_a_first_rollout_over_a_deny_budget_is_held_and_a_running_app_only_flagged() -> None:
    tb = budget.TeamBudget("finance", Decimal("5"))
    held = decide(body(), budget=tb)
    assert isinstance(held, reconcile.Hold) and held.estimate > 5
    assert cond(held.status, "Ready")["reason"] == "OverBudget"
    running = decide(
        body(), {"inventory": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"}]}, budget=tb
    )
    assert isinstance(running, reconcile.Apply)
    assert cond(status(running), "WithinBudget")["status"] == "False"


def test_a_warn_budget_never_holds() -> None:
    assert isinstance(decide(body(), budget=budget.TeamBudget("finance", Decimal("5"), "Warn")), reconcile.Apply)


def test_policy_violations_hold_a_first_rollout() -> None:
    d = decide(body(image="docker.io/shop:1"))
    assert isinstance(d, reconcile.Hold)
    assert cond(d.status, "PolicyCompliant")["status"] == "False"
    assert d.violations == ["spec.image 'docker.io/shop:1' is not from an allowed registry (registry.internal/)"]


def test_apply_carries_objects_inventory_status_and_the_resolution_event() -> None:
    d = decide(body())
    assert isinstance(d, reconcile.Apply)
    assert [o["kind"] for o in d.objects] == [
        "ServiceAccount",
        "NetworkPolicy",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    ]
    assert d.inventory == status(d)["inventory"] and status(d)["selector"] == "microapp.dev/name=shop"
    assert cond(status(d), "Ready")["reason"] == "Progressing"  # nothing live yet
    assert d.resolved == "rendered from web-service@1.1.0 (newest: 1.1.0)"
    assert decide(body(), {"template": {"version": "1.1.0"}}).resolved is None  # type: ignore[union-attr]
    assert d.requeue_after is None


def test_the_team_total_counts_a_held_reservation_instead_of_the_new_estimate() -> None:
    others = Decimal("10")
    w = world(committed_others=others)
    assert reconcile.committed(w, "finance", Decimal("3")) == Decimal("13")
    w = world(committed_others=others, reserved=Entry("finance", Decimal("7")))
    assert reconcile.committed(w, "finance", Decimal("3")) == Decimal("17")
    w = world(committed_others=others, reserved=Entry("hr", Decimal("7")))  # moved teams: counts for hr
    assert reconcile.committed(w, "finance", Decimal("3")) == Decimal("10")


def test_an_unchanged_generation_keeps_its_pinned_version() -> None:
    assert reconcile.pinned_version({"observedGeneration": 2, "template": {"version": "1.0.0"}}, 2) == "1.0.0"
    assert reconcile.pinned_version({"observedGeneration": 1, "template": {"version": "1.0.0"}}, 2) is None


def test_the_lifecycle_status_carries_nulls_only_to_clear_what_is_there() -> None:
    first = decide(body())
    assert isinstance(first, reconcile.Apply)
    assert None not in status(first)["lifecycle"].values()
    stored = {**status(first), "lifecycle": {**status(first)["lifecycle"], "idleSince": "2026-11-01T00:00:00Z"}}
    again = decide(body(), stored)
    assert status(again)["lifecycle"]["idleSince"] is None  # cleared on the server by the merge patch


def test_the_status_after_an_apply_comes_from_the_children_as_answered() -> None:
    d = decide(body())
    assert isinstance(d, reconcile.Apply)
    ready = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop", "generation": 1}}
    ready["status"] = {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2}
    ready["status"]["availableReplicas"] = 2
    ready["spec"] = {"replicas": 2}
    children = {("apps/v1", "Deployment", "shop"): ready}
    assert (
        cond(status(d), "Ready")["message"] != cond(status(d, reconcile.Answers(children=children)), "Ready")["message"]
    )


@pytest.mark.parametrize(
    "answers,reason,text",
    [
        (reconcile.Answers(conflicts=("Service shop exists and is not this app's",)), "NameConflict", "Service shop"),
        (reconcile.Answers(refused="quota exceeded"), "ApplyFailed", "the API server refused an object: quota"),
    ],
    ids=["name-conflict", "apply-failed"],
)
def test_the_core_builds_the_stall_of_an_apply_that_could_not_be_carried_out(
    answers: reconcile.Answers, reason: str, text: str
) -> None:
    d = decide(body())
    new = status(d, answers)
    assert (new["phase"], cond(new, "Stalled")["reason"]) == ("Failed", reason)
    assert text in cond(new, "Stalled")["message"] and not answers.carried_out


def test_a_foreign_child_is_a_conflict() -> None:
    d = decide(body())
    assert isinstance(d, reconcile.Apply)
    foreign = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop", "uid": "x"}}
    assert reconcile.conflicts(d, {}) == ()
    found = reconcile.conflicts(d, {("v1", "Service", "shop"): foreign})
    assert len(found) == 1 and "Service" in found[0]


def test_the_settled_key_is_every_input_of_the_decision_so_a_new_one_joins_it() -> None:
    """The reconciler skips a settled app while ``World.key()`` is unchanged: a field added to
    the decision's inputs must change the key without anyone listing it a second time."""
    assert world().key() == world().key()
    assert world(committed_others=Decimal(1)).key() != world().key()
    assert world(catalog_version=2).key() != world().key()

    @dataclass(frozen=True)
    class Wider(reconcile.World):
        region: str = "eu"

    base = dict(templates=(), policy=POLICY, prices=cost.Prices())
    assert Wider(**base, region="us").key() != Wider(**base).key()  # type: ignore[arg-type]
    # the bulky inputs are stood for by their versions, not compared themselves
    assert world().key() == reconcile.World(templates=(), policy=POLICY, prices=cost.Prices()).key()
