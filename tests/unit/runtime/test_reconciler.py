"""Each reconciler branch over the fake API: stall, hold, apply, failures, prune, no-op."""

from __future__ import annotations

import pytest

from microapp_operator.api.kinds import DEPLOYMENT, INGRESS, KNATIVE_SERVICE, MICROAPP, RESOURCES, SERVICE, TEAMBUDGET
from microapp_operator.runtime.kube import KubeError
from microapp_operator.runtime.queue import Retry
from tests.unit.runtime.harness import Runtime, microapp

SERVICEACCOUNT = RESOURCES[("v1", "ServiceAccount")]


async def test_a_missing_template_stalls_the_app_and_applies_nothing() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp(template="no-such-template"))
        await rt.reconciler.reconcile(key)
        stalled = rt.condition(key, "Stalled")
        assert (stalled["status"], stalled["reason"]) == ("True", "TemplateNotFound")
        assert "no template named 'no-such-template'" in stalled["message"]
        assert rt.status(key)["phase"] == "Failed"
        assert rt.applied() == []
        assert [e["reason"] for e in rt.kube.events] == ["TemplateNotFound"]


async def test_a_first_rollout_over_a_deny_budget_is_held() -> None:
    async with Runtime() as rt:
        rt.manager.budget_event(
            "ADDED",
            rt.kube.put(
                {
                    "apiVersion": "microapp.dev/v1alpha1",
                    "kind": "TeamBudget",
                    "metadata": {"name": "finance"},
                    "spec": {"team": "finance", "monthlyLimit": "1"},
                }
            ),
        )
        key = rt.add(microapp(replicas=3))
        await rt.reconciler.reconcile(key)
        ready = rt.condition(key, "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "OverBudget")
        assert ready["message"].startswith("not rolled out: team finance is over its budget")
        assert rt.status(key)["phase"] == "Pending" and rt.applied() == []
        assert rt.kube.stored(TEAMBUDGET, "", "finance") is not None


async def test_apply_then_an_unchanged_app_costs_zero_writes() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp())
        await rt.reconciler.reconcile(key)
        assert sorted(rt.applied()) == ["Deployment/shop", "NetworkPolicy/shop", "Service/shop", "ServiceAccount/shop"]
        assert [e["reason"] for e in rt.kube.events][:1] == ["Applied"]  # one Event for the step
        assert rt.kube.events[0]["message"].endswith("; rendered from web-service@1.1.0 (newest: 1.1.0)")
        assert "TemplateResolved" not in [e["reason"] for e in rt.kube.events]
        assert [e["kind"] for e in rt.status(key)["inventory"]] == [
            "ServiceAccount",
            "NetworkPolicy",
            "Deployment",
            "Service",
        ]
        for _ in range(3):  # the cache takes in the children, status follows them, then nothing moves
            await rt.settle()
            rt.manager.world.apps[key] = rt.kube.stored(MICROAPP, *key)
            await rt.reconciler.reconcile(key)
        writes = rt.kube.writes
        await rt.reconciler.reconcile(key)
        assert rt.kube.writes == writes


