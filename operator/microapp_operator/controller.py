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
import time
from collections import OrderedDict
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Awaitable, Callable, Mapping

import orjson

from . import api, budget, cost, drift, guardrails, health, identity, metrics, plan, policyreport, status
from .children import ChildCache
from .kube import (APPTEMPLATE, MICROAPP, PLATFORMPOLICY, PODMONITOR, POLICYREPORT, RESOURCES, TEAMBUDGET, Kube,
                   KubeError, Resource)
from .ledger import Ledger
from .memo import ByIdentity
from .status import ConditionType, Reason

log = logging.getLogger(__name__)
Key = tuple[str, str]
Clock = Callable[[], datetime]
CHILD_RESOURCES = [r for r in RESOURCES.values()
                   if r.api_version != api.API_VERSION and r.kind not in ("Event", "PolicyReport")]


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
        self.policy = api.PlatformPolicySpec()
        self._prices: ByIdentity[api.PlatformPolicySpec, cost.Prices] = ByIdentity(
            lambda policy: cost.Prices.from_policy(policy.pricing), size=4)
        self.budgets: dict[str, tuple[str, budget.TeamBudget]] = {}   # team -> (object name, budget)
        self.budget_status: dict[str, dict[str, Any]] = {}            # TeamBudget name -> last status
        self.budget_generation: dict[str, int] = {}
        self.ledger = Ledger(time.monotonic)
        self.dirty_teams: set[str] = set()
        self.queue = WorkQueue(self.reconcile, workers=workers)
        self.cache = ChildCache(kube, CHILD_RESOURCES, lambda ns, name: self.queue.add((ns, name)),
                                on_kind=self._kind_changed)
        self.synced = asyncio.Event()
        self.reconciles = 0
        self.catalog_version = 0
        self.estimates: OrderedDict[bytes, tuple[Decimal | None, list[str]]] = OrderedDict()
        self.policy_version = 0
        self.background: set[asyncio.Task[None]] = set()
        self.findings: dict[Key, tuple[str, list[str]]] = {}   # app -> (uid, violations), for PolicyReports
        self.phases: dict[Key, tuple[str, str]] = {}          # app -> (phase, team), for microapp_apps
        try:
            metrics.REGISTRY.register(metrics.AppsCollector(lambda: list(self.phases.values())))
        except ValueError:  # a second controller in one process (tests): the first one reports
            pass
        self.dirty_namespaces: set[str] = set()

    @property
    def prices(self) -> cost.Prices:
        """The price sheet of the current policy (built once per policy: admission reads it)."""
        return self._prices(self.policy)

    # --- events in ----------------------------------------------------------------------

    def app_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        if kind == "DELETED":
            self.apps.pop(key, None)  # children go with the ownerReferences
            self.phases.pop(key, None)
            if self.findings.pop(key, None) is not None:
                self.dirty_namespaces.add(key[0])
            gone = self.ledger.remove_app(key)
            if gone is not None:
                metrics.app_cost.remove(key[0], key[1], gone.team)
                self.dirty_teams.add(gone.team)
            return
        self.apps[key] = dict(body)
        self.queue.add(key)

    def _kind_changed(self, res: Resource, present: bool) -> None:
        """A CRD we render for appeared or went (PodMonitor: switch scraping for every app)."""
        if res is PODMONITOR:
            log.info("PodMonitor CRD %s: re-rendering every app", "found" if present else "gone")
            for key in self.apps:
                self.queue.add(key)

    @property
    def podmonitor(self) -> bool:
        return self.cache.present.get(PODMONITOR, False)

    def policy_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        if body.get("metadata", {}).get("name") != "default":
            return
        try:
            self.policy = api.PlatformPolicySpec() if kind == "DELETED" else \
                api.PlatformPolicySpec.model_validate(body.get("spec") or {})
        except ValueError:
            log.warning("ignoring invalid PlatformPolicy default")
            return
        self.policy_version += 1
        for key in self.apps:  # prices and rules apply to every app
            self.queue.add(key)

    def budget_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        name = body["metadata"]["name"]
        for team, (owner, _) in list(self.budgets.items()):
            if owner == name:
                del self.budgets[team]
                metrics.team_limit.remove(team)
        if kind != "DELETED":
            try:
                tb = budget.TeamBudget.from_spec(body.get("spec") or {})
            except ValueError:
                log.warning("ignoring invalid TeamBudget name=%s", name)
                return
            self.budgets[tb.team] = (name, tb)
            self.budget_generation[name] = int(body["metadata"].get("generation") or 1)
            metrics.team_limit.labels(tb.team).set(float(tb.limit))
            self.dirty_teams.add(tb.team)
            self.budget_status[name] = dict(body.get("status") or {})
        for key, app in self.apps.items():
            if _team(app):
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
        self.catalog_version += 1
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
        await self._prime_ledger()
        log.info("caches synced templates=%d apps=%d", len(self.templates), len(self.apps))
        await asyncio.gather(cache, self.queue.run(), self._report_initial_sync(), self._budget_status_loop(),
                             self._policy_report_loop())

    async def _report_initial_sync(self) -> None:
        """Log once when the first pass over all apps is done: the resync's cost in writes."""
        quiet = 0
        while quiet < 5:  # idle for a second: Kopf's initial listing has been handed over
            await asyncio.sleep(0.2)
            quiet = quiet + 1 if self.queue.idle() else 0
        self.synced.set()
        log.info("initial sync done reconciles=%d writes=%d", self.reconciles, self.kube.writes)

    async def _prime_ledger(self) -> None:
        """Every app's estimate before the first reconcile: budget verdicts made during the
        initial sync must not depend on which apps happened to be reconciled first."""
        listing = await self._list_retrying(MICROAPP)
        prices = self.prices
        for item in listing.get("items") or []:
            key = (item["metadata"]["namespace"], item["metadata"]["name"])
            try:
                amount = cost.estimate(plan.workload(item, self.templates.values(), policy=self.policy,
                                                     podmonitor=self.podmonitor).objects, prices).monthly
            except plan.PlanError:
                amount = None
            self._account(key, _team(item), amount, priming=True)

    async def _list_retrying(self, res: Resource) -> dict[str, Any]:
        delay = 1.0
        while True:
            try:
                return await self.kube.list(res)
            except KubeError as exc:
                log.warning("cannot list %s error=%s retry_in=%.0fs", res.plural, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def _load_catalog(self) -> None:
        """Templates, the policy and the budgets, before anything is decided."""
        for item in (await self._list_retrying(PLATFORMPOLICY)).get("items") or []:
            self.policy_event("ADDED", item)
        for item in (await self._list_retrying(TEAMBUDGET)).get("items") or []:
            self.budget_event("ADDED", item)
        for item in (await self._list_retrying(APPTEMPLATE)).get("items") or []:
            self.template_event("ADDED", item)

    # --- reconcile ----------------------------------------------------------------------

    async def reconcile(self, key: Key) -> None:
        """One reconcile, timed and counted (errors by kind) for /metrics."""
        with _Timer() as timer:
            try:
                await self._reconcile(key)
            except Retry:
                metrics.reconcile_errors.labels("api").inc()
                timer.result = "error"
                raise
            except Exception:
                metrics.reconcile_errors.labels("crash").inc()
                timer.result = "error"
                raise

    async def _reconcile(self, key: Key) -> None:
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
            desired = plan.desired(app, self.templates.values(), pinned=pinned, policy=self.policy,
                                   podmonitor=self.podmonitor)
        except plan.PlanError as exc:
            self._account(key, _team(app), None)
            violations, compliant = self._compliance(app, None, generation, now)
            new = status.stalled(generation=generation, old_status=old, reason=exc.reason,
                                 message=exc.message, now=now, extra=[compliant])
            new["violations"] = violations
            await self._write_status(app, old, new, now)
            return

        # 2b. Cost and budget: flag, and hold back a first rollout that does not fit.
        estimate = cost.estimate(desired.objects, self.prices)
        self._account(key, _team(app), estimate.monthly)
        fits, budget_note = self._within_budget(app, estimate.monthly)
        cost_status = {"estimatedMonthly": cost.money(estimate.monthly), "currency": estimate.currency}
        budget_cond = status.condition(ConditionType.WITHIN_BUDGET, "True" if fits else "False",
                                       Reason.WITHIN_BUDGET if fits else Reason.OVER_BUDGET, budget_note,
                                       generation=generation, now=now)
        violations, compliant = self._compliance(app, desired.objects, generation, now)
        # A first rollout waits until it fits and complies (the webhook was bypassed or raced);
        # an app that already runs is only flagged.
        hold = [(Reason.OVER_BUDGET, budget_note)] if not fits and self._enforced(app) else []
        hold += [(Reason.POLICY_VIOLATIONS, "; ".join(violations))] if violations else []
        if hold and not old.get("inventory"):
            new = status.held(generation=generation, old_status=old, reason=hold[0][0],
                              message="not rolled out: " + "; ".join(m for _, m in hold),
                              extra=[budget_cond, compliant], now=now)
            new.update({"cost": cost_status, "violations": violations})
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
                              suspended=desired.values.suspend, now=now, extra=[budget_cond, compliant])
        res = desired.resolution
        new.update({
            "violations": violations,
            "cost": cost_status,
            "selector": status.selector(meta["name"]),
            "url": combined.url or desired.url,
            "template": {"name": res.name, "version": res.version, "latest": res.latest},
            "inventory": desired.inventory(),
        })
        if applied or pruned:
            log.info("reconciled namespace=%s name=%s applied=%d pruned=%d", meta["namespace"], meta["name"],
                     len(applied), len(pruned),
                     extra={"namespace": meta["namespace"], "app": meta["name"],
                                          "generation": generation, "reconcile_id": self.reconciles,
                                          "applied": len(applied), "pruned": len(pruned)})
        if applied:
            await self._event(app, "Normal", "Applied", "applied " + ", ".join(applied), now)
        if pruned:
            await self._event(app, "Normal", "Pruned", "deleted " + ", ".join(pruned), now)
        if (old.get("template") or {}).get("version") != res.version:
            await self._event(app, "Normal", "TemplateResolved",
                              f"rendered from {res.name}@{res.version} (newest: {res.latest})", now)
        await self._write_status(app, old, new, now)

    # --- policy -------------------------------------------------------------------------

    def _compliance(self, app: Mapping[str, Any], objects: Any, generation: int,
                    now: datetime) -> tuple[list[str] | None, api.Condition]:
        """violations and PolicyCompliant: a policy change flags apps, it never stops them."""
        found = guardrails.evaluate(app, objects, self.policy)
        meta = app["metadata"]
        key = (meta["namespace"], meta["name"])
        if key in self.apps and self.findings.get(key) != (meta.get("uid", ""), found):
            self.findings[key] = (meta.get("uid", ""), found)
            self.dirty_namespaces.add(key[0])
        cond = status.condition(ConditionType.POLICY_COMPLIANT, "False" if found else "True",
                                Reason.POLICY_VIOLATIONS if found else Reason.COMPLIANT,
                                "; ".join(found) if found else "complies with PlatformPolicy default",
                                generation=generation, now=now)
        return found or None, cond

    # --- budgets ------------------------------------------------------------------------

    def _account(self, key: Key, team: str, amount: Decimal | None, *, priming: bool = False) -> None:
        if key not in self.apps and not priming:
            return  # deleted while this reconcile ran: do not bring its series back
        amount = amount if amount is not None else Decimal(0)
        before = self.ledger.apps.get(key)
        if self.ledger.set_app(key, team, amount):
            if before is not None and before.team != team:
                metrics.app_cost.remove(key[0], key[1], before.team)
                self.dirty_teams.add(before.team)
            metrics.app_cost.labels(key[0], key[1], team).set(float(amount))
            self.dirty_teams.add(team)

    def _app_limit(self, app: Mapping[str, Any]) -> Decimal | None:
        limit = ((app.get("spec") or {}).get("budget") or {}).get("monthlyLimit")
        return Decimal(str(limit)) if limit is not None else None

    def _within_budget(self, app: Mapping[str, Any], estimate: Decimal) -> tuple[bool, str]:
        team = _team(app)
        committed, _ = self.ledger.committed(team)
        tb = self.budgets.get(team, (None, None))[1]
        return budget.within(estimate=estimate, currency=self.prices.currency, team=team, committed=committed,
                             budget=tb, app_limit=self._app_limit(app))

    def _enforced(self, app: Mapping[str, Any]) -> bool:
        tb = self.budgets.get(_team(app), (None, None))[1]
        return tb is None or tb.enforcement == "Deny"

    def admit(self, new: Mapping[str, Any], old: Mapping[str, Any] | None, *, user: Mapping[str, Any],
              dryrun: bool) -> budget.Decision:
        """Admission for a MicroApp create/update: who asks, the policy, the spec, the budget.

        Every problem is listed at once. Deliberately synchronous: from reading the ledger to
        reserving there is no ``await``, so concurrent admissions on this event loop are
        serialized (no double-spend)."""
        meta = new.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        prices = self.prices
        problems = identity.check(app=new, old=old, username=str(user.get("username", "")),
                                  groups=list(user.get("groups") or []), policy=self.policy)
        problems += guardrails.evaluate_app(new, self.policy)
        est, workload_problems = self._evaluate_spec(new)
        problems += workload_problems
        if est is None:
            return _refusal(problems) if problems else budget.Decision(True)  # e.g. template missing: stalls
        team = _team(new)
        previous = self._previous_cost(key, old) if old else Decimal(0)
        others, _ = self.ledger.committed(team, excluding=key)
        decision = budget.decide(estimate=est, previous=previous, currency=prices.currency, team=team,
                                 committed_others=others, budget=self.budgets.get(team, (None, None))[1],
                                 app_limit=self._app_limit(new))
        if problems:
            return _refusal(problems + ([decision.message] if not decision.allowed else []), decision.warnings)
        if decision.allowed and not dryrun:
            self.ledger.reserve(key, team, est)
            self.dirty_teams.add(team)
        return decision

    def _evaluate_spec(self, app: Mapping[str, Any]) -> tuple[Decimal | None, list[str]]:
        """(estimate, spec problems) for admission, memoized by what they depend on: the spec,
        the team, the catalog, the policy (and so the prices), not the app's name (templates must
        not price or size by name; the reconciler re-checks every app after the fact anyway).
        A missing template is no problem here (the app stalls until it is published)."""
        memo_key = orjson.dumps([app.get("spec"), _team(app), self.catalog_version, self.policy_version,
                                 self.podmonitor], default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
        if memo_key in self.estimates:
            self.estimates.move_to_end(memo_key)
            return self.estimates[memo_key]
        value: tuple[Decimal | None, list[str]]
        try:
            objects = plan.workload(app, self.templates.values(), policy=self.policy,
                                    podmonitor=self.podmonitor).objects
            value = (cost.estimate(objects, self.prices).monthly,
                     guardrails.evaluate_workload(app.get("spec") or {}, objects, self.policy))
        except plan.PlanError as exc:
            value = (None, [] if exc.reason == Reason.TEMPLATE_NOT_FOUND else exc.problems)
        self.estimates[memo_key] = value
        if len(self.estimates) > 4096:
            self.estimates.popitem(last=False)
        return value

    def _previous_cost(self, key: Key, old: Mapping[str, Any]) -> Decimal:
        entry = self.ledger.current(key)
        if entry is not None:
            return entry.amount
        return self._evaluate_spec(old)[0] or Decimal(0)

    async def _budget_status_loop(self, interval: float = 1.0) -> None:
        """Keep TeamBudget status and the team gauges current (only writes what changed)."""
        while True:
            await asyncio.sleep(interval)
            teams, self.dirty_teams = self.dirty_teams, set()
            for team in teams:
                committed, count = self.ledger.committed(team)
                metrics.team_committed.labels(team).set(float(committed))
                if team in self.budgets:
                    try:
                        await self._write_budget_status(team, committed, count)
                    except KubeError as exc:
                        log.warning("TeamBudget status not written team=%s error=%s", team, exc)
                        self.dirty_teams.add(team)

    async def _policy_report_loop(self, interval: float = 2.0, recheck: float = 10.0) -> None:
        """One PolicyReport per namespace while the wgpolicyk8s.io CRD exists (re-detected)."""
        present, checked = False, 0.0
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - checked > recheck:
                checked = time.monotonic()
                try:
                    await self.kube.list(POLICYREPORT, label_selector="app.kubernetes.io/managed-by=microapp-operator")
                    if not present:
                        log.info("PolicyReport CRD found: writing reports")
                        self.dirty_namespaces |= {ns for ns, _ in self.findings}
                    present = True
                except KubeError as exc:
                    present = False if exc.status == 404 else present
            if not present or not self.dirty_namespaces:
                continue
            namespaces, self.dirty_namespaces = self.dirty_namespaces, set()
            for ns in namespaces:
                try:
                    await self._write_policy_report(ns)
                except KubeError as exc:
                    if not exc.namespace_terminating:
                        log.warning("PolicyReport not written namespace=%s error=%s", ns, exc)
                        self.dirty_namespaces.add(ns)

    async def _write_policy_report(self, namespace: str) -> None:
        apps = {name: found for (ns, name), found in self.findings.items() if ns == namespace}
        if not apps:
            await self.kube.delete(POLICYREPORT, namespace, policyreport.NAME)
            return
        desired = policyreport.report(namespace, apps, self.clock())
        live = await self.kube.get(POLICYREPORT, namespace, policyreport.NAME)
        if not policyreport.same(live, desired):
            await self.kube.apply(desired)

    async def _write_budget_status(self, team: str, committed: Decimal, count: int) -> None:
        name, tb = self.budgets[team]
        now = self.clock()
        old = self.budget_status.get(name, {})
        gen = self.budget_generation.get(name, 1)
        used = committed * 100 / tb.limit if tb.limit else Decimal(0)
        over = committed > tb.limit
        conds = [status.condition(ConditionType.WITHIN_BUDGET, "False" if over else "True",
                                  Reason.OVER_BUDGET if over else Reason.WITHIN_BUDGET,
                                  f"{cost.money(committed)} of {cost.money(tb.limit)} committed ({used:.0f}%)",
                                  generation=gen, now=now)]
        if used >= tb.warn_at_percent:
            conds.append(status.condition(ConditionType.WARN_THRESHOLD, "True", Reason.OVER_WARN_THRESHOLD,
                                          f"{used:.0f}% committed; warning at {tb.warn_at_percent}%",
                                          generation=gen, now=now))
        new = {"observedGeneration": gen, "committedMonthly": cost.money(committed),
               "remaining": cost.money(tb.limit - committed), "apps": count,
               "conditions": status.merge_conditions(old.get("conditions") or [], conds,
                                                     drop=[ConditionType.WARN_THRESHOLD.value])}
        if all(old.get(k) == v for k, v in new.items()):
            return
        await self.kube.patch_status(TEAMBUDGET, "", name, new)
        self.budget_status[name] = {**old, **new}

    def _live(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        res = RESOURCES[(obj["apiVersion"], obj["kind"])]
        return self.cache.get(res, obj["metadata"]["namespace"], obj["metadata"]["name"])

    async def _apply(self, desired: plan.Plan) -> list[str]:
        applied = []
        for obj in map(drift.with_hash, desired.objects):
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
        meta = app["metadata"]
        if new.get("phase") and (meta["namespace"], meta["name"]) in self.apps:
            self.phases[(meta["namespace"], meta["name"])] = (new["phase"], _team(app))
        if all(old.get(k) == v for k, v in new.items()):
            return
        try:
            await self.kube.patch_status(MICROAPP, meta["namespace"], meta["name"], new)
        except KubeError as exc:
            if exc.status == 404:
                return  # deleted meanwhile
            raise Retry(str(exc)) from None
        app["status"] = {**old, **{k: v for k, v in new.items() if v is not None}}
        key = (meta["namespace"], meta["name"])
        if new.get("phase") and new["phase"] != old.get("phase"):
            metrics.phase_transitions.labels(old.get("phase") or "None", new["phase"]).inc()
        if new.get("phase") and key in self.apps:
            self.phases[key] = (new["phase"], _team(app))
        cond = next((c for c in new.get("conditions") or [] if c["type"] == ConditionType.STALLED.value), None)
        if cond:
            metrics.reconcile_errors.labels(cond["reason"]).inc()
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

    def record(self, app: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        """Post an Event in the background (from admission, which must not wait for it)."""
        task = asyncio.create_task(self._event(app, type_, reason, message, self.clock()))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _event(self, app: Mapping[str, Any], type_: str, reason: str, message: str, now: datetime) -> None:
        await self.kube.event(app, type_=type_, reason=reason, message=message, now=now)


class _Timer:
    """Observe a reconcile's duration under its result label when the block ends."""

    def __init__(self) -> None:
        self.result = "ok"

    def __enter__(self) -> "_Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        metrics.reconcile_duration.labels(self.result).observe(time.perf_counter() - self.start)


def _refusal(problems: list[str], warnings: tuple[str, ...] = ()) -> budget.Decision:
    text = "the MicroApp was refused:\n" + "\n".join(f"- {p}" for p in problems)
    return budget.Decision(False, budget.DenyReason.POLICY, text, warnings)


def _team(app: Mapping[str, Any]) -> str:
    return str(((app.get("metadata") or {}).get("annotations") or {}).get(api.TEAM_ANNOTATION, ""))


def _owned_by(obj: Mapping[str, Any], uid: str | None) -> bool:
    return any(ref.get("uid") == uid and ref.get("controller")
               for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])
