"""The reconcile decision (pure): from a MicroApp and the world it lives in, what to do now;
and, once that is done, the status. No side effects; the clock comes in as ``now``.

Every input is a value (:class:`World`, the app, its stored status); nothing calls back into
the runtime. ``decide`` returns one of three outcomes, and the runtime's reconciler carries it
out:

* :class:`Stall`: the app cannot progress until someone changes something (bad spec or
  parameters, missing template, a template breaking the rules); write the status, apply nothing.
* :class:`Hold`: a first rollout deliberately not made (over a Deny budget, or violating the
  policy); write the status, apply nothing, until it fits.
* :class:`Apply`: apply these objects unless one is someone else's (:func:`conflicts`), prune
  what the inventory no longer lists; look again after ``requeue_after`` seconds if set.

Then :func:`status_after` builds the status from what carrying it out met (:class:`Answers`:
the live children as the API server answered, a name conflict, or a refusal). Every outcome's
status is built here, so the reconciler writes status in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..api import types as api
from ..api.conditions import ConditionType, Reason
from ..api.kinds import ObjectId, inventory_entry, object_id
from . import archive, budget, cost, guardrails, health, lifecycle, ownership, plan, pricing, status
from .app import App, AppMeta, PlanError, parse
from .ledger import Entry
from .render import RenderError

Children = Mapping[ObjectId, "Mapping[str, Any] | None"]  # live children by (apiVersion, kind, name)


@dataclass(frozen=True)
class World:
    """Everything the decision reads besides the app, its children and the clock: catalog, policy,
    prices, and the team's budget. A value, so it can also say when nothing changed
    (:meth:`key`): every field takes part, except the bulky ones marked ``compare=False``, which
    their versions stand for."""

    templates: Iterable[api.AppTemplateSpec] = field(compare=False)  # catalog_version stands for them
    policy: api.PlatformPolicySpec = field(compare=False)  # policy_version stands for it
    prices: cost.Prices = field(compare=False)  # built from the policy
    catalog_version: int = 0
    policy_version: int = 0
    podmonitor: bool = False
    budget: budget.TeamBudget | None = None
    committed_others: Decimal = Decimal(0)  # the team's total without this app
    reserved: Entry | None = None  # what admission reserved for this app, if still held
    absent: frozenset[tuple[str, str]] = frozenset()  # (apiVersion, kind) the cluster does not serve
    traffic: datetime | None = None  # this app's last traffic, from the activity sweep
    activity_known: bool = True  # False while the traffic source fails

    def key(self) -> tuple[Any, ...]:
        """What this world is for the decision, cheap to compare: a settled app (``runtime.settled``)
        is decided again when it changes. A new field takes part by default."""
        return tuple(getattr(self, f.name) for f in fields(self) if f.compare)


@dataclass(frozen=True)
class Stall:
    status: dict[str, Any]
    violations: list[str] = field(default_factory=list)
    estimate: Decimal | None = None


@dataclass(frozen=True)
class Hold:
    status: dict[str, Any]
    violations: list[str]
    estimate: Decimal


@dataclass(frozen=True)
class Basis:
    """What an Apply's status is built from once it is carried out (values only)."""

    meta: AppMeta
    old_status: Mapping[str, Any]
    desired: plan.Plan
    verdict: lifecycle.Verdict
    cost: dict[str, Any]
    now: datetime


@dataclass(frozen=True)
class Apply:
    objects: tuple[dict[str, Any], ...]
    inventory: list[dict[str, str]]
    violations: list[str]
    estimate: Decimal
    template: dict[str, Any] = field(default_factory=dict)  # name, version, latest: what it renders from
    conditions: list[api.Condition] = field(default_factory=list)  # WithinBudget and PolicyCompliant
    resolved: str | None = None  # the message of a TemplateResolved Event, when the version changed
    requeue_after: float | None = None  # look again after this many seconds
    lifecycle: lifecycle.Verdict | None = None
    delete_app: bool = False  # retired with onRetire: Delete (and not tracked by Argo CD)
    saved: Decimal = Decimal(0)  # what sleeping or retirement saves a month (awake minus now)
    basis: Basis | None = field(default=None, compare=False, repr=False)  # None: only for display


