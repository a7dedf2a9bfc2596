"""Which names are taken, per kind and namespace: metadata-only LISTs kept for a few seconds.

Admission asks, for every object a new app would render and the child cache does not hold,
whether something already has that name. A GET per object per review made each create cost
five round trips to a busy API server; one metadata-only LIST per kind and namespace, shared
by every review within ``ttl`` seconds (one request in flight per key), costs next to nothing.
An object created within the last ``ttl`` seconds can be missed here: the reconciler checks
every time before it applies, and stalls such an app with NameConflict.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from ..api.kinds import Resource
from .kube import Kube, KubeError


class NameIndex:
    def __init__(self, kube: Kube, *, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.kube = kube
        self.ttl = ttl
        self.clock = clock
        self.entries: dict[tuple[Resource, str], tuple[float, frozenset[str]]] = {}
        self.inflight: dict[tuple[Resource, str], asyncio.Future[frozenset[str]]] = {}

    async def names(self, res: Resource, namespace: str) -> frozenset[str]:
        key = (res, namespace)
        entry = self.entries.get(key)
        if entry is not None and entry[0] > self.clock():
            return entry[1]
        if key not in self.inflight:
            self.inflight[key] = asyncio.ensure_future(self._load(res, namespace))
            self.inflight[key].add_done_callback(lambda _: self.inflight.pop(key, None))
        return await asyncio.shield(self.inflight[key])

    async def _load(self, res: Resource, namespace: str) -> frozenset[str]:
        try:
            listing = await self.kube.list(res, namespace=namespace, metadata_only=True)
        except KubeError as exc:
            if exc.status != 404:   # a kind the cluster lacks has no names; anything else: ask later
                raise
            listing = {}
        names = frozenset(str((item.get("metadata") or {}).get("name")) for item in listing.get("items") or [])
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[(res, namespace)] = (self.clock() + self.ttl, names)
        return names
