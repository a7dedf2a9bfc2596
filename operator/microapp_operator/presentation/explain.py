"""An app's page from what the caller read: the builder of the :class:`~.views.Explanation` that
``microapp explain`` prints and the portal's app page draws (pure; clock as ``now``).

The caller reads the MicroApp, its children (``status.inventory``), its Pods (``status.selector``),
the Events about them, the TeamBudgets and the PlatformPolicy, as the reader (the CLI with the
user's kubeconfig, the portal impersonating the user), and passes them in as plain dicts; a read
the cluster refused (403) comes in as :data:`DENIED` and becomes a :class:`NotReadable` part, so a
viewer still gets the rest. The verdicts are the core's own: child health from ``health``, the
lifecycle's rules and dates from ``lifecycle``, the app's limit from ``budget``, names from
``api.conditions``; what the operator decided is read from the status it wrote. Pods and Events
are in ``explainpods``, the next command in ``nextstep``; the renderers are ``explaintext``
(terminal) and ``html``; ``as_data`` is ``-o json``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..api import types as api
from ..api.conditions import ConditionType, Phase, Reason
from ..api.kinds import ObjectId, entry_id
from ..core import approval, budget, health, lifecycle
from ..core.cost import money
from .explainpods import events_of, pod_view
from .nextstep import next_step
from .views import (
    DENIED,
    NOT_READABLE,
    Action,
    ApprovalView,
    ChildView,
    ConditionView,
    CostView,
    Explanation,
    FindingsView,
    LifecycleView,
    NotReadable,
    TeamBudgetView,
    Tone,
)

__all__ = ["DENIED", "NOT_READABLE", "NotReadable", "Explanation", "build", "as_data"]

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


def build(
    app: Mapping[str, Any],
    *,
    children: Mapping[ChildKey, Mapping[str, Any] | None | NotReadable],
    pods: Sequence[Mapping[str, Any]] | NotReadable,
    events: Sequence[Mapping[str, Any]] | NotReadable,
    budgets: Sequence[Mapping[str, Any]] | NotReadable,
    policy: Mapping[str, Any] | None | NotReadable,
    now: datetime,
) -> Explanation:
    """The explanation of one MicroApp from what the cluster holds at ``now``. No side effects.

    ``policy``: the PlatformPolicy's spec (None: there is none)."""
    meta, st = app.get("metadata") or {}, app.get("status") or {}
    ns, name = meta.get("namespace") or "default", meta.get("name") or ""
    conds = _conditions(st)
    kids = tuple(_child(e, children.get(entry_id(e), None)) for e in st.get("inventory") or [])
    pod_views = NotReadable("Pods") if isinstance(pods, NotReadable) else tuple(pod_view(p, now) for p in pods)
    readable_pods = () if isinstance(pod_views, NotReadable) else pod_views
    named = {name} | {k.name for k in kids} | {n for p in readable_pods for n in (p.name, *p.owners)}
    shown, omitted = (NotReadable("Events"), 0) if isinstance(events, NotReadable) else events_of(events, named, now)
    spec, pol = _model(api.MicroAppSpec, app.get("spec")), _policy(policy)
    phase = st.get("phase") or "Unknown"
    life = _lifecycle(meta, st, spec, pol, policy, phase, now)
    unreadable = [f"{k.kind} {k.name}" for k in kids if k.state == "NotReadable"]
    unreadable += [
        what
        for what, got in (("Pods", pods), ("Events", events), ("TeamBudgets", budgets), ("PlatformPolicy", policy))
        if isinstance(got, NotReadable)
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
        next=next_step(ns, name, st, _observed(meta, st), conds, kids, readable_pods, life),
        unreadable=tuple(unreadable),
        now=lifecycle.rfc3339(now) or "",
        approval=approval_view(app),
    )


def approval_view(app: Mapping[str, Any]) -> ApprovalView | None:
    """Public exposure on the app's page: the request, the approval, or the rejection and its reason."""
    a = approval.of(app)
    if a.state == "NotRequested":
        return None
    if a.state == "Approved":
        when = f" at {a.approved_at}" if a.approved_at else ""
        sentence, tone = f"public at {a.host or '(no host)'}: approved by {a.approved_by}{when}", Tone.OK
    elif a.state == "Rejected":
        sentence = f"public exposure at {a.host} rejected by {a.rejected_by} at {a.rejected_at}: {a.reason}"
        tone = Tone.BAD
    else:
        sentence, tone = f"public exposure at {a.host} asked at {a.requested_at}: waiting for an approver", Tone.WARN
    return ApprovalView(
        state=a.state,
        host=a.host,
        requested_at=a.requested_at,
        approved_by=a.approved_by,
        approved_at=a.approved_at,
        rejected_by=a.rejected_by,
        rejected_at=a.rejected_at,
        reason=a.reason,
        sentence=sentence,
        tone=tone,
    )


def _model(model: type[api.Model], data: Any) -> Any:
    try:
        return model.model_validate(data or {})
    except ValueError:  # an invalid spec still gets explained (the status says why)
        return None


def _policy(policy: Mapping[str, Any] | None | NotReadable) -> api.PlatformPolicySpec | None:
    return None if policy is None or isinstance(policy, NotReadable) else _model(api.PlatformPolicySpec, policy)


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


