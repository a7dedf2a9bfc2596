"""The elector against the in-memory API: one leader at a time, takeover after expiry, release,
renewal failures ending leadership."""

from __future__ import annotations

import asyncio

import pytest

from microapp_operator.api.kinds import LEASE
from microapp_operator.runtime.kube import KubeError
from microapp_operator.runtime.leader import Elector
from tests.fake_kube import FakeKube


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def elector(kube: FakeKube, identity: str, clock: Clock, **kw: float) -> Elector:
    return Elector(kube, "ops", "microapp-operator", identity, monotonic=clock, **kw)


async def test_first_replica_takes_the_lease_and_the_second_waits() -> None:
    kube, clock = FakeKube(), Clock()
    a, b = elector(kube, "a", clock), elector(kube, "b", clock)
    assert await a.try_once()
    assert not await b.try_once()
    assert b.holder == "a"
    lease = kube.stored(LEASE, "ops", "microapp-operator")
    assert lease["spec"]["holderIdentity"] == "a" and lease["spec"]["leaseDurationSeconds"] == 8
    assert kube.writes == 0  # lease writes are not counted as reconcile writes


async def test_standby_takes_over_only_after_the_lease_ran_out_on_its_own_clock() -> None:
    kube, clock = FakeKube(), Clock()
    a, b = elector(kube, "a", clock), elector(kube, "b", clock)
    await a.try_once()
    assert not await b.try_once()  # b starts its clock now
    clock.t += 7.9
    assert not await b.try_once()
    clock.t += 0.1
    assert await b.try_once()
    spec = kube.stored(LEASE, "ops", "microapp-operator")["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    assert not await a.try_once()  # the old leader sees it lost the lease


async def test_a_renewing_leader_is_never_displaced() -> None:
    kube, clock = FakeKube(), Clock()
    a, b = elector(kube, "a", clock), elector(kube, "b", clock)
    await a.try_once()
    for _ in range(10):
        clock.t += 5
        assert await a.try_once()
        assert not await b.try_once()


async def test_two_replicas_deciding_at_once_cannot_both_win() -> None:
    kube, clock = FakeKube(), Clock()
    a, b = elector(kube, "a", clock), elector(kube, "b", clock)
    await a.try_once()
    await b.try_once()
    clock.t += 100  # a stopped renewing; both c and b see it expired
    c = elector(kube, "c", clock)
    c.observed, c.lease = b.observed, b.lease
    results = [await b.try_once(), await c.try_once()]
    assert results.count(True) == 1  # the second write carried a stale resourceVersion: 409


async def test_release_hands_over_without_waiting() -> None:
    kube, clock = FakeKube(), Clock()
    a, b = elector(kube, "a", clock), elector(kube, "b", clock)
    await a.try_once()
    assert not await b.try_once()
    await a.release()  # as on a stop: leading already cleared by the cancelled run
    assert await b.try_once()  # no expiry wait
    await a.release()  # no longer the holder: writes nothing
    assert kube.stored(LEASE, "ops", "microapp-operator")["spec"]["holderIdentity"] == "b"


async def test_a_stopped_leader_releases_after_its_run_was_cancelled() -> None:
    kube = FakeKube()
    a = Elector(kube, "ops", "microapp-operator", "a", renew_every=0.01, retry=0.01)
    task = asyncio.create_task(a.run(lambda: asyncio.Event().wait(), lambda r: None))
    await asyncio.wait_for(a.leading.wait(), 1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not a.leading.is_set() and a.holds()
    await a.release()
    assert kube.stored(LEASE, "ops", "microapp-operator")["spec"]["holderIdentity"] == ""


async def leading(a: Elector) -> tuple[asyncio.Task[None], list[str]]:
    """``a`` running and elected, leading until cancelled; the reasons it lost the lead, if any."""
    started, lost = asyncio.Event(), []

    async def lead() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(a.run(lead, lost.append))
    await asyncio.wait_for(started.wait(), 1)
    return task, lost


async def test_run_leads_and_ends_leadership_when_renewal_fails_past_the_deadline() -> None:
    kube = FakeKube()
    a = Elector(kube, "ops", "microapp-operator", "a", renew_every=0.01, renew_deadline=0.05, retry=0.01)
    task, lost = await leading(a)
    assert a.leading.is_set()
    kube.fail("get", *[KubeError(0, "API server unreachable")] * 100)
    await asyncio.wait_for(task, 2)
    assert lost and "could not renew" in lost[0]
    assert not a.leading.is_set()


async def test_throttled_renewals_are_retried_sooner_and_keep_the_lead() -> None:
    """Two 429s in a row within the deadline: retried every `retry`, not every `renew_every`,
    so a throttled API server does not end leadership (the chaos test's shard hit this)."""
    kube = FakeKube()
    # The second failure comes at renew_every + retry = 1.1 s, 0.8 s inside the deadline: slack
    # for a loaded machine (CI, a benchmark). Retried only every renew_every, it would come at
    # 2.0 s, past the deadline.
    a = Elector(kube, "ops", "microapp-operator", "a", renew_every=1.0, renew_deadline=1.9, retry=0.1)
    task, lost = await leading(a)
    kube.fail("get", *[KubeError(429, "Too many requests")] * 2)
    await asyncio.sleep(2.5)
    assert lost == [] and a.leading.is_set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_run_waits_while_another_replica_leads() -> None:
    kube, clock = FakeKube(), Clock()
    await elector(kube, "a", clock).try_once()
    b = Elector(kube, "ops", "microapp-operator", "b", retry=0.01)
    ran = []

    async def lead() -> None:
        ran.append(1)

    task = asyncio.create_task(b.run(lead, lambda r: None))
    await asyncio.sleep(0.1)
    assert not ran and not b.leading.is_set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_leader_whose_work_fails_gives_up_the_lead() -> None:
    """Leading without working (the starting catalog refused, say) must not hold the Lease."""
    kube = FakeKube()
    a = Elector(kube, "ops", "microapp-operator", "a", renew_every=0.01, retry=0.01)
    lost: list[str] = []

    async def lead() -> None:
        raise KubeError(403, "apptemplates is forbidden")

    await asyncio.wait_for(a.run(lead, lost.append), 1)
    assert lost == ["the leader's work ended: KubeError: 403: apptemplates is forbidden"]
    assert not a.leading.is_set()


async def test_a_conflicting_write_to_its_own_lease_does_not_end_leadership() -> None:
    """Someone writing the Lease between our read and our renewal (a 409): retry, not a restart."""
    kube = FakeKube()
    a = Elector(kube, "ops", "microapp-operator", "a", renew_every=0.01, retry=0.01)
    lost: list[str] = []
    task = asyncio.create_task(a.run(lambda: asyncio.Event().wait(), lost.append))
    await asyncio.wait_for(a.leading.wait(), 1)
    kube.fail("replace", KubeError(409, "the object has been modified"), KubeError(409, "the object has been modified"))
    await asyncio.sleep(0.1)
    assert a.leading.is_set() and lost == []
    assert [c for c in kube.calls if c[0] == "replace"][-1:]  # renewals went on after the conflicts
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_the_lease_keeps_its_owner_through_renewals_and_the_release() -> None:
    """Owned by the chart's ServiceAccount, the Lease goes with helm uninstall; a replace writes
    the whole object, so each write must carry the owner or the reference would be dropped."""
    kube, clock = FakeKube(), Clock()
    owner = {"apiVersion": "v1", "kind": "ServiceAccount", "name": "op", "uid": "sa-uid"}
    a = Elector(kube, "ops", "microapp-operator", "a", monotonic=clock, owner=owner)
    assert await a.try_once()  # created
    assert await a.try_once()  # renewed (a replace)
    assert kube.stored(LEASE, "ops", "microapp-operator")["metadata"]["ownerReferences"] == [owner]
    await a.release()
    assert kube.stored(LEASE, "ops", "microapp-operator")["metadata"]["ownerReferences"] == [owner]
