"""A runtime assembled over the fake Kubernetes layer, for reconciler and manager tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from microapp_operator.api.kinds import CHILDREN, MICROAPP
from microapp_operator.core import catalog
from microapp_operator.runtime.manager import Manager
from tests import factories
from tests.fake_kube import FakeKube

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def microapp(name: str = "shop", **spec: Any) -> dict[str, Any]:
    fields = {"image": "registry.internal/shop:1.0", "telemetry": {"enabled": False}, **spec}
    return factories.microapp(name, generation=1, **fields)


class Runtime:
    """A Manager on a FakeKube: the catalog loaded, the cache running, no Kopf."""

    def __init__(self) -> None:
        self.kube = FakeKube()
        for obj in catalog.builtin_objects():
            self.kube.put(obj)
        self.kube.put(
            {
                "apiVersion": "microapp.dev/v1alpha1",
                "kind": "PlatformPolicy",
                "metadata": {"name": "default"},
                "spec": {"teams": [{"name": "finance", "groups": ["finance-devs"], "namespaces": ["ns"]}]},
            }
        )
        self.manager = Manager(self.kube, clock=lambda: NOW)  # type: ignore[arg-type]
        self.reconciler = self.manager.reconciler
        reconcile = self.reconciler.reconcile

        async def reconcile_then_events(key: tuple[str, str]) -> None:
            """A reconcile, then the Events it sent in the background (what the tests read)."""
            await reconcile(key)
            await self.reconciler.announce.drain()

        self.reconciler.reconcile = reconcile_then_events  # type: ignore[method-assign]

    async def __aenter__(self) -> Runtime:
        self.cache_task = asyncio.create_task(self.manager.cache.run())
        await self.manager._load_catalog()
        await self.manager.cache.wait_synced(timeout=2)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.cache_task.cancel()
        await asyncio.gather(self.cache_task, return_exceptions=True)

    def add(self, body: dict[str, Any]) -> tuple[str, str]:
        """The app as the API server stores it (uid, resourceVersion) and as Kopf delivers it."""
        stored = self.kube.put(body)
        self.manager.app_event("ADDED", stored)
        return (stored["metadata"]["namespace"], stored["metadata"]["name"])

    def status(self, key: tuple[str, str]) -> dict[str, Any]:
        return (self.kube.stored(MICROAPP, *key) or {}).get("status") or {}

    def condition(self, key: tuple[str, str], type_: str) -> dict[str, Any]:
        return next((c for c in self.status(key).get("conditions") or [] if c["type"] == type_), {})

    async def settle(self) -> None:
        """Let the cache take in what the fake streamed (and the Events go out)."""
        for _ in range(5):
            await asyncio.sleep(0.01)
        await self.reconciler.announce.drain()

    def applied(self) -> list[str]:
        return [f"{kind}/{name}" for verb, kind, _, name in self.kube.calls if verb == "apply"]


__all__ = ["CHILDREN", "NOW", "Runtime", "microapp"]
