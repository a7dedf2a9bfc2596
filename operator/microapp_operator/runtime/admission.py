"""Admission: who asks, the policy, the spec and the budget, at ``kubectl apply`` time.

Calls the same core as the reconciler (identity, guardrails, the workload plan, cost,
budget). Deliberately synchronous: from reading the ledger to reserving there is no
``await``, so concurrent admissions on the event loop are serialized (no double-spend).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

from ..api import types as api
from ..api.conditions import Reason
from ..api.kinds import CHILDREN, RESOURCES
from ..core import budget, guardrails, identity, ownership, plan, pricing
from ..core.render import RenderError
from .budgets import Budgets
from .cache import ChildCache
from .kube import KubeError
from .names import NameIndex, has
from .world import Key, World

MEMO_SIZE = 4096
Evaluation = tuple["Decimal | None", list[str], "api.MicroAppSpec | None"]  # estimate, problems, spec


class Admission:
    def __init__(self, world: World, budgets: Budgets, cache: ChildCache, names: NameIndex) -> None:
        self.world = world
        self.budgets = budgets
        self.cache = cache
        self.names = names
        self.estimates: OrderedDict[bytes, Evaluation] = OrderedDict()

    async def collisions(self, body: Mapping[str, Any]) -> list[str]:
        """Objects the app would render that already exist and are someone else's (checked at
        create: the reconciler re-checks every time and stalls with NameConflict)."""
        w = self.world
        meta = plan.AppMeta.of(body)
        try:
            if not await self.names.prefixed(CHILDREN, meta.namespace, meta.name):
                return []  # no existing name the app could render: nothing to render or fetch
            app = plan.parse(body)
            objects = plan.desired(app, w.templates.values(), policy=w.policy, podmonitor=w.podmonitor).objects
            live = await self._existing(objects)
        except (plan.PlanError, KubeError):
            return []  # a spec problem is reported by admit(); API trouble: the reconciler re-checks
        found = dict(zip((id(o) for o in objects), live))
        return ownership.conflicts(
            objects, lambda o: found.get(id(o)), app=app.name, uid=app.meta.uid, include_previous=False
        )

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
    ) -> budget.Decision:
        """A MicroApp create or update: every problem is listed at once (``conflicts``: from
        :meth:`collisions`, awaited before, since this step must not await)."""
        meta = plan.AppMeta.of(new)
        old_meta = plan.AppMeta.of(old) if old is not None else None
        policy = self.world.policy
        est, workload_problems, spec = self._evaluate_spec(new, meta)
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

    def _evaluate_spec(self, body: Mapping[str, Any], meta: plan.AppMeta) -> Evaluation:
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
            priced = pricing.price(app, w.templates.values(), w.policy, prices=w.prices, podmonitor=w.podmonitor)
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
