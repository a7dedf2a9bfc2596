"""What a namespace changing shards does to this operator's state (the protocol: ``shards``).

Acquiring loads the namespace's apps and children and prices them into the ledger before its
first admission; releasing forgets them (nothing in the cluster changes: the next shard keeps
the same children, PolicyReport and status) and returns only once no reconcile of them runs.
Admission (``admission.Admission.refusal``) asks first: a namespace in hand-over is retried, a
team split across shards is refused, so each budget keeps a single writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..api.kinds import MICROAPP
from .budgets import Budgets
from .cache import ChildCache
from .kube import Kube
from .queue import WorkQueue
from .reports import Reports
from .world import Key, World

log = logging.getLogger(__name__)


class Handover:
    def __init__(
        self,
        world: World,
        kube: Kube,
        cache: ChildCache,
        budgets: Budgets,
        reports: Reports,
        queue: WorkQueue,
        app_event: Callable[[str, Mapping[str, Any]], None],
        forget: Callable[[Key], None],
        settle: Callable[[], Awaitable[None]],
    ) -> None:
        self.world, self.kube, self.cache = world, kube, cache
        self.budgets, self.reports, self.queue = budgets, reports, queue
        self.app_event, self.forget = app_event, forget  # forget: the reconciler's per-app memory
        self.settle = settle  # the Events still being posted

    def owned(self, namespace: str) -> None:
        """Acquired: every app of the namespace is reconciled here from now on."""
        self.queue.add_all([key for key in self.world.apps if key[0] == namespace])

    async def acquire(self, namespace: str) -> None:
        listing = await self.kube.list(MICROAPP, namespace=namespace)
        items = [i for i in listing.get("items") or [] if (namespace, i["metadata"]["name"]) not in self.world.apps]
        await self.cache.acquire(namespace)
        for item in items:
            self.app_event("ADDED", item)
        self.budgets.price(items)
        log.info("namespace acquired namespace=%s apps=%d", namespace, len(items))

    async def release(self, namespace: str) -> None:
        keys = [key for key in self.world.apps if key[0] == namespace]
        for key in keys:
            self.world.apps.discard(key)
            self.forget(key)
            self.reports.release(key)
            self.budgets.forget(key)
        self.cache.release(namespace)
        while any(key[0] == namespace for key in self.queue.processing):
            await asyncio.sleep(0.05)
        await self.settle()
        log.info("namespace released namespace=%s apps=%d", namespace, len(keys))
