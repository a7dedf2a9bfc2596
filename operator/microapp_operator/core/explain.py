"""``microapp explain NAME``: why an app is (not) running, on one screen (pure; clock as ``now``).

The shell reads the MicroApp, its children (``status.inventory``), its Pods (``status.selector``),
the Events about them, the TeamBudgets and the PlatformPolicy, and passes them in as plain dicts;
a read the cluster refused (403) comes in as :data:`DENIED` and shows as not readable, so a
viewer still gets the rest. The verdicts are the core's own: child health from ``health``, the
lifecycle's rules from ``lifecycle``, the app's limit from ``budget``, names from
``api.conditions``; what the operator decided is read from the status it wrote. Pods and Events
are in ``explainpods``, the next command in ``nextstep``, the layout in ``explaintext`` and ``screen``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..api import types as api
from ..api.conditions import ConditionType, Phase, Reason
from ..api.kinds import ObjectId, entry_id
from . import budget, explaintext, health, lifecycle
from .cost import money
from .explainpods import DENIED, NOT_READABLE, Denied, EventView, PodView, events_of, pod_view
from .nextstep import NextStep, next_step
from .screen import Tone

__all__ = ["DENIED", "NOT_READABLE", "Denied", "Explanation", "build", "text", "as_data"]

ChildKey = ObjectId  # (apiVersion, kind, name), as in status.inventory
_TRUE_IS_BAD = {
    ConditionType.STALLED.value: Tone.BAD,
    ConditionType.RECONCILING.value: Tone.WARN,
    ConditionType.IDLE.value: Tone.WARN,
}
_WAITING = {Reason.PROGRESSING.value, Reason.SUSPENDED.value}
_CHILD_NORMAL_FALSE = {"ScalingLimited"}  # HPA: not at its bounds
_CHILD_BAD_TRUE = {"ReplicaFailure", "Stalled"}
_PHASE_TONE = {Phase.RUNNING.value: Tone.OK, Phase.FAILED.value: Tone.BAD, Phase.RETIRED.value: Tone.INFO}
_STATE_TONE = {health.State.READY: Tone.OK, health.State.PROGRESSING: Tone.WARN, health.State.FAILED: Tone.BAD}


@dataclass(frozen=True)
class ConditionView:
    """A condition of the MicroApp, with the tone it is shown in."""

    type: str
    status: str
    reason: str
    message: str
    tone: Tone


@dataclass(frozen=True)
class ChildView:
    """One object of ``status.inventory``: its health (``core.health``) and its abnormal conditions."""

    api_version: str
    kind: str
    name: str
    state: str  # Ready, Progressing, Failed, or NotReadable
    message: str
    tone: Tone
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class CostView:
    """The estimate against the app's own limit and the team's TeamBudget."""

    estimate: str | None
    currency: str
    app_limit: str | None
    app_share: str | None  # the estimate as a share of the app's limit, e.g. 65%
    over_app_limit: bool
    team: str | None
    team_budget: str  # one sentence: committed of limit, or why there is none
    within: ConditionView | None
    tone: Tone


@dataclass(frozen=True)
class FindingsView:
    """Policy findings (each names its field) and the way to fix and re-check them."""

    violations: tuple[str, ...]
    compliant: ConditionView | None
    fix: str | None
    tone: Tone


@dataclass(frozen=True)
class LifecycleView:
    """The lifecycle dates from status, the effective rules, and how to keep the app alive."""

    state: str  # Active, Idle, Retiring, Retired
    rules: str  # lifecycle.explain of the effective settings
    last_activity: str | None
    activity_source: str | None
    idle_since: str | None
    idles_at: str | None
    retire_at: str | None
    next_check: str | None
    snooze_until: str | None
    message: str | None
    keep_alive: str | None  # the command that keeps (or brings) it alive, if it needs one
    keep_alive_why: str


@dataclass(frozen=True)
class Explanation:
    """Everything ``microapp explain`` shows (``text``) or prints as JSON (``as_data``)."""

    namespace: str
    name: str
    phase: str
    tone: Tone
    observed: str | None  # a note when the status is not of the current generation
    owner: str | None
    template: str | None
    url: str | None
    conditions: tuple[ConditionView, ...]
    children: tuple[ChildView, ...]
    pods: tuple[PodView, ...] | None  # None: not readable
    events: tuple[EventView, ...] | None
    events_omitted: int
    cost: CostView
    findings: FindingsView
    lifecycle: LifecycleView
    next: NextStep
    unreadable: tuple[str, ...]
    now: str


def build(
    app: Mapping[str, Any],
    *,
    children: Mapping[ChildKey, Mapping[str, Any] | None | Denied],
    pods: Sequence[Mapping[str, Any]] | Denied,
    events: Sequence[Mapping[str, Any]] | Denied,
    budgets: Sequence[Mapping[str, Any]] | Denied,
    policy: Mapping[str, Any] | None | Denied,
    now: datetime,
) -> Explanation:
    """The explanation of one MicroApp from what the cluster holds at ``now``. No side effects.

    ``policy``: the PlatformPolicy's spec (None: there is none)."""
    meta, st = app.get("metadata") or {}, app.get("status") or {}
    ns, name = meta.get("namespace") or "default", meta.get("name") or ""
    conds = _conditions(st)
    kids = tuple(_child(e, children.get(entry_id(e), None)) for e in st.get("inventory") or [])
    pod_views = None if isinstance(pods, Denied) else tuple(pod_view(p, now) for p in pods)
    named = {name} | {k.name for k in kids} | ({n for p in pod_views or () for n in (p.name, *p.owners)})
    shown, omitted = (None, 0) if isinstance(events, Denied) else events_of(events, named, now)
    spec, pol = _model(api.MicroAppSpec, app.get("spec")), _policy(policy)
    phase = st.get("phase") or "Unknown"
    life = _lifecycle(meta, st, spec, pol, policy, phase, now)
    unreadable = [f"{k.kind} {k.name}" for k in kids if k.state == "NotReadable"]
    unreadable += [
        what
        for what, got in (("Pods", pods), ("Events", events), ("TeamBudgets", budgets), ("PlatformPolicy", policy))
        if isinstance(got, Denied)
    ]
    template = st.get("template") or {}
    return Explanation(
        namespace=ns,
        name=name,
        phase=phase,
        tone=_phase_tone(phase, conds),
        observed=_observed(meta, st),
        owner=(meta.get("annotations") or {}).get(api.OWNER_ANNOTATION),
        template=_template(template, (app.get("spec") or {}).get("template")),
        url=st.get("url"),
        conditions=tuple(conds.values()),
        children=kids,
        pods=pod_views,
        events=shown,
        events_omitted=omitted,
        cost=_cost(meta, st, spec, app.get("spec") or {}, budgets, conds),
        findings=_findings(st, conds),
        lifecycle=life,
        next=next_step(ns, name, st, _observed(meta, st), conds, kids, pod_views or (), life),
        unreadable=tuple(unreadable),
        now=lifecycle.rfc3339(now) or "",
    )