async def test_a_first_rollout_writes_status_once_per_state_not_once_per_step() -> None:
    """The first status is made from what the applies answered (not "waiting to be created"),
    and the Deployment controller's steps before a Pod is available write nothing more: two
    status writes for an app with a Deployment, Progressing then Ready."""
    async with Runtime() as rt:
        key = rt.add(microapp(replicas=1))

        async def step(status: dict) -> None:
            dep = rt.kube.stored(DEPLOYMENT, *key)
            rt.kube.put({**dep, "status": {"observedGeneration": dep["metadata"]["generation"], **status}})
            await rt.settle()
            rt.manager.world.apps[key] = rt.kube.stored(MICROAPP, *key)
            await rt.reconciler.reconcile(key)

        await rt.reconciler.reconcile(key)
        ready = rt.condition(key, "Ready")
        assert (ready["status"], ready["message"]) == ("False", "Deployment shop: rolling out, 0 of 1 Pods available")
        await step({"replicas": 0})
        await step({"replicas": 1, "updatedReplicas": 1})
        assert sum(c[0] == "patch_status" for c in rt.kube.calls) == 1
        await step({"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1})
        assert (rt.condition(key, "Ready")["status"], rt.status(key)["replicas"]) == ("True", 1)
        assert sum(c[0] == "patch_status" for c in rt.kube.calls) == 2


async def test_an_object_the_api_server_refuses_stalls_the_app() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp())
        rt.kube.fail("apply", KubeError(422, 'Deployment.apps "shop" is invalid: spec.replicas: Invalid value'))
        await rt.reconciler.reconcile(key)
        stalled = rt.condition(key, "Stalled")
        assert (stalled["status"], stalled["reason"]) == ("True", "ApplyFailed")
        assert stalled["message"] == (
            'the API server refused an object: Deployment.apps "shop" is invalid: spec.replicas: Invalid value'
        )


@pytest.mark.parametrize("status", [0, 409, 429, 503])
async def test_transient_api_trouble_is_retried_not_stalled(status: int) -> None:
    async with Runtime() as rt:
        key = rt.add(microapp())
        rt.kube.fail("apply", KubeError(status, "try again"))
        with pytest.raises(Retry):
            await rt.reconciler.reconcile(key)
        assert rt.status(key) == {}


async def test_prune_deletes_only_what_this_app_controls() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp())
        uid = rt.kube.stored(MICROAPP, *key)["metadata"]["uid"]
        owner = {"apiVersion": "microapp.dev/v1alpha1", "kind": "MicroApp", "name": "shop", "controller": True}
        ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "spec": {}}
        rt.kube.put(
            {**ingress, "metadata": {"name": "shop", "namespace": "ns", "ownerReferences": [{**owner, "uid": uid}]}}
        )
        rt.kube.put(
            {
                **ingress,
                "metadata": {
                    "name": "shop-old",
                    "namespace": "ns",
                    "ownerReferences": [{**owner, "uid": "someone-else"}],
                },
            }
        )
        rt.kube.put({**ingress, "metadata": {"name": "shop-x", "namespace": "ns"}})
        body = rt.kube.stored(MICROAPP, *key)
        body["status"] = {
            "inventory": [
                {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": n}
                for n in ("shop", "shop-old", "shop-x")
            ]
        }
        rt.manager.app_event("MODIFIED", body)
        await rt.reconciler.reconcile(key)
        assert rt.kube.stored(INGRESS, "ns", "shop") is None
        assert rt.kube.stored(INGRESS, "ns", "shop-old") is not None
        assert rt.kube.stored(INGRESS, "ns", "shop-x") is not None
        assert any(e["reason"] == "Pruned" and e["message"] == "deleted Ingress/shop" for e in rt.kube.events)


async def test_an_app_deleted_meanwhile_is_left_alone() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp())
        rt.kube.remove(MICROAPP, *key)  # gone from the API; Kopf's DELETED not yet delivered
        await rt.reconciler.reconcile(key)  # the status write meets 404: no error, no retry
        assert rt.kube.stored(DEPLOYMENT, "ns", "shop") is not None
        rt.manager.app_event("DELETED", {"metadata": {"namespace": "ns", "name": "shop"}})
        calls = len(rt.kube.calls)
        await rt.reconciler.reconcile(key)
        assert len(rt.kube.calls) == calls and rt.manager.budgets.ledger.apps == {}


async def test_a_foreign_object_with_a_rendered_name_stalls_the_app_and_nothing_is_applied() -> None:
    async with Runtime() as rt:
        foreign = rt.kube.put(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "spec": {"ports": [{"port": 1}]},
                "metadata": {"name": "shop", "namespace": "ns"},
            }
        )
        key = rt.add(microapp())
        await rt.reconciler.reconcile(key)
        stalled = rt.condition(key, "Stalled")
        assert (stalled["status"], stalled["reason"]) == ("True", "NameConflict")
        assert stalled["message"].startswith("Service 'shop' (v1) in namespace ns already exists and is not managed")
        assert rt.applied() == []
        assert rt.kube.stored(SERVICE, "ns", "shop") == foreign


async def test_an_object_created_by_someone_else_meanwhile_is_not_taken_over() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp())
        real_lookup = rt.manager.cache.lookup

        async def racing(objects):  # noqa: ANN001, ANN202 - the GET saw nothing; then someone creates it
            live = await real_lookup(objects)
            rt.kube.put({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "shop", "namespace": "ns"}})
            return live

        rt.manager.cache.lookup = racing  # type: ignore[method-assign]
        with pytest.raises(Retry):
            await rt.reconciler.reconcile(key)  # first apply is not forced: the server refuses it
        rt.manager.cache.lookup = real_lookup  # type: ignore[method-assign]
        await rt.reconciler.reconcile(key)
        assert rt.condition(key, "Stalled")["reason"] == "NameConflict"
        assert "ownerReferences" not in rt.kube.stored(SERVICEACCOUNT, "ns", "shop")["metadata"]


