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
import bisect
import time
from collections.abc import Callable

from ..api.kinds import Resource
from .kube import Kube, KubeError


class NameIndex:
    def __init__(self, kube: Kube, *, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.kube = kube
        self.ttl = ttl
        self.clock = clock
        self.entries: dict[tuple[Resource, str], tuple[float, tuple[str, ...]]] = {}  # sorted names
        self.inflight: dict[tuple[Resource, str], asyncio.Future[tuple[str, ...]]] = {}

    async def prefixed(self, kinds: tuple[Resource, ...], namespace: str, app: str) -> bool:
        """Whether any of ``kinds`` has a name an app called ``app`` could render (``app`` or
        ``app-...``): when not, no object of the app can collide, and nothing needs rendering."""
        taken = {res: self.cached(res, namespace) for res in kinds}
        missing = [res for res, names in taken.items() if names is None]
        if missing:
            for res, names in zip(missing, await asyncio.gather(*(self.names(r, namespace) for r in missing))):
                taken[res] = names
        return any(_has_prefix(names or (), app) for names in taken.values())

    def cached(self, res: Resource, namespace: str) -> tuple[str, ...] | None:
        """The sorted names if known and fresh (no await: the usual case)."""
        entry = self.entries.get((res, namespace))
        return entry[1] if entry is not None and entry[0] > self.clock() else None

    async def names(self, res: Resource, namespace: str) -> tuple[str, ...]:
        key = (res, namespace)
        fresh = self.cached(res, namespace)
        if fresh is not None:
            return fresh
        if key not in self.inflight:
            self.inflight[key] = asyncio.ensure_future(self._load(res, namespace))
            self.inflight[key].add_done_callback(lambda _: self.inflight.pop(key, None))
        return await asyncio.shield(self.inflight[key])

    async def _load(self, res: Resource, namespace: str) -> tuple[str, ...]:
        try:
            listing = await self.kube.list(res, namespace=namespace, metadata_only=True)
        except KubeError as exc:
            if exc.status != 404:  # a kind the cluster lacks has no names; anything else: ask later
                raise
            listing = {}
        names = tuple(sorted({str((item.get("metadata") or {}).get("name")) for item in listing.get("items") or []}))
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[(res, namespace)] = (self.clock() + self.ttl, names)
        return names


def has(names: tuple[str, ...], name: str) -> bool:
    """``name`` in the sorted ``names``."""
    i = bisect.bisect_left(names, name)
    return i < len(names) and names[i] == name


def _has_prefix(names: tuple[str, ...], app: str) -> bool:
    i = bisect.bisect_left(names, app)
    while i < len(names) and names[i].startswith(app):
        if names[i] == app or names[i].startswith(app + "-"):
            return True
        i += 1
    return False