def _child(entry: Mapping[str, Any], obj: Mapping[str, Any] | None | NotReadable) -> ChildView:
    av, kind, name = entry.get("apiVersion", ""), entry.get("kind", ""), entry.get("name", "")
    if isinstance(obj, NotReadable):
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
    budgets: Sequence[Mapping[str, Any]] | NotReadable,
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
    figures = _team_figures(team, budgets)
    return CostView(
        estimate=cost.get("estimatedMonthly"),
        currency=currency,
        app_limit=app_limit,
        app_share=share,
        over_app_limit=_above(cost.get("estimatedMonthly"), app_limit),
        team=team,
        team_budget=_team_sentence(team, figures, currency),
        team_figures=figures,
        within=within,
        tone=within.tone if within else Tone.INFO,
    )


def _team_figures(
    team: str | None, budgets: Sequence[Mapping[str, Any]] | NotReadable
) -> TeamBudgetView | NotReadable | None:
    if not team:
        return None
    if isinstance(budgets, NotReadable):
        return NotReadable("TeamBudgets")
    found = next((b for b in budgets if (b.get("spec") or {}).get("team") == team), None)
    if found is None:
        return None
    spec, st = found.get("spec") or {}, found.get("status") or {}
    limit, committed = _money(spec.get("monthlyLimit")), st.get("committedMonthly")
    return TeamBudgetView(
        team=team,
        name=str((found.get("metadata") or {}).get("name") or ""),
        limit=limit,
        committed=committed,
        remaining=st.get("remaining") if committed is not None else None,
        share=percent(committed, limit) if committed is not None else None,
        enforcement=spec.get("enforcement") or "Deny",
        warn_at_percent=int(spec.get("warnAtPercent") or 80),
    )


def _team_sentence(team: str | None, figures: TeamBudgetView | NotReadable | None, currency: str) -> str:
    if not team:
        return f"none: the {api.TEAM_ANNOTATION} annotation is missing"
    if isinstance(figures, NotReadable):
        return f"{team}: TeamBudgets {NOT_READABLE}"
    if figures is None:
        return f"{team}: no TeamBudget, so no team limit"
    f = figures
    where = f"TeamBudget {f.name}: enforcement {f.enforcement}"
    if f.committed is None:
        return f"{team}: limit {f.limit} {currency}/month ({where}; not counted yet)"
    return (
        f"{team}: {f.committed} of {f.limit} {currency}/month committed{f' ({f.share})' if f.share else ''}, "
        f"{f.remaining or '?'} left ({where}, warning at {f.warn_at_percent}%)"
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
        "" if not isinstance(policy, NotReadable) else f"; the PlatformPolicy's defaults are {NOT_READABLE}"
    )
    state = phase if phase in (Phase.IDLE.value, Phase.RETIRING.value, Phase.RETIRED.value) else "Active"
    annotations = meta.get("annotations") or {}
    seen = lifecycle.observed_from(
        annotations, life, state, created=None, generation_changed=False, traffic=None, activity_known=True, now=now
    )
    dates = lifecycle.deadlines(seen, rules)
    sleeps = rules.idle_after is not None or rules.expires_at is not None
    actions = _actions(meta, state, sleeps, rules.expires_at is not None, now)
    main = actions[0] if actions else None
    return LifecycleView(
        state=state,
        rules=said,
        last_activity=life.get("lastActivity"),
        activity_source=life.get("activitySource"),
        idle_since=life.get("idleSince"),
        idles_at=lifecycle.rfc3339(dates.idles_at),
        retire_at=lifecycle.rfc3339(dates.retires_at),
        next_check=life.get("nextCheck"),
        snooze_until=annotations.get(api.SNOOZE_UNTIL_ANNOTATION),
        message=life.get("message"),
        keep_alive=main.command if main else None,
        keep_alive_why=main.why if main else "never idled: nothing to do",
        actions=actions,
    )


def _actions(meta: Mapping[str, Any], state: str, sleeps: bool, expires: bool, now: datetime) -> tuple[Action, ...]:
    """The annotations that change the lifecycle in this state, the one that keeps it alive first."""
    stamp = lifecycle.rfc3339(now) or ""
    name, ns = meta.get("name"), meta.get("namespace")

    def action(key: str, label: str, annotation: str, value: str | None, why: str) -> Action:
        command = f"kubectl annotate microapp {name} -n {ns} {annotation}={value or 'TIME'} --overwrite"
        return Action(key, label, annotation, value, command, why)

    snooze = action("snooze", "Snooze", api.SNOOZE_UNTIL_ANNOTATION, None, "postpones idling and retirement until TIME")
    if state == "Active" and not sleeps:
        return ()
    if state == "Active":
        why = (
            f"counts as activity, as do traffic and spec changes; {api.SNOOZE_UNTIL_ANNOTATION}=TIME "
            "postpones idling" + (" (spec.lifecycle.expiresAt retires it whatever the activity)" if expires else "")
        )
        return action("keep-alive", "Keep alive", api.LAST_ACTIVITY_ANNOTATION, stamp, why), snooze
    if state == Phase.RETIRED.value:
        why = f"restores it from its archive (ConfigMap microapp-archive-{name})"
        return (action("restore", "Restore", api.RESTORE_ANNOTATION, stamp, why),)
    why = "wakes it now (scaled back up)" + (", and cancels the retirement" if state == "Retiring" else "")
    wake = action("wake", "Wake", api.WAKE_ANNOTATION, stamp, why)
    return (wake,) if state == Phase.RETIRING.value else (wake, snooze)


def as_data(expl: Explanation) -> dict[str, Any]:
    """The explanation for ``-o json``: every field, camelCase keys, tones as words, a part that is
    not readable as null (and named in ``unreadable``)."""
    data: dict[str, Any] = _camel(_plain(expl))
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, NotReadable):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): _camel(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_camel(v) for v in value]
    return value.value if isinstance(value, Tone) else value