async def test_a_missing_runtime_stalls_until_its_crd_appears() -> None:
    async with Runtime() as rt:
        rt.kube.absent.add(KNATIVE_SERVICE)
        rt.manager.cache.retry_absent = 0.05
        rt.manager.cache.present[KNATIVE_SERVICE] = False
        rt.manager.cache.objects[KNATIVE_SERVICE].clear()
        rt.kube.drop_watches(KNATIVE_SERVICE)
        await rt.settle()
        key = rt.add(microapp(template="serverless-function"))
        await rt.reconciler.reconcile(key)
        stalled = rt.condition(key, "Stalled")
        assert (stalled["reason"], rt.applied()) == ("RuntimeUnavailable", [])
        assert "renders a serving.knative.dev/v1 Service, which this cluster does not serve" in stalled["message"]
        queued = []
        rt.manager.queue.add = queued.append  # type: ignore[method-assign]
        rt.kube.absent.discard(KNATIVE_SERVICE)  # the platform team installs Knative
        for _ in range(50):
            await rt.settle()
            if queued:
                break
        assert key in queued  # re-checked without a restart
        rt.manager.world.apps[key] = rt.kube.stored(MICROAPP, *key)
        await rt.reconciler.reconcile(key)
        assert "Service/shop" in rt.applied() and not rt.condition(key, "Stalled")


async def test_throttling_is_retried_after_the_servers_retry_after() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp())
        rt.kube.fail("apply", KubeError(429, "too many requests", retry_after=7))
        with pytest.raises(Retry) as err:
            await rt.reconciler.reconcile(key)
        assert err.value.retry_after == 7


async def test_a_terminal_status_write_error_is_logged_once_and_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    async with Runtime() as rt:
        key = rt.add(microapp(template="nope"))
        for _ in range(3):
            rt.kube.fail("patch_status", KubeError(422, "status.phase: Unsupported value"))
            await rt.reconciler.reconcile(key)  # no exception: nothing a retry could fix
        lines = [r.getMessage() for r in caplog.records if "status not written" in r.getMessage()]
        assert len(lines) == 1 and "422: status.phase: Unsupported value" in lines[0]


async def test_prune_errors_are_retried_not_crashes() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp())
        uid = rt.kube.stored(MICROAPP, *key)["metadata"]["uid"]
        rt.kube.put(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "spec": {},
                "metadata": {
                    "name": "shop",
                    "namespace": "ns",
                    "ownerReferences": [{"kind": "MicroApp", "name": "shop", "uid": uid, "controller": True}],
                },
            }
        )
        body = rt.kube.stored(MICROAPP, *key)
        body["status"] = {"inventory": [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "shop"}]}
        rt.manager.app_event("MODIFIED", body)
        rt.kube.fail("delete", KubeError(403, "forbidden"))
        with pytest.raises(Retry, match="prune: 403: forbidden"):
            await rt.reconciler.reconcile(key)
        await rt.reconciler.reconcile(key)
        assert rt.kube.stored(INGRESS, "ns", "shop") is None


