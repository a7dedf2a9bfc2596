"""Shard membership at run time: the namespaces this operator acts on (rules: ``core.shard``).

Not sharded, every namespace (or the ``--namespace`` ones) is this operator's and nothing is
watched. Sharded, one list+watch of Namespaces keeps each namespace's labels and holder, and
each change is carried out: claim (write our name at the resourceVersion the decision was made
on, then acquire), release (stop acting, let in-flight reconciles end, then clear the holder),
or wait for a live holder to release. A namespace is

- *accepted* while it is acquired or held: MicroApp events for it are kept;
- *owned* once acquired: its apps are reconciled and admitted here, and only here.

Acquiring lists the namespace's MicroApps and children and prices them into the budget ledger
before the first admission, so a hand-over never admits against a ledger that misses apps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .. import metrics
from ..api.kinds import LEASE, NAMESPACE
from ..core import leader
from ..core import shard as rules
from ..core.shard import Shard, Step
from .kube import Kube, KubeError

log = logging.getLogger(__name__)
Hook = Callable[[str], Awaitable[None]]


async def _nothing(namespace: str) -> None:
    return None


class Shards:
    def __init__(
        self,
        kube: Kube,
        shard: Shard,
        *,
        lease_namespace: str = "",
        lease_prefix: str = "",
        acquire: Hook = _nothing,
        release: Hook = _nothing,
        owned: Callable[[str], None] = lambda namespace: None,
        recheck: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube, self.shard = kube, shard
        self.acquire_hook, self.release_hook, self.owned_hook = acquire, release, owned
        self.recheck, self.monotonic = recheck, monotonic
        self.namespaces: dict[str, dict[str, Any]] = {}  # name -> the Namespace as last seen
        self.accepted: set[str] = set()
        self.owned: set[str] = set()
        self.waiting: set[str] = set()  # selected, held by a live peer
        self.started, self.handovers = False, 0
        self.peers = PeerLeases(kube, shard, lease_namespace, lease_prefix, monotonic)
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Future[None]] = set()

    def hand_over_to(self, acquire: Hook, release: Hook, owned: Callable[[str], None]) -> None:
        """What to do when a namespace arrives, leaves or is settled here (the manager's hand-over,
        built after the shards it listens to)."""
        self.acquire_hook, self.release_hook, self.owned_hook = acquire, release, owned

    # --- what the rest of the runtime asks ------------------------------------------------

    def accepts(self, namespace: str) -> bool:
        return namespace in self.accepted if self.shard.sharded else self.shard.selects(namespace, None)

    def owns(self, namespace: str) -> bool:
        return namespace in self.owned if self.shard.sharded else self.shard.selects(namespace, None)

    def shard_of(self, namespace: str) -> str | None:
        obj = self.namespaces.get(namespace)
        return self.shard.shard_of(((obj or {}).get("metadata") or {}).get("labels"))

    def split(self, patterns: list[str]) -> dict[str, list[str]]:
        """The shards a team's namespaces fall into (empty when not sharded)."""
        labels = {ns: (obj.get("metadata") or {}).get("labels") for ns, obj in self.namespaces.items()}
        return rules.split(self.shard, patterns, labels)

    def keeps_team(self, patterns: list[str]) -> bool:
        """Whether this shard writes the team's TeamBudget status: all of its namespaces are here
        (a team with no namespace yet belongs to the default shard)."""
        if not self.shard.sharded:
            return True
        found = self.split(patterns)
        return set(found) == {self.shard.name} if found else self.shard.default

    # --- running --------------------------------------------------------------------------

    async def start(self) -> str:
        """Before the first sync: read every Namespace and settle what is ours (claims are
        written now; the manager's first sync then loads them). Returns the list's
        resourceVersion for ``run``."""
        if not self.shard.sharded:
            return ""
        listing = await self.kube.list(NAMESPACE)
        for item in listing.get("items") or []:
            self.namespaces[item["metadata"]["name"]] = item
        await asyncio.gather(*(self._consider(ns) for ns in list(self.namespaces)))
        self.started = True
        log.info("shard %s holds namespaces=%d waiting=%d", self.shard.name, len(self.owned), len(self.waiting))
        return str((listing.get("metadata") or {}).get("resourceVersion", ""))

    async def run(self, rv: str) -> None:
        """Follow Namespaces; relist when the watch expires; re-check waiting namespaces."""
        if not self.shard.sharded:
            await asyncio.Event().wait()
        checker = asyncio.create_task(self._recheck_waiting())
        try:
            while True:
                try:
                    rv = await self._watch(rv)  # a stream the server closed goes on from where it was
                except KubeError as exc:
                    log.warning("namespace watch failed error=%s; relisting", exc)
                    await asyncio.sleep(1)
                    rv = ""
                if not rv:
                    rv = await self._relist()
        finally:
            checker.cancel()

    async def _relist(self) -> str:
        listing = await self.kube.list(NAMESPACE)
        seen = {item["metadata"]["name"]: item for item in listing.get("items") or []}
        for gone in set(self.namespaces) - set(seen):
            await self._gone(gone)
        self.namespaces.update(seen)
        await asyncio.gather(*(self._consider(ns) for ns in seen))
        return str((listing.get("metadata") or {}).get("resourceVersion", ""))

    async def _watch(self, rv: str) -> str:
        """Follow the stream; the resourceVersion to go on from, or "" to relist (410 Gone)."""
        async for event in self.kube.watch(NAMESPACE, label_selector="", resource_version=rv):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                return ""
            rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
            if kind == "BOOKMARK":
                continue
            name = (obj.get("metadata") or {}).get("name", "")
            if kind == "DELETED":
                await self._gone(name)
                continue
            self.namespaces[name] = obj
            self._spawn(self._consider(name))
        return rv

    def _spawn(self, coro: Awaitable[None]) -> None:
        """Decisions on different namespaces do not wait for each other (an acquire lists)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "shard step crashed error=%s; re-checked in %.0fs",
                task.exception(),
                self.recheck,
                exc_info=task.exception(),
            )

    async def _recheck_waiting(self) -> None:
        """A peer that died holding a namespace never releases it: its Lease runs out instead."""
        while True:
            await asyncio.sleep(self.recheck)
            for ns in list(self.waiting):
                await self._consider(ns)

    async def _gone(self, namespace: str) -> None:
        self.namespaces.pop(namespace, None)
        self.waiting.discard(namespace)
        if namespace in self.accepted:
            self.owned.discard(namespace)
            self.accepted.discard(namespace)
            await self.release_hook(namespace)

    # --- one namespace ------------------------------------------------------------------

    async def _consider(self, namespace: str) -> None:
        """Decide and act on one namespace, one decision at a time per namespace."""
        lock = self._locks.setdefault(namespace, asyncio.Lock())
        async with lock:
            for _ in range(5):  # a 409 means someone wrote the Namespace: decide again on the new one
                obj = self.namespaces.get(namespace)
                if obj is None:
                    return
                try:
                    if await self._act(namespace, obj):
                        return
                except KubeError as exc:
                    if exc.status == 404:
                        return
                    if exc.status != 409:
                        log.warning(
                            "shard hand-over step failed namespace=%s error=%s; re-checked in %.0fs",
                            namespace,
                            exc,
                            self.recheck,
                        )
                        self.waiting.add(namespace)  # tried again by the re-check
                        return
                fresh = await self.kube.get(NAMESPACE, None, namespace)
                if fresh is None:
                    await self._gone(namespace)
                    return
                self.namespaces[namespace] = fresh

    async def _act(self, namespace: str, obj: Mapping[str, Any]) -> bool:
        """One step; False when the Namespace changed under us (decide again)."""
        step = rules.step(self.shard, obj)
        if step is Step.WAIT and not await self.peers.alive(str(rules.holder(obj))):
            step = rules.step(self.shard, obj, holder_alive=False)
        if step is not Step.WAIT:
            self.waiting.discard(namespace)
        if step is Step.OWN:
            await self._take(namespace)
        elif step is Step.CLAIM:
            self.namespaces[namespace] = await self._write(namespace, obj, self.shard.name)
            log.info(
                "shard %s claimed namespace=%s (from %s)", self.shard.name, namespace, rules.holder(obj) or "nobody"
            )
            await self._take(namespace)
        elif step is Step.RELEASE:
            await self._drop(namespace)
            self.namespaces[namespace] = await self._write(namespace, obj, None)
            self.handovers += 1
            log.info(
                "shard %s released namespace=%s to shard %s",
                self.shard.name,
                namespace,
                self.shard.shard_of((obj.get("metadata") or {}).get("labels")),
            )
        elif step is Step.WAIT:
            self.waiting.add(namespace)
        elif namespace in self.accepted:  # the holder was changed by hand: stop acting at once
            await self._drop(namespace)
        _gauge(len(self.owned), len(self.waiting))
        return True

    async def _write(self, namespace: str, obj: Mapping[str, Any], value: str | None) -> dict[str, Any]:
        return await self.kube.merge_patch(NAMESPACE, "", namespace, rules.holder_patch(obj, value))

    async def _take(self, namespace: str) -> None:
        if namespace in self.owned:
            return
        self.accepted.add(namespace)
        if self.started:  # at start, the manager's first sync loads every owned namespace
            await self.acquire_hook(namespace)
        self.owned.add(namespace)
        if self.started:
            self.owned_hook(namespace)

    async def _drop(self, namespace: str) -> None:
        self.owned.discard(namespace)
        self.accepted.discard(namespace)
        await self.release_hook(namespace)


def _gauge(held: int, waiting: int) -> None:
    metrics.shard_namespaces.labels("held").set(held)
    metrics.shard_namespaces.labels("waiting").set(waiting)


class PeerLeases:
    """Whether another shard has a leader: its Lease is held and renewed, as observed on our
    own clock (the way a standby judges its own Lease: clocks need not agree)."""

    def __init__(self, kube: Kube, shard: Shard, namespace: str, prefix: str, monotonic: Callable[[], float]) -> None:
        self.kube, self.shard, self.namespace, self.prefix, self.monotonic = kube, shard, namespace, prefix, monotonic
        self.observed: dict[str, leader.Observed] = {}
        self.read: dict[str, tuple[float, dict[str, Any] | None]] = {}  # peer -> (when, its Lease)

    async def alive(self, peer: str, fresh_for: float = 1.0) -> bool:
        """One Lease read per peer per ``fresh_for`` seconds, however many namespaces it holds."""
        if peer not in self.shard.names or not self.prefix:
            return peer in self.shard.names
        last = self.read.get(peer)
        if last is not None and self.monotonic() - last[0] < fresh_for:
            lease = last[1]
        else:
            lease = await self.kube.get(LEASE, self.namespace, self.shard.lease_of(self.prefix, peer))
            self.read[peer] = (self.monotonic(), lease)
        observed = self.observed[peer] = leader.observe(
            self.observed.get(peer), leader.Record.of(lease), self.monotonic()
        )
        return leader.decide(observed, f"shard {self.shard.name}", self.monotonic()) is leader.Verdict.WAIT
