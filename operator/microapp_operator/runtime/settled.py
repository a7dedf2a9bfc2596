"""Settled apps: skip a reconcile whose inputs have not changed since one that changed nothing.

The periodic resync looks at every app again, a safety net for a missed watch event. With
thousands of apps its cost was the plan, estimate, drift hash and status of each one (about
4-5 ms an app), repeated while nothing had moved. Everything the decision reads is known and
cheap to compare: the app's resourceVersion (spec, annotations, status), the catalog's and the
policy's versions, the team's budget and committed total, the app's reservation and traffic,
the kinds the cluster lacks, and the resourceVersion of every child the decision read, taken
from the watch cache. The inputs are the decision's own (``core.reconcile.World.key()`` and the
app's resourceVersion), so an input added to the decision is compared here too. Only a
reconcile that wrote nothing is remembered, so the resourceVersions are those of a world the
decision already agreed with. A time-based decision (the lifecycle's next step) is remembered
only until that time.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..api.kinds import RESOURCES
from .cache import ChildCache
from .world import Key

ChildRef = tuple[str, str, str, "str | None"]  # (apiVersion, kind, name, resourceVersion or None if absent)


@dataclass(frozen=True)
class Memory:
    inputs: Hashable
    children: tuple[ChildRef, ...]
    until: datetime | None


class Settled:
    def __init__(self, cache: ChildCache) -> None:
        self.cache = cache
        self.memory: dict[Key, Memory] = {}
        self.skipped = 0

    def unchanged(self, key: Key, inputs: Hashable, now: datetime) -> bool:
        """Whether a reconcile of ``key`` now would decide exactly what the remembered one did."""
        memory = self.memory.get(key)
        if memory is None or memory.inputs != inputs or (memory.until is not None and now >= memory.until):
            return False
        namespace = key[0]
        if any(
            self._version(api_version, kind, namespace, name) != rv for api_version, kind, name, rv in memory.children
        ):
            return False
        self.skipped += 1
        return True

    def remember(
        self,
        key: Key,
        inputs: Hashable,
        children: Iterable[Mapping[str, Any]],
        now: datetime,
        requeue_after: float | None,
    ) -> None:
        """After a reconcile that wrote nothing: its inputs, and the children it read."""
        refs = tuple(
            sorted(
                {
                    (
                        c["apiVersion"],
                        c["kind"],
                        c["name"],
                        self._version(c["apiVersion"], c["kind"], key[0], c["name"]),
                    )
                    for c in children
                },
                key=lambda r: r[:3],
            )
        )
        until = now + timedelta(seconds=requeue_after) if requeue_after is not None else None
        self.memory[key] = Memory(inputs, refs, until)

    def forget(self, key: Key) -> None:
        self.memory.pop(key, None)

    def _version(self, api_version: str, kind: str, namespace: str, name: str) -> str | None:
        res = RESOURCES.get((api_version, kind))
        return self.cache.version(res, namespace, name) if res is not None else None
