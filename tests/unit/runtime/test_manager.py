"""The manager: composes the runtime, routes Kopf's events, and dies loudly with a task."""

from __future__ import annotations

import asyncio
import logging

import pytest

from microapp_operator.api.kinds import MICROAPP
from microapp_operator.core import budget
from microapp_operator.core.shard import Shard
from microapp_operator.runtime.manager import Manager
from microapp_operator.runtime.world import BudgetObject
from tests.fake_kube import FakeKube
from tests.unit.runtime.harness import Runtime, microapp


async def test_a_background_task_that_dies_stops_the_manager_with_one_clear_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rt = Runtime()
    fatal: list[str] = []
    rt.manager.on_fatal = fatal.append

    async def broken(interval: float = 1.0) -> None:
        raise RuntimeError("ledger exploded")

    rt.manager.budgets.run = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.CRITICAL):
        await asyncio.wait_for(rt.manager.run(), timeout=5)  # returns: it does not hang half-alive
    assert fatal == ["background task budget-status died: RuntimeError: ledger exploded"]
    assert rt.manager.ready() is False
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert lines == [
        "background task budget-status died: RuntimeError: ledger exploded; "
        "stopping the operator so that it is restarted"
    ]


async def test_the_manager_syncs_then_reconciles_and_becomes_ready() -> None:
    rt = Runtime()
    stored = rt.kube.put(microapp())
    rt.manager.app_event("ADDED", stored)
    task = asyncio.create_task(rt.manager.run())
    try:
        await asyncio.wait_for(rt.manager.synced.wait(), timeout=5)
        assert rt.manager.ready() is True
        status = rt.kube.stored(MICROAPP, "ns", "shop")["status"]
        assert status["template"]["name"] == "web-service" and status["observedGeneration"] == 1
        assert rt.manager.budgets.ledger.apps[("ns", "shop")].team == "finance"  # primed and accounted
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_deleted_app_leaves_no_trace_in_ledger_phases_or_findings() -> None:
    async with Runtime() as rt:
        key = rt.add(microapp(image="docker.io/x:1"))
        await rt.reconciler.reconcile(key)
        assert key in rt.manager.budgets.ledger.apps and key in rt.reconciler.phases
        rt.manager.app_event("DELETED", rt.kube.stored(MICROAPP, *key))
        assert key not in rt.manager.budgets.ledger.apps
        assert key not in rt.reconciler.phases and key not in rt.manager.reports.findings


async def test_resync_enqueues_every_app_at_a_jittered_moment_within_the_interval() -> None:
    rt = Runtime()
    rt.manager.resync_interval = 60
    for name in ("a", "b", "c"):
        rt.manager.world.app_event("ADDED", microapp(name))
    scheduled: list[tuple[tuple[str, str], float]] = []
    rt.manager.queue.add_after = lambda key, delay: scheduled.append((key, delay))  # type: ignore[method-assign]
    task = asyncio.create_task(rt.manager._resync())
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert sorted(k for k, _ in scheduled) == [("ns", "a"), ("ns", "b"), ("ns", "c")]
    assert all(0 <= d <= 60 for _, d in scheduled) and len({d for _, d in scheduled}) == 3


def test_a_sharded_manager_keeps_only_its_namespaces_and_says_why_it_refuses() -> None:
    manager = Manager(FakeKube(), shard=Shard.parse("a", ["a", "b"]))  # type: ignore[arg-type]
    manager.shards.accepted |= {"mine"}
    manager.shards.owned |= {"mine"}
    manager.shards.namespaces.update(
        {
            "mine": {"metadata": {"name": "mine", "labels": {}}},
            "theirs": {"metadata": {"name": "theirs", "labels": {"microapp.dev/shard": "b"}}},
        }
    )
    for ns in ("theirs", "mine"):
        body = microapp("shop")
        body["metadata"]["namespace"] = ns
        manager.app_event("ADDED", body)
    assert list(manager.world.apps) == [("mine", "shop")]
    code, message = manager.admission.refusal("theirs", "finance") or (0, "")
    assert code == 503 and "being handed over" in message and "(a to b)" in message
    assert manager.admission.refusal("mine", "finance") is None
    # A team with a budget and namespaces in both shards: refused, with the fix.
    manager.world.policy_event(
        "ADDED",
        {
            "metadata": {"name": "default"},
            "spec": {"teams": [{"name": "finance", "groups": ["g"], "namespaces": ["mine", "theirs"]}]},
        },
    )
    manager.world.budgets["finance"] = BudgetObject(
        "finance", 1, budget.TeamBudget.from_spec({"team": "finance", "monthlyLimit": "100"})
    )
    code, message = manager.admission.refusal("mine", "finance") or (0, "")
    assert code == 403 and "shard a: mine; shard b: theirs" in message
    assert not manager.budgets.keeps_team("finance")


def test_an_operator_limited_to_namespaces_refuses_the_others_with_the_flag_named() -> None:
    manager = Manager(FakeKube(), shard=Shard.parse(None, [], ["team-a"]))  # type: ignore[arg-type]
    code, message = manager.admission.refusal("team-b", "finance") or (0, "")
    assert code == 403 and "not one of this microapp operator's namespaces (--namespace team-a)" in message
    assert manager.admission.refusal("team-a", "finance") is None
