"""The informer cache over the fake API: list+watch, 410 relist, absent kinds, reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from microapp_operator.api.kinds import CONFIGMAP, DEPLOYMENT, PODMONITOR
from microapp_operator.runtime.cache import ChildCache
from tests.fake_kube import FakeKube

LABELS = {"app.kubernetes.io/managed-by": "microapp-operator", "microapp.dev/name": "shop"}


def cm(name: str, data: str = "1", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns", "labels": LABELS if labels is None else labels},
        "data": {"v": data},
    }


async def until(predicate: Callable[[], Any], what: str, timeout: float = 2.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class Harness:
    def __init__(self, kube: FakeKube, kinds: list, **kwargs: Any) -> None:
        self.changed: list[tuple[str, str]] = []
        self.kinds: list[tuple[str, bool]] = []
        self.cache = ChildCache(
            kube,
            kinds,
            lambda ns, name: self.changed.append((ns, name)),
            on_kind=lambda res, present: self.kinds.append((res.kind, present)),
            **kwargs,
        )

    async def __aenter__(self) -> Harness:
        self.task = asyncio.create_task(self.cache.run())
        await self.cache.wait_synced(timeout=2)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_lists_only_labelled_objects_and_follows_the_watch() -> None:
    kube = FakeKube()
    kube.put(cm("shop-a"))
    kube.put(cm("foreign", labels={"team": "x"}))
    async with Harness(kube, [CONFIGMAP]) as h:
        assert h.cache.get(CONFIGMAP, "ns", "shop-a")["data"] == {"v": "1"}
        assert h.cache.get(CONFIGMAP, "ns", "foreign") is None
        assert "managedFields" not in h.cache.get(CONFIGMAP, "ns", "shop-a")["metadata"]
        await until(lambda: kube.watching(CONFIGMAP), "the watch")
        kube.put(cm("shop-a", "2"))
        await until(lambda: h.cache.get(CONFIGMAP, "ns", "shop-a")["data"] == {"v": "2"}, "the update")
        kube.remove(CONFIGMAP, "ns", "shop-a")
        await until(lambda: h.cache.get(CONFIGMAP, "ns", "shop-a") is None, "the deletion")
        assert h.changed.count(("ns", "shop")) == 3  # the initial list, then each change names its app


def app_cm(app: str, data: str = "1") -> dict[str, Any]:
    return cm(f"{app}-a", data, labels={**LABELS, "microapp.dev/name": app})


async def test_410_gone_relists_and_reports_what_changed_meanwhile() -> None:
    kube = FakeKube()
    for app in ("changed", "removed", "same"):
        kube.put(app_cm(app))
    async with Harness(kube, [CONFIGMAP]) as h:
        await until(lambda: kube.watching(CONFIGMAP), "the watch")
        lists = sum(c[0] == "list" for c in kube.calls)
        # Changes the stream never delivered, then the server says the resourceVersion is too old.
        kube.objects[CONFIGMAP][("ns", "changed-a")]["data"] = {"v": "changed"}
        kube.objects[CONFIGMAP][("ns", "changed-a")]["metadata"]["resourceVersion"] = "999"
        del kube.objects[CONFIGMAP][("ns", "removed-a")]
        h.changed.clear()
        kube.expire(CONFIGMAP)
        await until(lambda: sum(c[0] == "list" for c in kube.calls) > lists, "the relist")
        await until(lambda: h.cache.get(CONFIGMAP, "ns", "removed-a") is None, "the removal")
        assert h.cache.get(CONFIGMAP, "ns", "changed-a")["data"] == {"v": "changed"}
        assert h.cache.get(CONFIGMAP, "ns", "same-a")["data"] == {"v": "1"}
        assert sorted(h.changed) == [("ns", "changed"), ("ns", "removed")]  # not the unchanged one


async def test_a_listing_is_read_in_pages_and_each_app_told_once() -> None:
    """1,201 objects: three pages of 500 (client-go's size), all kept; two children of one app
    changed in the same relist tell that app once."""
    kube = FakeKube()
    for i in range(1201):
        kube.put(cm(f"c{i:04d}", labels={**LABELS, "microapp.dev/name": f"app{i // 2}"}))
    async with Harness(kube, [CONFIGMAP]) as h:
        assert sum(c[:2] == ("list", "ConfigMap") for c in kube.calls) == 3
        assert len(h.cache.objects[CONFIGMAP]) == 1201
        assert h.cache.get(CONFIGMAP, "ns", "c1200")["metadata"]["labels"]["microapp.dev/name"] == "app600"
        assert len(h.changed) == 601 and len(set(h.changed)) == 601


async def test_a_missing_kind_counts_as_synced_and_is_picked_up_when_installed() -> None:
    kube = FakeKube()
    kube.absent.add(PODMONITOR)
    async with Harness(kube, [DEPLOYMENT, PODMONITOR], retry_absent=0.05) as h:
        assert h.cache.present[PODMONITOR] is False and h.cache.present[DEPLOYMENT] is True
        assert h.kinds == []
        kube.absent.discard(PODMONITOR)  # the CRD gets installed
        await until(lambda: h.cache.present[PODMONITOR], "the kind to appear")
        assert h.kinds == [("PodMonitor", True)]
        kube.absent.add(PODMONITOR)  # and uninstalled
        kube.drop_watches(PODMONITOR)
        await until(lambda: not h.cache.present[PODMONITOR], "the kind to go")
        assert h.kinds == [("PodMonitor", True), ("PodMonitor", False)]


async def test_a_closed_stream_resumes_from_the_last_resource_version() -> None:
    kube = FakeKube()
    kube.put(cm("shop-a"))
    async with Harness(kube, [CONFIGMAP]) as h:
        await until(lambda: kube.watching(CONFIGMAP), "the watch")
        kube.drop_watches(CONFIGMAP)  # the server closes the stream
        kube.put(cm("shop-a", "after"))  # while nobody watches
        await until(
            lambda: (h.cache.get(CONFIGMAP, "ns", "shop-a") or {}).get("data") == {"v": "after"},
            "the cache to catch up after re-watching",
        )
        assert kube.watching(CONFIGMAP) == 1
        assert sum(c[0] == "list" for c in kube.calls) == 1  # resumed, not relisted


async def test_a_failed_stream_backs_off_relists_and_counts_the_reconnect() -> None:
    from microapp_operator import metrics

    kube = FakeKube()
    kube.put(cm("shop-a"))
    before = metrics.watch_reconnects.labels("ConfigMap")._value.get()
    async with Harness(kube, [CONFIGMAP]) as h:
        await until(lambda: kube.watching(CONFIGMAP), "the watch")
        kube.expire(CONFIGMAP, code=500)
        kube.put(cm("shop-b"))
        await until(lambda: h.cache.get(CONFIGMAP, "ns", "shop-b") is not None, "the relist", timeout=4)
        assert sum(c[0] == "list" for c in kube.calls) == 2
    assert metrics.watch_reconnects.labels("ConfigMap")._value.get() == before + 1


async def test_objects_are_kept_packed_and_every_reader_gets_its_own_copy() -> None:
    kube = FakeKube()
    stored = kube.put(cm("shop-a"))
    async with Harness(kube, [CONFIGMAP]) as h:
        first = h.cache.get(CONFIGMAP, "ns", "shop-a")
        first["data"]["v"] = "mutated by a reader"
        assert h.cache.get(CONFIGMAP, "ns", "shop-a")["data"] == {"v": "1"}
        assert isinstance(h.cache.objects[CONFIGMAP][("ns", "shop-a")].data, bytes)
        assert h.cache.version(CONFIGMAP, "ns", "shop-a") == stored["metadata"]["resourceVersion"]
        assert h.cache.version(CONFIGMAP, "ns", "missing") is None