def _model(model: type[api.Model], data: Any) -> Any:
    try:
        return model.model_validate(data or {})
    except ValueError:  # an invalid spec still gets explained (the status says why)
        return None


def _policy(policy: Mapping[str, Any] | None | Denied) -> api.PlatformPolicySpec | None:
    return None if policy is None or isinstance(policy, Denied) else _model(api.PlatformPolicySpec, policy)


def _conditions(st: Mapping[str, Any]) -> dict[str, ConditionView]:
    out = {}
    for c in st.get("conditions") or []:
        kind, value, reason = c.get("type", ""), c.get("status", "Unknown"), c.get("reason", "")
        if kind in _TRUE_IS_BAD:
            tone = _TRUE_IS_BAD[kind] if value == "True" else Tone.OK
        else:
            tone = Tone.OK if value == "True" else Tone.WARN if value == "Unknown" or reason in _WAITING else Tone.BAD
        out[kind] = ConditionView(kind, value, reason, c.get("message", ""), tone)
    return out


def _phase_tone(phase: str, conds: Mapping[str, ConditionView]) -> Tone:
    ready = conds.get(ConditionType.READY.value)
    if phase == Phase.RUNNING.value and ready is not None and ready.status != "True":
        return ready.tone
    return _PHASE_TONE.get(phase, Tone.WARN)


def _observed(meta: Mapping[str, Any], st: Mapping[str, Any]) -> str | None:
    if not st:
        return "no status yet: the operator has not processed this app (is it running?)"
    seen, generation = st.get("observedGeneration"), meta.get("generation")
    if generation is not None and seen != generation:
        return f"status is of generation {seen}, the spec is at {generation}: the operator has not caught up yet"
    return None


