"""The manager: composes the runtime, routes Kopf's events, and dies loudly with a task."""

from __future__ import annotations

import asyncio
import logging

import pytest

from microapp_operator.api.kinds import MICROAPP
from tests.unit.runtime.harness import Runtime, microapp


async def test_a_background_task_that_dies_stops_the_manager_with_one_clear_line(
        caplog: pytest.LogCaptureFixture) -> None:
    rt = Runtime()
    fatal: list[str] = []
    rt.manager.on_fatal = fatal.append

    async def broken(interval: float = 1.0) -> None:
        raise RuntimeError("ledger exploded")

    rt.manager.budgets.run = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.CRITICAL):
        await asyncio.wait_for(rt.manager.run(), timeout=5)   # returns: it does not hang half-alive
    assert fatal == ["background task budget-status died: RuntimeError: ledger exploded"]
    assert rt.manager.ready() is False
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert lines == ["background task budget-status died: RuntimeError: ledger exploded; "
                     "stopping the operator so that it is restarted"]


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
        assert rt.manager.budgets.ledger.apps[("ns", "shop")].team == "finance"   # primed and accounted
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
