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
    assert all(a == ("taken",) for a in answers)
    assert [c for c in kube.calls if c[0] == "list"] == [("list", "ConfigMap", "a", "")]
    kube.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new", "namespace": "a"}})
    assert await index.names(CONFIGMAP, "a") == ("taken",)  # still fresh: not asked again
    now[0] = 6
    assert await index.names(CONFIGMAP, "a") == ("new", "taken")  # expired: listed again


async def test_a_kind_the_cluster_lacks_has_no_names() -> None:
    kube = FakeKube()
    kube.absent.add(KNATIVE_SERVICE)
    assert await NameIndex(kube).names(KNATIVE_SERVICE, "a") == ()


async def test_only_names_an_app_could_render_count_as_a_possible_collision() -> None:
    kube = FakeKube()
    for name in ("shopping", "shop-otel", "other"):
        kube.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "a"}})
    index = NameIndex(kube)
    assert await index.prefixed((CONFIGMAP,), "a", "shop") is True  # shop-otel
    assert await index.prefixed((CONFIGMAP,), "a", "shopp") is False  # "shopping" is not shopp or shopp-*
    assert await index.prefixed((CONFIGMAP, KNATIVE_SERVICE), "a", "oth") is False
