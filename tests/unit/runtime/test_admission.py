"""The one admission door: ``review(request) -> verdict`` does every check in one pass."""

from __future__ import annotations

import pytest

from microapp_operator.core import pricing
from microapp_operator.runtime import admission
from microapp_operator.runtime.admission import Request
from tests.unit.runtime.harness import Runtime, microapp

USER = {"username": "alice", "groups": ["finance-devs"]}


def create(name: str = "shop", **spec: object) -> Request:
    body = microapp(name, **spec)
    body["metadata"]["uid"] = f"u-{name}"
    return Request("CREATE", body, None, USER)


def count_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = pricing.price

    def counted(app, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(app.name)
        return real(app, *args, **kwargs)

    monkeypatch.setattr(admission.pricing, "price", counted)
    return calls


async def test_an_allowed_create_reserves_its_estimate() -> None:
    async with Runtime() as rt:
        verdict = await rt.manager.admission.review(create())
        assert verdict.allowed and verdict.code == 200
        reserved = rt.manager.budgets.ledger.reservation(("ns", "shop"))
        assert reserved is not None and reserved.team == "finance" and reserved.amount > 0


async def test_a_dry_run_reserves_nothing_and_problems_are_listed_at_once() -> None:
    async with Runtime() as rt:
        request = create()
        del request.new["metadata"]["annotations"]["microapp.dev/owner"]
        request.new["spec"]["image"] = "docker.io/shop"
        verdict = await rt.manager.admission.review(Request("CREATE", request.new, None, USER, dryrun=True))
        assert (verdict.allowed, verdict.code) == (False, 403)
        assert verdict.message.startswith("the MicroApp was refused:\n- ")
        assert "microapp.dev/owner" in verdict.message and verdict.message.count("\n- ") >= 2
        assert rt.manager.budgets.ledger.reservation(("ns", "shop")) is None


async def test_a_name_taken_by_someone_else_is_refused_and_the_app_rendered_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Runtime() as rt:
        rt.kube.put({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop", "namespace": "ns"}})
        renders = count_renders(monkeypatch)
        verdict = await rt.manager.admission.review(create())
        assert not verdict.allowed and "Service 'shop' (v1) in namespace ns already exists" in verdict.message
        assert renders == ["shop"]  # the collision check's render is the one priced


async def test_kubectl_scale_is_checked_against_the_budget() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp("shop", replicas=1))
        rt.manager.budget_event(
            "ADDED",
            rt.kube.put(
                {
                    "apiVersion": "microapp.dev/v1alpha1",
                    "kind": "TeamBudget",
                    "metadata": {"name": "finance"},
                    "spec": {"team": "finance", "monthlyLimit": "10"},
                }
            ),
        )
        scale = {"metadata": {"namespace": key[0], "name": key[1]}, "spec": {"replicas": 40}}
        verdict = await rt.manager.admission.review(Request("UPDATE", scale, None, USER, subresource="scale"))
        assert (verdict.allowed, verdict.code) == (False, 403) and "budget" in verdict.message.lower()
        small = {**scale, "spec": {"replicas": 2}}
        assert (await rt.manager.admission.review(Request("UPDATE", small, None, USER, subresource="scale"))).allowed


async def test_a_namespace_of_another_operator_is_refused_before_anything_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Runtime() as rt:
        rt.manager.shards.owns = lambda namespace: False  # type: ignore[method-assign]
        rt.manager.shards.shard = rt.manager.shards.shard.__class__(only=frozenset({"other"}))
        renders = count_renders(monkeypatch)
        verdict = await rt.manager.admission.review(create())
        assert (verdict.allowed, verdict.code) == (
            False,
            403,
        ) and "not one of this microapp operator" in verdict.message
        assert renders == []


async def test_the_manager_refuses_reviews_until_its_first_sync() -> None:
    async with Runtime() as rt:
        verdict = await rt.manager.review(create(), starting=0.01)
        assert (verdict.allowed, verdict.code) == (False, 503) and "still starting" in verdict.message
        rt.manager.synced.set()
        assert (await rt.manager.review(create())).allowed