def _template(st: Mapping[str, Any], asked: str | None) -> str | None:
    if not st.get("name"):
        return f"{asked} (not resolved)" if asked else None
    newer = f", newest {st['latest']}" if st.get("latest") and st.get("latest") != st.get("version") else ""
    return f"{st['name']} {st.get('version', '?')}{newer} (spec.template {asked})"


def _child(entry: Mapping[str, Any], obj: Mapping[str, Any] | None | Denied) -> ChildView:
    av, kind, name = entry.get("apiVersion", ""), entry.get("kind", ""), entry.get("name", "")
    if isinstance(obj, Denied):
        return ChildView(av, kind, name, "NotReadable", f"{kind} {name}: {NOT_READABLE}", Tone.WARN)
    h = health.child(av, kind, obj)
    if obj is None:
        message = f"{kind} {name}: not there (waiting to be created)"
    else:
        message = h.message or f"{kind} {name}"
    problems = tuple(
        f"{c.get('type')}={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}".rstrip(": ")
        for c in ((obj or {}).get("status") or {}).get("conditions") or []
        if (c.get("status") != "True" and c.get("type") not in _CHILD_NORMAL_FALSE)
        or (c.get("status") == "True" and c.get("type") in _CHILD_BAD_TRUE)
    )
    return ChildView(av, kind, name, h.state.value, message, _STATE_TONE[h.state], problems)


def _cost(
    meta: Mapping[str, Any],
    st: Mapping[str, Any],
    spec: api.MicroAppSpec | None,
    raw: Mapping[str, Any],
    budgets: Sequence[Mapping[str, Any]] | Denied,
    conds: Mapping[str, ConditionView],
) -> CostView:
    cost = st.get("cost") or {}
    currency = cost.get("currency") or "USD"
    limit = budget.app_limit(spec) if spec is not None else None
    raw_limit = (raw.get("budget") or {}).get("monthlyLimit")
    team = (meta.get("annotations") or {}).get(api.TEAM_ANNOTATION)
    within = conds.get(ConditionType.WITHIN_BUDGET.value)
    app_limit = money(limit) if limit is not None else raw_limit
    share = percent(cost.get("estimatedMonthly"), app_limit)
    return CostView(
        estimate=cost.get("estimatedMonthly"),
        currency=currency,
        app_limit=app_limit,
        app_share=share,
        over_app_limit=_above(cost.get("estimatedMonthly"), app_limit),
        team=team,
        team_budget=_team_budget(team, budgets, currency),
        within=within,
        tone=within.tone if within else Tone.INFO,
    )


def _team_budget(team: str | None, budgets: Sequence[Mapping[str, Any]] | Denied, currency: str) -> str:
    if not team:
        return f"none: the {api.TEAM_ANNOTATION} annotation is missing"
    if isinstance(budgets, Denied):
        return f"{team}: TeamBudgets {NOT_READABLE}"
    found = next((b for b in budgets if (b.get("spec") or {}).get("team") == team), None)
    if found is None:
        return f"{team}: no TeamBudget, so no team limit"
    spec, st = found.get("spec") or {}, found.get("status") or {}
    limit, committed = _money(spec.get("monthlyLimit")), st.get("committedMonthly")
    where = f"TeamBudget {(found.get('metadata') or {}).get('name')}: enforcement {spec.get('enforcement') or 'Deny'}"
    if committed is None:
        return f"{team}: limit {limit} {currency}/month ({where}; not counted yet)"
    share = percent(committed, limit)
    return (
        f"{team}: {committed} of {limit} {currency}/month committed{f' ({share})' if share else ''}, "
        f"{st.get('remaining', '?')} left ({where}, warning at {spec.get('warnAtPercent') or 80}%)"
    )


def _money(text: Any) -> str:
    try:
        return money(Decimal(str(text)))
    except ArithmeticError:  # (decimal.InvalidOperation: not a number; the schema should prevent it)
        return str(text)


def percent(part: Any, whole: Any) -> str | None:
    """``62%``, or None when either is not a number."""
    try:
        return f"{Decimal(str(part)) * 100 / Decimal(str(whole)):.0f}%" if Decimal(str(whole)) > 0 else None
    except ArithmeticError:
        return None