Decision = Stall | Hold | Apply


@dataclass(frozen=True)
class Answers:
    """What carrying out an Apply met, as values: the live children (each as the API server
    answered its apply, else as last seen), or the rendered objects that are someone else's
    (nothing was applied), or the API server's refusal of an object."""

    children: Children = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()
    refused: str | None = None

    @property
    def carried_out(self) -> bool:
        return not self.conflicts and self.refused is None


NOTHING_LIVE = Answers()


def pinned_version(old_status: Mapping[str, Any], generation: int) -> str | None:
    """An unchanged app keeps the template version it was rendered from."""
    if old_status.get("observedGeneration") != generation:
        return None
    return (old_status.get("template") or {}).get("version")


def decide(*, body: Mapping[str, Any], old_status: Mapping[str, Any], world: World, now: datetime) -> Decision:
    """What to do with this app now. No side effects."""
    meta = AppMeta.of(body)
    app: App | None = None
    try:
        app = parse(body)
        priced = pricing.price(
            app,
            world.templates,
            world.policy,
            prices=world.prices,
            podmonitor=world.podmonitor,
            pinned=pinned_version(old_status, meta.generation),
        )
        desired = plan.desired(app, world.templates, policy=world.policy, podmonitor=world.podmonitor, work=priced.work)
    except PlanError as exc:
        # 1. Permanent problems stall the app; nothing is applied.
        return _stall(meta, app, None, world, old_status, exc.reason, exc.message, now)
    except RenderError as exc:  # the template's output cannot be priced
        return _stall(meta, app, None, world, old_status, Reason.TEMPLATE_FAILED, str(exc), now)
    res = desired.resolution
    missing = ownership.unavailable(desired.objects, world.absent, template=f"{res.name}@{res.version}")
    if missing:
        return _stall(
            meta, app, desired.objects, world, old_status, Reason.RUNTIME_UNAVAILABLE, "; ".join(missing), now
        )
    # 2. The lifecycle: an asleep app is scaled down, a retired one keeps only its archive.
    rules = lifecycle.settings(app.spec.lifecycle, world.policy.lifecycle)
    verdict = lifecycle.decide(_observed(meta, old_status, world, now), rules, now)
    awake = priced.estimate
    try:
        objects = _acting(app, desired, verdict, awake)
        estimate = awake if verdict.state is lifecycle.State.ACTIVE else cost.estimate(objects, world.prices)
    except RenderError as exc:
        return _stall(meta, app, None, world, old_status, Reason.TEMPLATE_FAILED, str(exc), now)
    # 3. Cost and budget: flag, and hold back a first rollout that does not fit or comply.
    fits, note, budget_cond = _within_budget(meta, app, estimate.monthly, world, now)
    cost_status = {"estimatedMonthly": cost.money(estimate.monthly), "currency": estimate.currency}
    violations, compliant = compliance(meta, app, desired.objects, world.policy, now)
    enforced = world.budget is None or world.budget.enforcement == "Deny"
    hold = [(Reason.OVER_BUDGET, note)] if not fits and enforced else []
    hold += [(Reason.POLICY_VIOLATIONS, "; ".join(violations))] if violations else []
    if hold and not old_status.get("inventory"):  # (an app that already runs is only flagged)
        new = status.held(
            generation=meta.generation,
            old_status=old_status,
            reason=hold[0][0],
            message="not rolled out: " + "; ".join(m for _, m in hold),
            extra=[budget_cond, compliant],
            now=now,
        )
        new.update({"cost": cost_status, "violations": violations or None})
        return Hold(new, violations, estimate.monthly)
    # 4. Apply; the status follows from the state of the world once applied (``status_after``).
    resolved = None
    if (old_status.get("template") or {}).get("version") != res.version:
        resolved = f"rendered from {res.name}@{res.version} (newest: {res.latest})"
    return Apply(
        objects=tuple(objects),
        inventory=[inventory_entry(o) for o in objects],
        violations=violations,
        estimate=estimate.monthly,
        template={"name": res.name, "version": res.version, "latest": res.latest},
        conditions=[budget_cond, compliant],
        resolved=resolved,
        requeue_after=verdict.requeue_after,
        lifecycle=verdict,
        delete_app=_delete(app, verdict, rules),
        saved=max(awake.monthly - estimate.monthly, Decimal(0)),  # what sleeping or retirement saves
        basis=Basis(meta, old_status, desired, verdict, cost_status, now),
    )


