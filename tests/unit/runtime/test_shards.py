"""The shard hand-over on the fake API: claim, release before claim, a dead holder, a conflict."""

from __future__ import annotations

import asyncio
from typing import Any

from microapp_operator import metrics
from microapp_operator.api.kinds import LEASE, NAMESPACE
from microapp_operator.core.shard import HOLDER_ANNOTATION, SHARD_LABEL, Shard
from microapp_operator.runtime.shards import Shards
from tests.fake_kube import FakeKube

NAMES = ("a", "b")


def namespace(name: str, shard: str | None = None, holder: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {SHARD_LABEL: shard} if shard else {},
            "annotations": {HOLDER_ANNOTATION: holder} if holder else {},
        },
    }


def lease(shard: str, holder: str = "x") -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": f"ops-{shard}", "namespace": "ops"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 4, "renewTime": "t0"},
    }


def shards(kube: FakeKube, name: str, log: list[tuple[str, str, str]], clock: list[float] | None = None) -> Shards:
    async def acquire(ns: str) -> None:
        log.append((name, "acquire", ns))

    async def release(ns: str) -> None:
        log.append((name, "release", ns))

    ticks = clock or [0.0]
    return Shards(
        kube,
        Shard.parse(name, NAMES),
        lease_namespace="ops",
        lease_prefix="ops",
        acquire=acquire,
        release=release,
        recheck=0.05,
        monotonic=lambda: ticks[0],
    )


def holder(kube: FakeKube, ns: str) -> str | None:
    return (kube.stored(NAMESPACE, "", ns)["metadata"].get("annotations") or {}).get(HOLDER_ANNOTATION)


async def until(predicate: Any, timeout: float = 2.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_each_shard_claims_its_namespaces_at_start_and_the_default_takes_the_unlabelled() -> None:
    kube, log = FakeKube(), []
    for ns in (namespace("x", "a"), namespace("y", "b"), namespace("z")):
        kube.put(ns)
    a, b = shards(kube, "a", log), shards(kube, "b", log)
    await a.start()
    await b.start()
    assert (holder(kube, "x"), holder(kube, "y"), holder(kube, "z")) == ("a", "b", "a")
    assert a.owned == {"x", "z"} and b.owned == {"y"}
    assert log == []  # at start the manager's first sync loads them: no per-namespace acquire
    writes = kube.writes
    again = shards(kube, "a", log)
    await again.start()  # a restart writes nothing: the annotations already name it
    assert kube.writes == writes and again.owned == {"x", "z"}


async def test_a_moved_namespace_is_released_by_the_old_shard_before_the_new_one_acquires_it() -> None:
    kube, log = FakeKube(), []
    kube.put(namespace("x", "a"))
    kube.put(lease("a"))
    a, b = shards(kube, "a", log), shards(kube, "b", log)
    tasks = [asyncio.create_task(s.run(await s.start())) for s in (a, b)]
    try:
        kube.put(namespace("x", "b", holder="a"))
        await until(lambda: "x" in b.owned)
        assert log == [("a", "release", "x"), ("b", "acquire", "x")]
        assert holder(kube, "x") == "b" and not a.owns("x") and a.handovers == 1
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_dead_holder_is_waited_for_until_its_lease_runs_out() -> None:
    kube, log, clock = FakeKube(), [], [0.0]
    kube.put(lease("a"))
    kube.put(namespace("x", "b", holder="a"))  # moved to b while a was down
    b = shards(kube, "b", log, clock)
    task = asyncio.create_task(b.run(await b.start()))
    try:
        assert b.waiting == {"x"} and holder(kube, "x") == "a"
        assert metrics.shard_namespaces.labels("waiting")._value.get() == 1
        clock[0] = 3.0
        await asyncio.sleep(0.2)
        assert "x" not in b.owned  # a's Lease is not yet 4 s old on b's clock
        clock[0] = 5.0
        await until(lambda: "x" in b.owned)
        assert holder(kube, "x") == "b" and log == [("b", "acquire", "x")]
        assert metrics.shard_namespaces.labels("held")._value.get() == 1
        assert metrics.shard_namespaces.labels("waiting")._value.get() == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_shard_without_a_lease_is_dead_at_once() -> None:
    kube, log = FakeKube(), []
    kube.put(namespace("x", "b", holder="a"))
    b = shards(kube, "b", log)
    await b.start()
    assert holder(kube, "x") == "b" and b.owned == {"x"}
    assert kube.stored(LEASE, "ops", "ops-a") is None


async def test_a_claim_that_lost_a_race_decides_again_on_the_new_namespace() -> None:
    kube, log = FakeKube(), []
    kube.put(namespace("x", "b"))
    b = shards(kube, "b", log)
    b.namespaces["x"] = {
        **kube.stored(NAMESPACE, "", "x"),
        "metadata": {**kube.stored(NAMESPACE, "", "x")["metadata"], "resourceVersion": "stale"},
    }
    b.started = True
    await b._consider("x")  # the stale version is refused with 409; the fresh one is claimed
    assert holder(kube, "x") == "b" and log == [("b", "acquire", "x")]


def test_unsharded_owns_every_namespace_or_the_listed_ones() -> None:
    kube = FakeKube()
    assert Shards(kube, Shard()).owns("anything")
    only = Shards(kube, Shard.parse(None, [], ["team-a"]))
    assert only.owns("team-a") and not only.accepts("team-b")


async def test_many_namespaces_held_by_one_peer_cost_one_lease_read_per_check() -> None:
    kube, log = FakeKube(), []
    kube.put(lease("a"))
    for name in ("x", "y", "z"):
        kube.put(namespace(name, "b", holder="a"))
    b = shards(kube, "b", log)
    await b.start()
    assert b.waiting == {"x", "y", "z"}
    assert [c for c in kube.calls if c[0] == "get" and c[1] == "Lease"] == [("get", "Lease", "ops", "ops-a")]
