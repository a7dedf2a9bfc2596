"""The reconciler: a level-based work queue over MicroApps (the imperative shell).

Kopf delivers MicroApp, AppTemplate and PlatformPolicy events; the child cache delivers
child changes. Each only enqueues the app's key. A worker then reconciles in numbered steps
(kubebuilder style): load -> compute desired (pure) -> apply what differs -> prune what is
no longer rendered -> rebuild status from the world -> write status only if it changed.
An unchanged app therefore costs zero write requests.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Mapping

from . import api, drift, health, plan, status
from .children import ChildCache
from .kube import APPTEMPLATE, MICROAPP, RESOURCES, Kube, KubeError, Resource
from .status import ConditionType, Reason

log = logging.getLogger(__name__)
Key = tuple[str, str]
Clock = Callable[[], datetime]
CHILD_RESOURCES = [r for r in RESOURCES.values() if r.api_version != api.API_VERSION and r.kind != "Event"]


class Retry(Exception):
    """Reconcile again later (transient API trouble)."""


class WorkQueue:
    """One reconcile per key at a time; keys added while in flight run once more afterwards;
    failures retry with exponential backoff (controller-runtime's rate-limited queue)."""

    def __init__(self, handler: Callable[[Key], Awaitable[None]], *, workers: int = 4) -> None:
        self.handler = handler
        self.workers = workers
        self.queue: asyncio.Queue[Key] = asyncio.Queue()
        self.pending: set[Key] = set()
        self.processing: set[Key] = set()
        self.dirty: set[Key] = set()
        self.failures: dict[Key, int] = {}

    def add(self, key: Key) -> None:
        if key in self.processing:
            self.dirty.add(key)
        elif key not in self.pending:
            self.pending.add(key)
            self.queue.put_nowait(key)

    def add_after(self, key: Key, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self.add, key)

    def idle(self) -> bool:
        return not (self.pending or self.processing or self.dirty)

    async def run(self) -> None:
        await asyncio.gather(*(self._work() for _ in range(self.workers)))

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            self.pending.discard(key)
            self.processing.add(key)
            try:
                await self.handler(key)
                self.failures.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one app's failure must not stop the others
                n = self.failures[key] = self.failures.get(key, 0) + 1
                delay = min(2 ** n, 300) * (0.8 + random.random() * 0.4)
                if isinstance(exc, Retry):
                    log.warning("reconcile retry namespace=%s name=%s in=%.1fs reason=%s", *key, delay, exc)
                else:
                    log.exception("reconcile crashed namespace=%s name=%s retry_in=%.1fs", *key, delay)
                self.add_after(key, delay)
            finally:
                self.processing.discard(key)
                if key in self.dirty:
                    self.dirty.discard(key)
                    self.add(key)


class Controller:
    """World model (latest MicroApps and catalog) plus the reconcile loop."""

    def __init__(self, kube: Kube, *, clock: Clock = lambda: datetime.now(timezone.utc),
                 workers: int = 4) -> None:
        self.kube = kube
        self.clock = clock
        self.apps: dict[Key, dict[str, Any]] = {}
        self.templates: dict[tuple[str, str], api.AppTemplateSpec] = {}
        self.queue = WorkQueue(self.reconcile, workers=workers)
        self.cache = ChildCache(kube, CHILD_RESOURCES, lambda ns, name: self.queue.add((ns, name)))
        self.reconciles = 0

    # --- events in ----------------------------------------------------------------------

    def app_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        if kind == "DELETED":
            self.apps.pop(key, None)  # children go with the ownerReferences
            return
        self.apps[key] = dict(body)
        self.queue.add(key)

    def template_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        try:
            spec = api.AppTemplateSpec.model_validate(body.get("spec") or {})
        except ValueError:
            log.warning("ignoring invalid AppTemplate name=%s", body.get("metadata", {}).get("name"))
            return
        if kind == "DELETED":
            self.templates.pop((spec.template_name, spec.version), None)
        else:
            self.templates[(spec.template_name, spec.version)] = spec
        for key, app in self.apps.items():
            ref = str((app.get("spec") or {}).get("template", ""))
            if ref.partition("@")[0] == spec.template_name:
                self.queue.add(key)

    async def run(self) -> None:
        """Load the catalog and sync the child cache before the first reconcile, so a
        restart never mistakes "not loaded yet" for "missing" (and writes nothing)."""
        cache = asyncio.create_task(self.cache.run(), name="child-cache")
        await self._load_catalog()
        await self.cache.wait_synced(timeout=300)
        log.info("caches synced templates=%d apps=%d", len(self.templates), len(self.apps))
        await asyncio.gather(cache, self.queue.run(), self._report_initial_sync())

    async def _report_initial_sync(self) -> None:
        """Log once when the first pass over all apps is done: the resync's cost in writes."""
        quiet = 0
        while quiet < 5:  # idle for a second: Kopf's initial listing has been handed over
            await asyncio.sleep(0.2)
            quiet = quiet + 1 if self.queue.idle() else 0
        log.info("initial sync done reconciles=%d writes=%d", self.reconciles, self.kube.writes)

    async def _load_catalog(self) -> None:
        delay = 1.0
        while True:
            try:
                listing = await self.kube.list(APPTEMPLATE)
                break
            except KubeError as exc:
                log.warning("cannot list AppTemplates error=%s retry_in=%.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
        for item in listing.get("items") or []:
            self.template_event("ADDED", item)

    # --- reconcile ----------------------------------------------------------------------

    async def reconcile(self, key: Key) -> None:
        # 1. Load: the latest MicroApp as Kopf delivered it, and synced children.
        app = self.apps.get(key)
        if app is None or app["metadata"].get("deletionTimestamp"):
            return
        self.reconciles += 1
        await self.cache.wait_synced()
        meta, old = app["metadata"], dict(app.get("status") or {})
        generation = int(meta.get("generation") or 1)
        now = self.clock()
        pinned = (old.get("template") or {}).get("version") if old.get("observedGeneration") == generation else None

        # 2. Desired state (pure). Permanent problems stall the app; nothing is applied.
        try:
            desired = plan.desired(app, self.templates.values(), pinned=pinned)
        except plan.PlanError as exc:
            new = status.stalled(generation=generation, old_status=old, reason=exc.reason,
                                 message=exc.message, now=now)
            await self._write_status(app, old, new, now)
            return

        # 3. Apply what differs from the live objects.
        try:
            applied = await self._apply(desired)
        except KubeError as exc:
            if exc.namespace_terminating:
                return
            if exc.transient:
                raise Retry(str(exc)) from None
            new = status.stalled(generation=generation, old_status=old, reason=Reason.APPLY_FAILED,
                                 message=f"the API server refused an object: {exc.message}", now=now)
            await self._write_status(app, old, new, now)
            return

        # 4. Prune what was applied before and is no longer rendered.
        pruned = await self._prune(app, old.get("inventory") or [], desired.inventory())

        # 5. Status from the state of the world.
        childs = [health.child(o["apiVersion"], o["kind"], self._live(o)) for o in desired.objects]
        combined = health.combine(childs)
        new = status.observed(generation=generation, old_status=old, health=combined,
                              suspended=desired.values.suspend, now=now)
        res = desired.resolution
        new.update({
            "selector": status.selector(meta["name"]),
            "url": combined.url or desired.url,
            "template": {"name": res.name, "version": res.version, "latest": res.latest},
            "inventory": desired.inventory(),
        })
        if applied:
            await self._event(app, "Normal", "Applied", "applied " + ", ".join(applied), now)
        if pruned:
            await self._event(app, "Normal", "Pruned", "deleted " + ", ".join(pruned), now)
        if (old.get("template") or {}).get("version") != res.version:
            await self._event(app, "Normal", "TemplateResolved",
                              f"rendered from {res.name}@{res.version} (newest: {res.latest})", now)
        await self._write_status(app, old, new, now)

    def _live(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        res = RESOURCES[(obj["apiVersion"], obj["kind"])]
        return self.cache.get(res, obj["metadata"]["namespace"], obj["metadata"]["name"])

    async def _apply(self, desired: plan.Plan) -> list[str]:
        applied = []
        for obj in desired.objects:
            if drift.in_sync(self._live(obj), obj):
                continue
            await self.kube.apply(obj)
            applied.append(f"{obj['kind']}/{obj['metadata']['name']}")
        return applied

    async def _prune(self, app: Mapping[str, Any], before: list[Mapping[str, str]],
                     now_rendered: list[Mapping[str, str]]) -> list[str]:
        keep = {(e["apiVersion"], e["kind"], e["name"]) for e in now_rendered}
        meta = app["metadata"]
        pruned = []
        for entry in before:
            ident = (entry.get("apiVersion"), entry.get("kind"), entry.get("name"))
            res: Resource | None = RESOURCES.get((ident[0], ident[1]))  # type: ignore[arg-type]
            if ident in keep or res is None or not isinstance(ident[2], str):
                continue
            live = self.cache.get(res, meta["namespace"], ident[2]) or await self.kube.get(res, meta["namespace"], ident[2])
            if live is None or not _owned_by(live, meta.get("uid")):
                continue  # never delete what this app does not own
            if await self.kube.delete(res, meta["namespace"], ident[2], uid=live["metadata"].get("uid")):
                pruned.append(f"{ident[1]}/{ident[2]}")
        return pruned

    async def _write_status(self, app: dict[str, Any], old: Mapping[str, Any], new: dict[str, Any],
                            now: datetime) -> None:
        if all(old.get(k) == v for k, v in new.items()):
            return
        meta = app["metadata"]
        try:
            await self.kube.patch_status(MICROAPP, meta["namespace"], meta["name"], new)
        except KubeError as exc:
            if exc.status == 404:
                return  # deleted meanwhile
            raise Retry(str(exc)) from None
        app["status"] = {**old, **{k: v for k, v in new.items() if v is not None}}
        await self._condition_events(app, old, new, now)

    async def _condition_events(self, app: Mapping[str, Any], old: Mapping[str, Any],
                                new: Mapping[str, Any], now: datetime) -> None:
        def cond(st: Mapping[str, Any], type_: ConditionType) -> Mapping[str, Any]:
            return next((c for c in st.get("conditions") or [] if c.get("type") == type_.value), {})
        before, after = cond(old, ConditionType.READY), cond(new, ConditionType.READY)
        if (before.get("status"), before.get("reason")) == (after.get("status"), after.get("reason")):
            return
        if cond(new, ConditionType.STALLED):
            await self._event(app, "Warning", after.get("reason", "Stalled"), after.get("message", ""), now)
        elif after.get("status") == "True":
            await self._event(app, "Normal", "Ready", after.get("message", ""), now)

    async def _event(self, app: Mapping[str, Any], type_: str, reason: str, message: str, now: datetime) -> None:
        await self.kube.event(app, type_=type_, reason=reason, message=message, now=now)


def _owned_by(obj: Mapping[str, Any], uid: str | None) -> bool:
    return any(ref.get("uid") == uid and ref.get("controller")
               for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])
