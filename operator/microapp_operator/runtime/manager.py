"""The manager: composes the runtime and supervises every background task.

Like controller-runtime's Manager (and Go's errgroup): it loads the catalog, syncs the child
cache and primes the budget ledger before the first reconcile, then runs the cache, the work
queue, the budget status writer and the PolicyReport writer. A task that dies ends the whole
manager with one clear log line and ``on_fatal`` (the entry point stops the process, so
Kubernetes restarts it) instead of leaving reconciliation stopped while liveness stays green;
``ready()`` (served on ``/readyz``) is false from then on.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any

from .. import metrics
from ..api.kinds import APPTEMPLATE, CHILDREN, PLATFORMPOLICY, PODMONITOR, TEAMBUDGET, Resource
from ..core.shard import Shard
from .activity import ActivitySweep
from .admission import Admission, Request, Verdict
from .budgets import Budgets
from .cache import ChildCache
from .handover import Handover
from .kube import Kube, list_retrying
from .names import NameIndex
from .notify import Notifier
from .queue import WorkQueue
from .reconciler import Reconciler
from .reports import Reports
from .shards import Shards
from .world import Key, World

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
STARTING = Verdict(
    False,
    "the microapp operator is still starting and cannot check budgets and policy yet; retry in a few seconds",
    503,
)


class Manager:
    """Built in explicit steps, each from the parts built before it (nothing refers forward):
    the model and the shards, the queue, the ledger and reports, the child cache, the reconciler,
    the hand-over (then handed to the shards), admission and the activity sweep."""

    def __init__(
        self,
        kube: Kube,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        workers: int = 4,
        resync: float = 300.0,
        on_fatal: Callable[[str], None] | None = None,
        shard: Shard | None = None,
        lease_namespace: str = "",
        lease_prefix: str = "",
        routine_events: bool = True,
    ) -> None:
        self.kube = kube
        self.clock = clock
        self.resync_interval = resync
        self.on_fatal = on_fatal or (lambda reason: None)
        self.synced = asyncio.Event()
        self.failed: str | None = None
        # 1. The model of the world, and which namespaces are this shard's.
        self.world = World()
        self.shards = Shards(kube, shard or Shard(), lease_namespace=lease_namespace, lease_prefix=lease_prefix)
        # 2. The work queue (its handler, the reconciler, is given when it runs).
        self.queue = WorkQueue(workers=workers)
        # 3. The ledger and the PolicyReports; the child cache, which wakes apps when children change.
        self.budgets = Budgets(self.world, kube, clock, release=self.queue.add_all, shards=self.shards)
        self.reports = Reports(self.world, kube, clock)
        self.cache = ChildCache(
            kube, CHILDREN, self._child_changed, on_kind=self._kind_changed, accepts=self.shards.accepts
        )
        # 4. The reconciler; the hand-over, which the shards then call.
        self.notifier = Notifier(self._notify_url)
        self.reconciler = Reconciler(
            self.world,
            self.budgets,
            self.reports,
            kube,
            self.cache,
            clock,
            requeue=self.queue.add_after,
            notifier=self.notifier,
            routine_events=routine_events,
        )
        self.handover = Handover(
            self.world,
            kube,
            self.cache,
            self.budgets,
            self.reports,
            self.queue,
            self.app_event,
            self.reconciler.forget,
            self.reconciler.announce.drain,
        )
        self.shards.hand_over_to(self.handover.acquire, self.handover.release, self.handover.owned)
        # 5. Admission (the one door for reviews) and the traffic sweep.
        self.admission = Admission(
            self.world, self.budgets, self.cache, NameIndex(kube), shards=self.shards, kube=kube, clock=clock
        )
        self.activity = ActivitySweep(self.world, self.queue.add_all, clock, kube)
        try:
            metrics.REGISTRY.register(metrics.AppsCollector(self.reconciler.phase_counts))
        except ValueError:  # a second manager in one process (tests): the first one reports
            pass

    # --- what the entry point asks ----------------------------------------------------

    async def review(self, request: Request, *, starting: float = 10.0) -> Verdict:
        """An admission review. Before the first full sync the ledger is incomplete: wait for it
        up to ``starting`` seconds, then refuse with 503 (retry)."""
        if not self.synced.is_set():
            try:
                await asyncio.wait_for(self.synced.wait(), timeout=starting)
            except TimeoutError:
                metrics.admission_denials.labels("OperatorStarting").inc()
                return STARTING
        return await self.admission.review(request)

    def failure(self) -> str | None:
        """Why the manager stopped (a background task died), or None."""
        return self.failed

    def readiness(self) -> tuple[bool, str]:
        """/readyz: ready once synced, never after a failure."""
        if self.failed:
            return False, self.failed
        if not self.synced.is_set():
            return False, "syncing: catalog, child watches and the first pass over all apps"
        return True, "ok"

    def unfinished(self) -> list[str]:
        """What a stop now would leave undone (named in the operator's last line)."""
        queued = len(self.queue.pending | self.queue.processing | self.queue.dirty)
        teams = len(self.budgets.dirty & set(self.world.budgets))
        events = len(self.reconciler.announce.pending)
        found = [f"{queued} queued reconcile(s)"] if queued else []
        found += [f"{teams} TeamBudget status write(s)"] if teams else []
        return found + ([f"{events} Event(s) being posted"] if events else [])

    def _child_changed(self, namespace: str, name: str) -> None:
        self.queue.add((namespace, name))

    def _notify_url(self) -> str | None:
        lc = self.world.policy.lifecycle
        return lc.notify.url if lc and lc.notify else None

    def ready(self) -> bool:
        return self.synced.is_set() and self.failed is None

    # --- events in (from Kopf) --------------------------------------------------------

    def _missed(self, item: dict[str, Any]) -> None:
        """Sharded: Kopf's events from before the shard was settled were dropped; take them here."""
        if (item["metadata"]["namespace"], item["metadata"]["name"]) not in self.world.apps:
            self.app_event("ADDED", item)

    def app_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        if not self.shards.accepts(key[0]):
            return  # another shard's (or not yet handed to this one: acquiring lists it)
        keys = self.world.app_event(kind, body)
        if kind == "DELETED":
            self.reconciler.forget(key)
            self.reports.forget(key)
            self.budgets.forget(key)
        else:
            self.budgets.seen(key, int(body["metadata"].get("generation") or 1))
        self.queue.add_all(keys)

    def policy_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        self.queue.add_all(self.world.policy_event(kind, body))
        self.activity.poke()

    def budget_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        keys = self.world.budget_event(kind, body)
        self.budgets.budget_seen(body["metadata"]["name"])
        # (a deleted one's team too: another TeamBudget of the team may now be in force)
        self.budgets.touch(str((body.get("spec") or {}).get("team") or ""))
        self.queue.add_all(keys)

    def template_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        self.queue.add_all(self.world.template_event(kind, body))

    def _kind_changed(self, res: Resource, present: bool) -> None:
        self.queue.add_all(self.world.kind_changed(res, present))

    async def _reconcile(self, key: Key) -> None:
        if self.shards.owns(key[0]):
            await self.reconciler.reconcile(key)

    # --- running ----------------------------------------------------------------------

    async def run(self) -> None:
        """Start everything; return only when a task died (after ``on_fatal``) or on cancel."""
        rv = await self.shards.start()
        shards = self._spawn(self.shards.run(rv), "shards")
        cache = self._spawn(self.cache.run(), "child-cache")
        await self._load_catalog()
        await self.cache.wait_synced(timeout=300)
        self.world.podmonitor = self.cache.present.get(PODMONITOR, False)
        await self.budgets.prime(self.shards.accepts, each=self._missed if self.shards.shard.sharded else _ignore)
        log.info("caches synced templates=%d apps=%d", len(self.world.templates), len(self.world.apps))
        tasks = [
            shards,
            cache,
            self._spawn(self.queue.run(self._reconcile), "work-queue"),
            self._spawn(self._report_initial_sync(), "initial-sync"),
            self._spawn(self.budgets.run(), "budget-status"),
            self._spawn(self.reports.run(), "policy-reports"),
            self._spawn(self._resync(), "resync"),
            self._spawn(self.activity.run(), "activity-sweep"),
        ]
        await self._supervise(tasks)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return asyncio.create_task(coro, name=name)

    async def _supervise(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait until a long-running task ends; any end but the initial-sync reporter's is fatal."""
        pending = set(tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.get_name() == "initial-sync" and not task.cancelled() and task.exception() is None:
                        continue
                    self._die(task)
                    return
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _die(self, task: asyncio.Task[None]) -> None:
        exc = None if task.cancelled() else task.exception()
        self.failed = f"background task {task.get_name()} " + (
            f"died: {type(exc).__name__}: {exc}" if exc else "stopped unexpectedly"
        )
        log.critical("%s; stopping the operator so that it is restarted", self.failed, exc_info=exc)
        self.on_fatal(self.failed)

    async def _resync(self) -> None:
        """Look at every app again once per interval, each at a random moment of it (no thundering
        herd): unchanged apps cost no writes, and apps stalled by an outside condition (a quota
        raised, another webhook relaxed) recover without waiting for their next change."""
        if self.resync_interval <= 0:
            await asyncio.Event().wait()  # disabled: idle for ever (the supervisor expects a task)
        while True:
            for key in list(self.world.apps):
                self.queue.add_after(key, random.uniform(0, self.resync_interval))
            await asyncio.sleep(self.resync_interval)

    async def _report_initial_sync(self) -> None:
        """Log once when the first pass over all apps is done: the resync's cost in writes."""
        quiet = 0
        while quiet < 5:  # idle for a second: Kopf's initial listing has been handed over
            await asyncio.sleep(0.2)
            quiet = quiet + 1 if self.queue.idle() else 0
        self.synced.set()
        log.info("initial sync done reconciles=%d writes=%d", self.reconciler.reconciles, self.kube.writes)

    async def _load_catalog(self) -> None:
        """Templates, the policy and the budgets, before anything is decided."""
        for item in (await list_retrying(self.kube, PLATFORMPOLICY)).get("items") or []:
            self.policy_event("ADDED", item)
        for item in (await list_retrying(self.kube, TEAMBUDGET)).get("items") or []:
            self.budget_event("ADDED", item)
        for item in (await list_retrying(self.kube, APPTEMPLATE)).get("items") or []:
            self.template_event("ADDED", item)


def _ignore(item: dict[str, Any]) -> None:
    """Unsharded: Kopf delivers every app itself."""
