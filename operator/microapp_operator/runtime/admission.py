"""Admission: the one door. Who asks, the hand-over, name collisions, the policy, the spec and
the budget, at ``kubectl apply`` time.

``review(request) -> verdict`` does it all in one pass: the shard's hand-over, collisions (at
create), the app rendered once, priced, its budget reserved, the guardrails and the identity
rules, and the ownership-transfer Event. Entry only translates an AdmissionReview (Kopf's or the
direct webhook's) to a :class:`Request` and a :class:`Verdict` back. It calls the same core as the
reconciler (identity, guardrails, the workload plan, ``pricing``, budget). From reading the
ledger to reserving there is no ``await``, so concurrent admissions on the event loop are
serialized (no double-spend).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from .. import metrics
from ..api import types as api
from ..api.conditions import Reason
from ..api.kinds import CHILDREN, RESOURCES
from ..core import budget, guardrails, identity, ownership, plan, pricing
from ..core import shard as rules
from ..core.render import RenderError
from .budgets import Budgets
from .cache import ChildCache
from .kube import Kube, KubeError
from .names import NameIndex, has
from .shards import Shards
from .world import Key, World

MEMO_SIZE = 4096
Evaluation = tuple["Decimal | None", list[str], "api.MicroAppSpec | None"]  # estimate, problems, spec


@dataclass(frozen=True)
class Request:
    """One admission review as plain values."""

    operation: str  # CREATE or UPDATE
    new: Mapping[str, Any]  # the MicroApp (for the scale subresource: the Scale object)
    old: Mapping[str, Any] | None = None
    user: Mapping[str, Any] | None = None  # userInfo: username, groups
    dryrun: bool = False
    subresource: str | None = None  # "scale": kubectl scale


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    message: str = ""
    code: int = 200
    warnings: tuple[str, ...] = ()


ALLOWED = Verdict(True)


class Admission:
    def __init__(
        self,
        world: World,
        budgets: Budgets,
        cache: ChildCache,
        names: NameIndex,
        shards: Shards | None = None,
        kube: Kube | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.world = world
        self.budgets = budgets
        self.cache = cache
        self.names = names
        self.shards = shards  # None: one operator for every namespace
        self.kube, self.clock = kube, clock  # for the OwnershipTransferred Event
        self.estimates: OrderedDict[bytes, Evaluation] = OrderedDict()
        self.background: set[asyncio.Task[None]] = set()

    async def review(self, request: Request) -> Verdict:
        """One admission review, every check in one pass; counted for /metrics."""
        with metrics.admission_duration.time():
            meta = plan.AppMeta.of(request.new)
            refused = self.refusal(meta.namespace, meta.team)
            if refused is not None:
                metrics.admission_denials.labels("Shard").inc()
                return Verdict(False, refused[1], refused[0])
            if request.subresource == "scale":
                return self._scale(request)
            user = request.user or {}
            conflicts, priced = await self.collisions(request.new) if request.operation == "CREATE" else ([], None)
            decision = self.admit(
                request.new, request.old, user=user, dryrun=request.dryrun, conflicts=conflicts, priced=priced
            )
            verdict = _verdict(decision, request.operation)
            moved = identity.transfer(meta, plan.AppMeta.of(request.old) if request.old else None)
            if verdict.allowed and moved and not request.dryrun:
                self._record(request.old or {}, "OwnershipTransferred", f"{moved} (by {user.get('username')})")
            return verdict

    def _scale(self, request: Request) -> Verdict:
        """`kubectl scale` goes through the same checks: it must not bypass the budget."""
        meta = request.new.get("metadata") or {}
        current = self.world.apps.get((meta.get("namespace", ""), meta.get("name", "")))
        if current is None:
            return ALLOWED  # not seen yet: the reconciler will flag it
        replicas = (request.new.get("spec") or {}).get("replicas")
        # The scale update bumps the app's generation: reserve for that one.
        generation = int(current["metadata"].get("generation") or 1) + 1
        scaled = {
            **current,
            "metadata": {**current["metadata"], "generation": generation},
            "spec": {**(current.get("spec") or {}), "replicas": replicas},
        }
        return _verdict(self.admit(scaled, current, user=request.user or {}, dryrun=request.dryrun), "SCALE")

    def refusal(self, namespace: str, team: str) -> tuple[int, str] | None:
        """Why admission cannot decide here (code, message), or None: the namespace is not this
        operator's, or is being handed over between shards (503: retry), or the team's budget
        would have two writers (403)."""
        if self.shards is None:
            return None
        shard = self.shards.shard
        if not self.shards.owns(namespace) and not shard.sharded:
            return 403, (
                f"namespace {namespace} is not one of this microapp operator's namespaces "
                f"(--namespace {', '.join(sorted(shard.only))}): add it there, or apply the app in one of them"
            )
        if not self.shards.owns(namespace):
            return 503, (
                f"namespace {namespace} is being handed over between microapp operator shards "
                f"({shard.name} to {self.shards.shard_of(namespace)}); retry in a few seconds"
            )
        found = guardrails.team_of(self.world.policy, team)
        if found is not None and team in self.world.budgets:
            split = self.shards.split(list(found.namespaces or []))
            if len(split) > 1:
                return 403, rules.split_message(team, split)
        return None

    async def collisions(self, body: Mapping[str, Any]) -> tuple[list[str], pricing.Priced | None]:
        """Objects the app would render that already exist and are someone else's (checked at
        create: the reconciler re-checks every time and stalls with NameConflict), and the priced
        workload if it had to be rendered for that (so the review renders it once)."""
        w = self.world
        meta = plan.AppMeta.of(body)
        priced = None
        try:
            if not await self.names.prefixed(CHILDREN, meta.namespace, meta.name):
                return [], None  # no existing name the app could render: nothing to render or fetch
            app = plan.parse(body)
            priced = pricing.price(app, w.templates.values(), w.policy, prices=w.prices, podmonitor=w.podmonitor)
            objects = plan.desired(
                app, w.templates.values(), policy=w.policy, podmonitor=w.podmonitor, work=priced.work
            ).objects
            live = await self._existing(objects)
        except (plan.PlanError, RenderError, KubeError):
            return [], priced  # a spec problem is reported by admit(); API trouble: the reconciler re-checks
        found = dict(zip((id(o) for o in objects), live))
        clash = ownership.conflicts(
            objects, lambda o: found.get(id(o)), app=app.name, uid=app.meta.uid, include_previous=False
        )
        return clash, priced

    def _record(self, app: Mapping[str, Any], reason: str, message: str) -> None:
        """Post a Normal Event in the background (admission must not wait for it)."""
        if self.kube is None or self.clock is None:
            return
        event = self.kube.event(app, type_="Normal", reason=reason, message=message, now=self.clock())
        task = asyncio.ensure_future(event)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _existing(self, objects: tuple[dict[str, Any], ...]) -> list[dict[str, Any] | None]:
        """The existing object for each rendered one: from the child cache; else, if the name
        index says the name is taken, one GET to learn whose it is."""
        kinds = {RESOURCES[(o["apiVersion"], o["kind"])] for o in objects}
        namespace = objects[0]["metadata"]["namespace"] if objects else ""
        taken = dict(zip(kinds, await asyncio.gather(*(self.names.names(res, namespace) for res in kinds))))
        return await self.cache.lookup(objects, fetch=lambda res, obj: has(taken[res], obj["metadata"]["name"]))

    def admit(
        self,
        new: Mapping[str, Any],
        old: Mapping[str, Any] | None,
        *,
        user: Mapping[str, Any],
        dryrun: bool,
        conflicts: list[str] | None = None,
        priced: pricing.Priced | None = None,
    ) -> budget.Decision:
        """A MicroApp create or update: every problem is listed at once (``conflicts`` and the
        ``priced`` workload: from :meth:`collisions`, awaited before, since this step must not await)."""
        meta = plan.AppMeta.of(new)
        old_meta = plan.AppMeta.of(old) if old is not None else None
        policy = self.world.policy
        est, workload_problems, spec = self._evaluate_spec(new, meta, priced)
        problems = identity.check(
            app=meta,
            old=old_meta,
            username=str(user.get("username", "")),
            groups=list(user.get("groups") or []),
            policy=policy,
        )
        problems += guardrails.evaluate_app(meta, spec, policy) + workload_problems + list(conflicts or [])
        if est is None:
            return _refusal(problems) if problems else budget.Decision(True)  # e.g. template missing: stalls
        key = meta.key
        previous = self._previous_cost(key, old) if old else Decimal(0)
        others, _ = self.budgets.ledger.committed(meta.team, excluding=key)
        decision = budget.decide(
            estimate=est,
            previous=previous,
            currency=self.world.prices.currency,
            team=meta.team,
            committed_others=others,
            budget=self.world.budget_of(meta.team),
            app_limit=budget.app_limit(spec) if spec is not None else None,
        )
        if problems:
            return _refusal(problems + ([decision.message] if not decision.allowed else []), decision.warnings)
        if decision.allowed and not dryrun:
            self.budgets.reserve(key, meta.team, est, generation=meta.generation)
        return decision

    def _evaluate_spec(
        self, body: Mapping[str, Any], meta: plan.AppMeta, priced: pricing.Priced | None = None
    ) -> Evaluation:
        """(estimate, spec problems, parsed spec), memoized by what they depend on: the spec, the team, the
        catalog, the policy (and so the prices), not the app's name (templates must not price
        or size by name; the reconciler re-checks every app after the fact anyway). A missing
        template is no problem here (the app stalls until it is published)."""
        w = self.world
        absent = self.cache.absent()
        memo_key = orjson.dumps(
            [body.get("spec"), meta.team, w.catalog_version, w.policy_version, w.podmonitor, sorted(absent)],
            default=str,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        )
        if memo_key in self.estimates:
            self.estimates.move_to_end(memo_key)
            return self.estimates[memo_key]
        value: Evaluation
        spec = None
        try:
            spec = plan.parse_spec(body.get("spec"))
            app = plan.App(meta, spec)
            priced = priced or pricing.price(
                app, w.templates.values(), w.policy, prices=w.prices, podmonitor=w.podmonitor
            )
            work, res = priced.work, priced.work.resolution
            missing = ownership.unavailable(work.objects, absent, template=f"{res.name}@{res.version}")
            value = (
                priced.estimate.monthly,
                missing + guardrails.evaluate_workload(spec, work.objects, w.policy),
                spec,
            )
        except plan.PlanError as exc:
            value = (None, [] if exc.reason == Reason.TEMPLATE_NOT_FOUND else exc.problems, spec)
        except RenderError as exc:  # the template's output cannot be priced
            value = (None, [str(exc)], spec)
        self.estimates[memo_key] = value
        if len(self.estimates) > MEMO_SIZE:
            self.estimates.popitem(last=False)
        return value

    def _previous_cost(self, key: Key, old: Mapping[str, Any]) -> Decimal:
        entry = self.budgets.ledger.current(key)
        if entry is not None:
            return entry.amount
        return self._evaluate_spec(old, plan.AppMeta.of(old))[0] or Decimal(0)


def _refusal(problems: list[str], warnings: tuple[str, ...] = ()) -> budget.Decision:
    text = "the MicroApp was refused:\n" + "\n".join(f"- {p}" for p in problems)
    return budget.Decision(False, budget.DenyReason.POLICY, text, warnings)


def _verdict(decision: budget.Decision, operation: str) -> Verdict:
    """The budget and policy decision as a verdict; counted either way."""
    metrics.admission_requests.labels(operation, str(decision.allowed).lower()).inc()
    if decision.allowed:
        return Verdict(True, warnings=tuple(decision.warnings))
    metrics.admission_denials.labels(decision.reason.value if decision.reason else "Denied").inc()
    return Verdict(False, decision.message, 403, tuple(decision.warnings))
