"""The reconciler: carries out the pure decision (``core.reconcile``) for one app.

Numbered steps, kubebuilder style: load -> decide (pure) -> apply what differs from the
live objects -> prune what is no longer rendered -> write status only if it changed. An
unchanged app therefore costs zero write requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from .. import metrics
from ..api.conditions import ConditionType
from ..api.kinds import MICROAPP, RESOURCES, Resource, entry_id, object_id
from ..core import drift, ownership, reconcile
from ..core.app import AppMeta
from .announce import Announcer
from .budgets import Budgets
from .cache import ChildCache
from .kube import Kube, KubeError
from .notify import Notifier
from .queue import Retry
from .reports import Reports
from .settled import Settled
from .world import Key, World

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        world: World,
        budgets: Budgets,
        reports: Reports,
        kube: Kube,
        cache: ChildCache,
        clock: Callable[[], datetime],
        requeue: Callable[[Key, float], None],
        notifier: Notifier | None = None,
        routine_events: bool = True,
    ) -> None:
        self.announce = Announcer(kube, notifier or Notifier(lambda: None), routine=routine_events)
        self.world = world
        self.budgets = budgets
        self.reports = reports
        self.kube = kube
        self.cache = cache
        self.clock = clock
        self.requeue = requeue
        self.reconciles = 0
        self.phases: dict[Key, tuple[str, str]] = {}  # app -> (phase, team), for microapp_apps
        self.status_refusals: dict[Key, str] = {}  # app -> the last terminal status-write error
        self.settled = Settled(cache)  # apps whose last reconcile changed nothing

    def phase_counts(self) -> list[tuple[str, str]]:
        """Every app's (phase, team), for microapp_apps."""
        return list(self.phases.values())

    def forget(self, key: Key) -> None:
        self.settled.forget(key)
        self.phases.pop(key, None)
        self.status_refusals.pop(key, None)

    def _refused_status(self, key: Key, exc: KubeError) -> None:
        """A terminal status-write error (e.g. 422, 403): logged once per distinct message."""
        if self.status_refusals.get(key) != exc.message:
            self.status_refusals[key] = exc.message
            log.error("status not written namespace=%s name=%s error=%s", *key, exc)
        metrics.reconcile_errors.labels("status").inc()

    async def reconcile(self, key: Key) -> None:
        """One reconcile, timed and counted (errors by kind) for /metrics."""
        start, result = time.perf_counter(), "ok"
        try:
            await self._reconcile(key)
        except Retry:
            metrics.reconcile_errors.labels("api").inc()
            result = "error"
            raise
        except Exception:
            metrics.reconcile_errors.labels("crash").inc()
            result = "error"
            raise
        finally:
            metrics.reconcile_duration.labels(result).observe(time.perf_counter() - start)

    async def _reconcile(self, key: Key) -> None:
        # 1. Load: the latest MicroApp (decoded only if it is not settled), synced children, and
        #    everything else the decision reads, as one value (which also says if anything moved).
        entry = self.world.apps.entry(key)
        if entry is None or entry.deleting:
            return
        self.reconciles += 1
        await self.cache.wait_synced()
        now = self.clock()
        world = self._decision_world(key, entry.team)
        inputs = (entry.packed.rv, world.key())
        if self.settled.unchanged(key, inputs, now):
            metrics.reconcile_skipped.inc()
            return  # nothing it reads changed since a reconcile that changed nothing
        app = entry.packed.unpack()
        meta, old = AppMeta.of(app), dict(app.get("status") or {})

        # 2. Decide (pure).
        decision = reconcile.decide(body=app, old_status=old, world=world, now=now)
        self._account(key, meta, decision)

        # 3-4. Carry it out: apply what differs, prune what is no longer rendered.
        answers, changed = reconcile.NOTHING_LIVE, False
        if isinstance(decision, reconcile.Apply):
            carried = await self._carry_out(app, meta, old, decision, now)
            if carried is None:
                return  # the namespace is going away
            answers, changed = carried

        # 5. The status, built by the core from what the API server answered: the one write.
        new = reconcile.status_after(decision, answers)
        written = await self._write_status(app, old, new, now)
        if not isinstance(decision, reconcile.Apply):
            if not written:
                self.settled.remember(key, inputs, (), now, None)
        elif answers.carried_out:
            read = [*decision.inventory, *(old.get("inventory") or [])]
            waiting = _reconciling(new)  # waits on its children: never settled (see _after)
            await self._after(key, meta, decision, inputs, now, changed=changed or written or waiting, read=read)

    async def _carry_out(
        self, app: dict[str, Any], meta: AppMeta, old: Mapping[str, Any], decision: reconcile.Apply, now: datetime
    ) -> tuple[reconcile.Answers, bool] | None:
        """Apply (never over what is not this app's), prune, tell. What the API server answered,
        and whether anything was written; None if the namespace is being deleted."""
        # 3. Never touch what is not ours: if any rendered object exists and is not this app's,
        #    apply nothing. Then apply what differs from the live objects.
        try:
            live = await self.cache.lookup(decision.objects)
            clash = reconcile.conflicts(decision, dict(zip(map(object_id, decision.objects), live)))
            if clash:
                return reconcile.Answers(conflicts=clash), False
            applied = await apply_changed(self.kube, decision.objects, live)
        except KubeError as exc:
            if exc.namespace_terminating:
                return None
            if exc.transient:
                raise Retry(str(exc), retry_after=exc.retry_after) from None
            return reconcile.Answers(refused=exc.message), False

        # 4. Prune what was applied before and is no longer rendered (retried until it is gone).
        try:
            pruned = await prune(self.kube, self.cache, meta, old.get("inventory") or [], decision.inventory)
        except KubeError as exc:
            if exc.namespace_terminating:
                return None
            raise Retry(f"prune: {exc}", retry_after=exc.retry_after) from None

        # 5. Tell; the children as the API server answered (the cache has not seen those yet).
        await self.announce.applied(
            app, meta, [f"{kind}/{name}" for _, kind, name in applied], pruned, decision, now, self.reconciles
        )
        children = {object_id(o): applied.get(object_id(o)) or self._live(o) for o in decision.objects}
        return reconcile.Answers(children=children), bool(applied or pruned)

    def _account(self, key: Key, meta: AppMeta, decision: reconcile.Decision) -> None:
        """The ledger, holds, savings and the PolicyReport follow every decision."""
        self.budgets.account(key, meta.team, decision.estimate, generation=meta.generation)
        if isinstance(decision, reconcile.Hold):
            self.budgets.hold(key, meta.team)
        else:
            self.budgets.unhold(key)
        self.reports.update(key, meta.uid or "", decision.violations)
        self.budgets.saved(key, meta.team, decision.saved if isinstance(decision, reconcile.Apply) else Decimal(0))

    async def _after(
        self,
        key: Key,
        meta: AppMeta,
        decision: reconcile.Apply,
        inputs: tuple[Any, ...],
        now: datetime,
        *,
        changed: bool,
        read: list[Mapping[str, str]],
    ) -> None:
        """Remember a no-op reconcile; look again when time says so; delete a retired app (Delete)."""
        if not (changed or decision.delete_app):
            self.settled.remember(key, inputs, read, now, decision.requeue_after)
        if decision.requeue_after is not None:
            self.requeue(key, decision.requeue_after)
        if decision.delete_app:  # retired with onRetire: Delete: the app itself goes (its archive with it)
            await self.kube.delete(MICROAPP, meta.namespace, meta.name, uid=meta.uid)

    def _decision_world(self, key: Key, team: str) -> reconcile.World:
        """Everything the pure decision reads about the world and this app's team, as one value:
        its ``key()`` is also what a settled app is compared by (``settled``)."""
        others, _ = self.budgets.ledger.committed(team, excluding=key)
        w = self.world
        return reconcile.World(
            templates=tuple(w.templates.values()),
            policy=w.policy,
            prices=w.prices,
            catalog_version=w.catalog_version,
            policy_version=w.policy_version,
            podmonitor=w.podmonitor,
            budget=w.budget_of(team),
            committed_others=others,
            reserved=self.budgets.ledger.reservation(key),
            absent=self.cache.absent(),
            traffic=w.activity.get(key),
            activity_known=w.activity_known,
        )

    def _live(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        res = RESOURCES[(obj["apiVersion"], obj["kind"])]
        return self.cache.get(res, obj["metadata"]["namespace"], obj["metadata"]["name"])

    async def _write_status(
        self, app: dict[str, Any], old: Mapping[str, Any], new: dict[str, Any], now: datetime
    ) -> bool:
        """Write the status if it changed; whether a write was sent."""
        meta = app["metadata"]
        key = (meta["namespace"], meta["name"])
        team = AppMeta.of(app).team
        if new.get("phase") and key in self.world.apps:
            self.phases[key] = (new["phase"], team)
        if all(old.get(k) == v for k, v in new.items()):
            return False
        try:
            await self.kube.patch_status(MICROAPP, meta["namespace"], meta["name"], new)
        except KubeError as exc:
            if exc.status == 404 or exc.namespace_terminating:
                return True  # deleted meanwhile
            if exc.transient:
                raise Retry(str(exc), retry_after=exc.retry_after) from None
            self._refused_status(key, exc)  # retrying cannot help: say so once, wait for a change
            return True
        self.status_refusals.pop(key, None)
        app["status"] = {**old, **{k: v for k, v in new.items() if v is not None}}
        self.world.apps.status_written(key, app)
        if new.get("phase") and new["phase"] != old.get("phase"):
            metrics.phase_transitions.labels(old.get("phase") or "None", new["phase"]).inc()
        stalled = _condition(new, ConditionType.STALLED)
        if stalled:
            metrics.reconcile_errors.labels(stalled["reason"]).inc()
        await self.announce.conditions(app, old, new, now)
        return True


def _condition(st: Mapping[str, Any], type_: ConditionType) -> Mapping[str, Any]:
    return next((c for c in st.get("conditions") or [] if c.get("type") == type_.value), {})


def _reconciling(status: Mapping[str, Any]) -> bool:
    """Whether the app still waits on its children (Reconciling=True: a rollout in progress).
    Such an app is never remembered as settled: while a rollout runs, its children are what
    moves, so every child event and every resync decides it again (a few apps at a time; a
    settled Ready app still costs nothing)."""
    for c in status.get("conditions") or []:
        fields = (
            c if isinstance(c, Mapping) else {"type": getattr(c, "type", None), "status": getattr(c, "status", None)}
        )
        if fields.get("type") == ConditionType.RECONCILING.value and fields.get("status") == "True":
            return True
    return False


async def apply_changed(
    kube: Kube, objects: tuple[dict[str, Any], ...], live: list[dict[str, Any] | None]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Apply the objects that differ, all at once (one round trip per reconcile, not one per
    object; the API server needs no order among them); force only over objects this app
    already controls. The first refusal is raised once every apply has answered. Returns each
    applied object's identity (apiVersion, kind, name) -> the object as the API server answered
    (a core and a Knative Service may share a name)."""
    todo = [
        (obj, current) for obj, current in zip(map(drift.with_hash, objects), live) if not drift.in_sync(current, obj)
    ]
    results = await asyncio.gather(
        *(kube.apply(obj, force=current is not None) for obj, current in todo), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return {
        object_id(obj): {"apiVersion": obj["apiVersion"], "kind": obj["kind"], **(answer or {})}
        for (obj, _), answer in zip(todo, results)
    }


async def prune(
    kube: Kube, cache: ChildCache, meta: AppMeta, before: list[Mapping[str, str]], now_rendered: list[dict[str, str]]
) -> list[str]:
    """Delete what was applied before and is no longer rendered, if this app controls it."""
    keep = {entry_id(e) for e in now_rendered}
    pruned = []
    for entry in before:
        ident = entry_id(entry)
        res: Resource | None = RESOURCES.get((ident[0], ident[1]))
        if ident in keep or res is None or not ident[2] or not isinstance(ident[2], str):
            continue
        live = cache.get(res, meta.namespace, ident[2]) or await kube.get(res, meta.namespace, ident[2])
        if live is None or not ownership.controlled_by(live, meta.uid):
            continue  # never delete what this app does not control
        if await kube.delete(res, meta.namespace, ident[2], uid=live["metadata"].get("uid")):
            pruned.append(f"{ident[1]}/{ident[2]}")
    return pruned