def _above(part: Any, whole: Any) -> bool:
    try:
        return Decimal(str(part)) > Decimal(str(whole))
    except ArithmeticError:
        return False


def _findings(st: Mapping[str, Any], conds: Mapping[str, ConditionView]) -> FindingsView:
    found = tuple(st.get("violations") or ())
    compliant = conds.get(ConditionType.POLICY_COMPLIANT.value)
    fix = (
        (
            "edit the fields named above in your MicroApp file and kubectl apply -f FILE; "
            "microapp validate --policy policy.yaml FILE checks it offline first "
            "(kubectl get platformpolicy default -o yaml > policy.yaml)"
        )
        if found
        else None
    )
    tone = Tone.BAD if found else compliant.tone if compliant else Tone.INFO
    return FindingsView(found, compliant, fix, tone)


def _lifecycle(
    meta: Mapping[str, Any],
    st: Mapping[str, Any],
    spec: api.MicroAppSpec | None,
    pol: api.PlatformPolicySpec | None,
    policy: Any,
    phase: str,
    now: datetime,
) -> LifecycleView:
    life = st.get("lifecycle") or {}
    rules = lifecycle.settings(spec.lifecycle if spec else None, pol.lifecycle if pol else None)
    said = lifecycle.explain(rules) + (
        "" if not isinstance(policy, Denied) else f"; the PlatformPolicy's defaults are {NOT_READABLE}"
    )
    state = phase if phase in (Phase.IDLE.value, Phase.RETIRING.value, Phase.RETIRED.value) else "Active"
    last = lifecycle.timestamp(life.get("lastActivity"))
    annotations = meta.get("annotations") or {}
    snooze = lifecycle.timestamp(annotations.get(api.SNOOZE_UNTIL_ANNOTATION))
    idles_at = last + rules.idle_after if state == "Active" and last and rules.idle_after else None
    if idles_at is not None and snooze is not None:  # a snooze postpones idling
        idles_at = max(idles_at, snooze)
    stamp = lifecycle.rfc3339(now)
    ns, name = meta.get("namespace"), meta.get("name")
    if state == "Active" and rules.idle_after is None and rules.expires_at is None:
        keep, why = None, "never idled: nothing to do"
    elif state == "Active":
        keep = f"kubectl annotate microapp {name} -n {ns} {api.LAST_ACTIVITY_ANNOTATION}={stamp} --overwrite"
        why = (
            f"counts as activity, as do traffic and spec changes; {api.SNOOZE_UNTIL_ANNOTATION}=TIME "
            "postpones idling"
            + (" (spec.lifecycle.expiresAt retires it whatever the activity)" if rules.expires_at else "")
        )
    elif state == Phase.RETIRED.value:
        keep = f"kubectl annotate microapp {name} -n {ns} {api.RESTORE_ANNOTATION}={stamp} --overwrite"
        why = f"restores it from its archive (ConfigMap microapp-archive-{name})"
    else:
        keep = f"kubectl annotate microapp {name} -n {ns} {api.WAKE_ANNOTATION}={stamp} --overwrite"
        why = "wakes it now (scaled back up)" + (", and cancels the retirement" if state == "Retiring" else "")
    return LifecycleView(
        state=state,
        rules=said,
        last_activity=life.get("lastActivity"),
        activity_source=life.get("activitySource"),
        idle_since=life.get("idleSince"),
        idles_at=lifecycle.rfc3339(idles_at),
        retire_at=life.get("retireAt"),
        next_check=life.get("nextCheck"),
        snooze_until=annotations.get(api.SNOOZE_UNTIL_ANNOTATION),
        message=life.get("message"),
        keep_alive=keep,
        keep_alive_why=why,
    )


def as_data(expl: Explanation) -> dict[str, Any]:
    """The explanation for ``-o json``: every field, camelCase keys, tones as words."""
    data: dict[str, Any] = _camel(dataclasses.asdict(expl))
    return data


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): _camel(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_camel(v) for v in value]
    return value.value if isinstance(value, Tone) else value


def text(expl: Explanation, width: int, colour: bool) -> str:
    """The explanation as one screen, at most ``width`` columns; ANSI colour only if ``colour``."""
    return explaintext.render(expl, width, colour)
