"""The name index: one metadata-only LIST per kind and namespace, shared, kept for a while."""

from __future__ import annotations

import asyncio

from microapp_operator.api.kinds import CONFIGMAP, KNATIVE_SERVICE
from microapp_operator.runtime.names import NameIndex
from tests.fake_kube import FakeKube


async def test_concurrent_lookups_share_one_list_until_it_expires() -> None:
    kube = FakeKube()
    kube.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "taken", "namespace": "a"}})
    kube.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "elsewhere", "namespace": "b"}})
    now = [0.0]
    index = NameIndex(kube, ttl=5, clock=lambda: now[0])
    answers = await asyncio.gather(*(index.names(CONFIGMAP, "a") for _ in range(20)))
    assert all(a == {"taken"} for a in answers)
    assert [c for c in kube.calls if c[0] == "list"] == [("list", "ConfigMap", "a", "")]
    kube.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new", "namespace": "a"}})
    assert await index.names(CONFIGMAP, "a") == {"taken"}          # still fresh: not asked again
    now[0] = 6
    assert await index.names(CONFIGMAP, "a") == {"taken", "new"}   # expired: listed again


async def test_a_kind_the_cluster_lacks_has_no_names() -> None:
    kube = FakeKube()
    kube.absent.add(KNATIVE_SERVICE)
    assert await NameIndex(kube).names(KNATIVE_SERVICE, "a") == frozenset()