def conflicts(decision: Apply, children: Children) -> tuple[str, ...]:
    """The rendered objects that exist and are not this app's: apply nothing then."""
    assert decision.basis is not None, "a decided Apply has its basis"
    meta = decision.basis.meta
    return tuple(
        ownership.conflicts(decision.objects, lambda o: children.get(object_id(o)), app=meta.name, uid=meta.uid)
    )


def status_after(decision: Decision, answers: Answers = NOTHING_LIVE) -> dict[str, Any]:
    """The status to write for a decision, once carried out. No side effects.

    Stall and Hold decided theirs. An Apply that met a name conflict or a refusal stalls
    (NameConflict, ApplyFailed); otherwise its status comes from the live children."""
    if not isinstance(decision, Apply):
        return decision.status
    b = decision.basis
    assert b is not None, "a decided Apply has its basis"
    if answers.conflicts or answers.refused is not None:
        reason, message = (
            (Reason.NAME_CONFLICT, "; ".join(answers.conflicts))
            if answers.conflicts
            else (Reason.APPLY_FAILED, f"the API server refused an object: {answers.refused}")
        )
        return status.stalled(
            generation=b.meta.generation, old_status=b.old_status, reason=reason, message=message, now=b.now
        )
    new = _observed_status(b, decision, answers.children)
    new.update({"violations": decision.violations or None, "cost": b.cost, "inventory": decision.inventory})
    return new


def _within_budget(
    meta: AppMeta, app: App, monthly: Decimal, world: World, now: datetime
) -> tuple[bool, str, dict[str, Any]]:
    """Whether the estimate fits the app's limit and the team's budget, and the WithinBudget condition."""
    fits, note = budget.within(
        estimate=monthly,
        currency=world.prices.currency,
        team=app.team,
        committed=committed(world, app.team, monthly),
        budget=world.budget,
        app_limit=budget.app_limit(app.spec),
    )
    cond = status.condition(
        ConditionType.WITHIN_BUDGET,
        "True" if fits else "False",
        Reason.WITHIN_BUDGET if fits else Reason.OVER_BUDGET,
        note,
        generation=meta.generation,
        now=now,
    )
    return fits, note, cond


def _observed(meta: AppMeta, old_status: Mapping[str, Any], world: World, now: datetime) -> lifecycle.Observed:
    return lifecycle.observed_from(
        meta.annotations,
        old_status.get("lifecycle") or {},
        old_status.get("phase"),
        created=meta.created,
        generation_changed=old_status.get("observedGeneration") != meta.generation,
        traffic=world.traffic,
        activity_known=world.activity_known,
        now=now,
        gitops=archive.tracked_by_argo(meta.labels, meta.annotations),
    )


def _acting(app: App, desired: plan.Plan, verdict: lifecycle.Verdict, awake: cost.Estimate) -> list[dict[str, Any]]:
    """The objects for the lifecycle state: all, asleep (scaled to zero), or the archive alone."""
    if verdict.state in (lifecycle.State.IDLE, lifecycle.State.RETIRING):
        return plan.suspended(list(desired.objects), keep_knative=True)
    if verdict.state is lifecycle.State.RETIRED:
        res = desired.resolution
        retired = (
            lifecycle.timestamp(verdict.status.get("retireAt"))
            or lifecycle.timestamp(verdict.status.get("lastActivity"))
            or datetime(1970, 1, 1, tzinfo=UTC)
        )
        return [
            archive.configmap(
                app,
                template={"name": res.name, "version": res.version},
                inventory=desired.inventory(),
                monthly=awake.monthly,
                currency=awake.currency,
                retired_at=retired,
            )
        ]
    return list(desired.objects)