async def settled(rt: Runtime, key: tuple[str, str], *, available: bool = True) -> None:
    """Reconcile until a reconcile changes nothing (the cache has the children, status follows).
    ``available``: its Deployment's Pods become available, as the controller-manager would make them."""
    for _ in range(4):
        await rt.settle()
        dep = rt.kube.stored(DEPLOYMENT, *key)
        if available and dep is not None and not (dep.get("status") or {}).get("availableReplicas"):
            n = dep["spec"].get("replicas", 1)
            ready = {"replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n}
            rt.kube.put({**dep, "status": {"observedGeneration": dep["metadata"]["generation"], **ready}})
            await rt.settle()
        rt.manager.world.apps[key] = rt.kube.stored(MICROAPP, *key)
        await rt.reconciler.reconcile(key)


def decisions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per reconcile that reached the (pure) decision."""
    from microapp_operator.core import reconcile

    decided: list[int] = []
    real = reconcile.decide
    monkeypatch.setattr(reconcile, "decide", lambda **kw: decided.append(1) or real(**kw))
    return decided


async def test_an_unchanged_app_is_not_decided_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resync of a settled app skips the plan, the estimate and the drift check."""
    async with Runtime() as rt:
        key = rt.add(microapp())
        await settled(rt, key)
        decided = decisions(monkeypatch)
        skipped = rt.reconciler.settled.skipped
        await rt.reconciler.reconcile(key)
        assert (decided, rt.reconciler.settled.skipped) == ([], skipped + 1)

        # each input the decision reads makes it decide again
        rt.manager.world.catalog_version += 1
        await rt.reconciler.reconcile(key)
        assert len(decided) == 1
        await rt.reconciler.reconcile(key)  # remembered again: nothing changed
        assert len(decided) == 1
        rt.manager.world.activity[key] = rt.reconciler.clock()
        await rt.reconciler.reconcile(key)
        assert len(decided) == 2


async def test_a_changed_child_or_app_is_decided_again(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Runtime() as rt:
        key = rt.add(microapp())
        await settled(rt, key)
        decided = decisions(monkeypatch)
        deployment = rt.kube.stored(DEPLOYMENT, "ns", "shop")
        deployment["spec"]["replicas"] = 5  # someone edits a child: drift
        rt.kube.put(deployment)
        await rt.settle()
        writes = rt.kube.writes
        await rt.reconciler.reconcile(key)
        assert len(decided) == 1 and rt.kube.stored(DEPLOYMENT, "ns", "shop")["spec"]["replicas"] == 1
        assert rt.kube.writes > writes  # the drift was put right
        await settled(rt, key)
        count = len(decided)
        app = rt.kube.stored(MICROAPP, *key)
        app["metadata"]["annotations"]["microapp.dev/last-activity"] = "2026-11-30T08:00:00Z"
        rt.manager.app_event("MODIFIED", rt.kube.put(app))  # a new resourceVersion
        await rt.reconciler.reconcile(key)
        assert len(decided) == count + 1
        rt.reconciler.forget(key)
        assert key not in rt.reconciler.settled.memory


async def test_a_time_based_decision_is_remembered_only_until_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    async with Runtime() as rt:
        key = rt.add(microapp(lifecycle={"idleAfter": "1h"}))
        await settled(rt, key)
        memory = rt.reconciler.settled.memory[key]
        assert memory.until is not None and memory.until <= rt.reconciler.clock() + timedelta(hours=1)
        decided = decisions(monkeypatch)
        await rt.reconciler.reconcile(key)
        assert decided == []
        later = memory.until
        rt.reconciler.clock = lambda: later
        await rt.reconciler.reconcile(key)
        assert decided == [1]
        assert rt.status(key)["phase"] == "Idle"  # the lifecycle acted on time


async def test_a_core_and_a_knative_service_of_one_name_are_both_applied_and_answered() -> None:
    """Identities are (apiVersion, kind, name): a template may render both kinds of Service."""
    from microapp_operator.runtime.reconciler import apply_changed
    from tests.fake_kube import FakeKube

    objects = tuple(
        {"apiVersion": api_version, "kind": "Service", "metadata": {"name": "fn", "namespace": "ns"}, "spec": {}}
        for api_version in ("v1", "serving.knative.dev/v1")
    )
    applied = await apply_changed(FakeKube(), objects, [None, None])
    assert sorted(applied) == [("serving.knative.dev/v1", "Service", "fn"), ("v1", "Service", "fn")]
    assert {answer["apiVersion"] for answer in applied.values()} == {"v1", "serving.knative.dev/v1"}


async def test_an_app_still_rolling_out_is_never_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """While Reconciling is True the app is decided again on every look (a child event or a
    resync), even when nothing it reads has a new resourceVersion: a child event that arrived
    while the previous reconcile ran can never be skipped by the settled check."""
    async with Runtime() as rt:
        key = rt.add(microapp(replicas=1))
        await settled(rt, key, available=False)  # the Deployment's Pod never becomes available
        assert rt.condition(key, "Reconciling")["status"] == "True"
        decided = decisions(monkeypatch)
        skipped = rt.reconciler.settled.skipped
        await rt.reconciler.reconcile(key)
        await rt.reconciler.reconcile(key)
        assert (len(decided), rt.reconciler.settled.skipped) == (2, skipped)
