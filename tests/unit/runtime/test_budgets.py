"""Budgets under a reconcile backlog: reservations hold until priced; held apps are released."""

from __future__ import annotations

import asyncio

from microapp_operator.api.kinds import MICROAPP
from microapp_operator.runtime.kube import KubeError
from tests.unit.runtime.harness import Runtime, microapp

USER = {"username": "alice", "groups": ["finance-devs"]}


def admitted(rt: Runtime, name: str) -> tuple[dict, bool]:
    """A three-replica app (8.08 a month) as admission sees its create."""
    body = microapp(name, replicas=3)
    body["metadata"].update(uid=f"u-{name}", generation=1)
    decision = rt.manager.admission.admit(body, None, user=USER, dryrun=False)
    return body, decision.allowed


def frozen_clock(rt: Runtime) -> list[float]:
    clock = [0.0]
    rt.manager.budgets.ledger.clock = lambda: clock[0]
    return clock


def budget(rt: Runtime, limit: str) -> None:
    rt.manager.budget_event(
        "ADDED",
        rt.kube.put(
            {
                "apiVersion": "microapp.dev/v1alpha1",
                "kind": "TeamBudget",
                "metadata": {"name": "finance"},
                "spec": {"team": "finance", "monthlyLimit": limit},
            }
        ),
    )


async def test_a_reservation_outlives_a_backlog_far_longer_than_the_old_30s() -> None:
    async with Runtime() as rt:
        clock = frozen_clock(rt)
        budget(rt, "12")
        first, allowed = admitted(rt, "first")
        assert allowed
        rt.manager.app_event("ADDED", first)  # the apply arrived; the reconcile queue is backed up
        clock[0] = 3600.0  # an hour later, still not reconciled
        assert admitted(rt, "second")[1] is False  # the last of the budget is still reserved
        stored = rt.kube.put(first)
        rt.manager.app_event("MODIFIED", stored)
        await rt.reconciler.reconcile(("ns", "first"))  # priced: the estimate replaces the reservation
        assert rt.manager.budgets.ledger.reservation(("ns", "first")) is None
        assert ("ns", "first") in rt.manager.budgets.ledger.apps


async def test_a_reservation_whose_apply_never_came_expires() -> None:
    async with Runtime() as rt:
        clock = frozen_clock(rt)
        budget(rt, "12")
        assert admitted(rt, "lost")[1]
        assert admitted(rt, "meanwhile")[1] is False  # reserved: the team total would pass 12
        clock[0] = 61.0  # another webhook refused it: no event ever came
        assert admitted(rt, "retry")[1]


async def test_held_apps_are_requeued_when_their_teams_total_drops() -> None:
    async with Runtime() as rt:
        budget(rt, "8")
        big = rt.add(microapp("big", replicas=2))
        await rt.reconciler.reconcile(big)
        held = rt.add(microapp("held", replicas=2))
        await rt.reconciler.reconcile(held)
        assert rt.condition(held, "Ready")["reason"] == "OverBudget"
        queued: list = []
        rt.manager.queue.add = queued.append  # type: ignore[method-assign]
        rt.manager.app_event("DELETED", rt.kube.stored(MICROAPP, *big))
        assert queued == [held]
        rt.manager.queue.add = lambda key: None  # type: ignore[method-assign]
        rt.manager.world.apps[held] = rt.kube.stored(MICROAPP, *held)
        await rt.reconciler.reconcile(held)
        assert rt.condition(held, "Ready")["reason"] != "OverBudget"


async def test_priming_reads_the_apps_in_pages_retries_and_keeps_to_the_shard() -> None:
    """1,100 apps (three pages); the first read fails once (API server restarting); apps of
    other shards' namespaces are neither priced nor handed on."""
    async with Runtime() as rt:
        for i in range(1100):
            body = microapp(f"a{i:04d}")
            body["metadata"]["namespace"] = "mine" if i % 2 else "theirs"
            rt.kube.put(body)
        rt.kube.fail("list", KubeError(503, "etcd leader changed"))
        budgets, seen = rt.manager.budgets, []
        count = await asyncio.wait_for(budgets.prime(lambda ns: ns == "mine", each=seen.append), 10)
        assert count == len(seen) == 550 and {i["metadata"]["namespace"] for i in seen} == {"mine"}
        assert {k[0] for k in budgets.ledger.apps if k[1].startswith("a")} == {"mine"}
        assert sum(c[:2] == ("list", "MicroApp") for c in rt.kube.calls) == 1 + 3


async def test_a_second_budget_for_a_team_is_stalled_until_the_first_goes() -> None:
    """Two TeamBudgets for one team: the newer one says it is not enforced and which one is;
    once the older is deleted, the newer is in force and reports the team's totals."""
    from microapp_operator.api.kinds import TEAMBUDGET

    def teambudget(name: str, created: str, limit: str) -> dict:
        return {
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "TeamBudget",
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"team": "finance", "monthlyLimit": limit},
        }

    async with Runtime() as rt:
        older = rt.kube.put(teambudget("finance", "2026-11-01T00:00:00Z", "100"))
        rt.manager.budget_event("ADDED", older)
        rt.manager.budget_event("ADDED", rt.kube.put(teambudget("finance-2", "2026-11-02T00:00:00Z", "5")))
        budgets = rt.manager.budgets
        run = asyncio.create_task(budgets.run(interval=0.01))
        try:
            await asyncio.sleep(0.1)
            stalled = rt.kube.stored(TEAMBUDGET, "", "finance-2")["status"]
            cond = {c["type"]: c for c in stalled["conditions"]}
            assert (cond["Stalled"]["status"], cond["Stalled"]["reason"]) == ("True", "DuplicateBudget")
            assert "team finance's budget is TeamBudget finance" in cond["Stalled"]["message"]
            assert "WithinBudget" not in cond and "committedMonthly" not in stalled
            assert rt.kube.stored(TEAMBUDGET, "", "finance")["status"]["remaining"] == "100.00"
            rt.kube.remove(TEAMBUDGET, "", "finance")
            rt.manager.budget_event("DELETED", older)
            await asyncio.sleep(0.1)
            taken_over = rt.kube.stored(TEAMBUDGET, "", "finance-2")["status"]
            assert taken_over["remaining"] == "5.00"
            assert {c["type"] for c in taken_over["conditions"]} == {"WithinBudget"}
        finally:
            run.cancel()