def _observed_status(b: Basis, decision: Apply, children: Children) -> dict[str, Any]:
    combined = health.combine(
        [health.child(o["apiVersion"], o["kind"], children.get(object_id(o))) for o in decision.objects]
    )
    verdict, desired = b.verdict, b.desired
    asleep = None if verdict.state is lifecycle.State.ACTIVE else verdict.state.value
    new = status.observed(
        generation=b.meta.generation,
        old_status=b.old_status,
        health=combined,
        suspended=desired.values.suspend,
        now=b.now,
        extra=decision.conditions,
        asleep=asleep,
        asleep_message=_asleep_message(verdict),
    )
    old_lifecycle = b.old_status.get("lifecycle") or {}
    # A merge patch clears a field with null; the API server then drops the key. Nulls only for
    # keys still there, so an unchanged status compares equal and costs no write.
    lifecycle_status = {k: v for k, v in verdict.status.items() if v is not None or k in old_lifecycle}
    new.update(
        {
            "selector": status.selector(b.meta.name),
            "lifecycle": lifecycle_status,
            "url": (combined.url or desired.url) if asleep != "Retired" else None,
            "template": dict(decision.template),
        }
    )
    return new


def _asleep_message(verdict: lifecycle.Verdict) -> str:
    st = verdict.status
    if verdict.state is lifecycle.State.RETIRED:
        return (
            "retired: workload removed, kept in ConfigMap microapp-archive-NAME; bring it back with "
            "kubectl annotate --overwrite mapp NAME microapp.dev/restore=$(date -u +%FT%TZ)"
        )
    wake = "wakes on traffic, a spec change, microapp.dev/last-activity or microapp.dev/wake"
    if verdict.state is lifecycle.State.RETIRING:
        return f"asleep since {st.get('idleSince')}, retires at {st.get('retireAt')} unless used; {wake}"
    return f"asleep since {st.get('idleSince')} (no activity since {st.get('lastActivity')}); {wake}"


def _delete(app: App, verdict: lifecycle.Verdict, rules: lifecycle.Settings) -> bool:
    """Delete the MicroApp itself: retired with onRetire Delete, and Git would not bring it back."""
    return (
        verdict.state is lifecycle.State.RETIRED
        and rules.on_retire == "Delete"
        and not archive.tracked_by_argo(app.meta.labels, app.meta.annotations)
    )


def _stall(
    meta: AppMeta,
    app: App | None,
    objects: Iterable[Mapping[str, Any]] | None,
    world: World,
    old_status: Mapping[str, Any],
    reason: Reason,
    message: str,
    now: datetime,
) -> Stall:
    violations, compliant = compliance(meta, app, objects, world.policy, now)
    new = status.stalled(
        generation=meta.generation, old_status=old_status, reason=reason, message=message, now=now, extra=[compliant]
    )
    new["violations"] = violations or None
    return Stall(new, violations)


def committed(world: World, team: str, estimate: Decimal) -> Decimal:
    """The team's committed total with this app at ``estimate``; a reservation admission still
    holds for the app counts instead (the newest intent wins)."""
    if world.reserved is None:
        return world.committed_others + estimate
    return world.committed_others + (world.reserved.amount if world.reserved.team == team else Decimal(0))


def compliance(
    meta: AppMeta,
    app: App | None,
    objects: Iterable[Mapping[str, Any]] | None,
    policy: api.PlatformPolicySpec,
    now: datetime,
) -> tuple[list[str], api.Condition]:
    """Violations and PolicyCompliant: a policy change flags apps, it never stops them."""
    found = guardrails.evaluate(meta, app.spec if app else None, objects, policy)
    cond = status.condition(
        ConditionType.POLICY_COMPLIANT,
        "False" if found else "True",
        Reason.POLICY_VIOLATIONS if found else Reason.COMPLIANT,
        "; ".join(found) if found else "complies with PlatformPolicy default",
        generation=meta.generation,
        now=now,
    )
    return found, cond
