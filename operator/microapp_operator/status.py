"""Desired MicroApp status: conditions and phase as data (pure, clock injected).

Conditions follow metav1.Condition and kstatus: ``Ready`` is always present,
``Reconciling``/``Stalled`` only while they hold (kstatus reads an absent condition as False),
``observedGeneration`` always written. ``lastTransitionTime`` moves only when a condition's
status changes, so re-writing an unchanged status is a no-op.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any, Iterable, Mapping

from . import api
from .health import ChildHealth, State


class ConditionType(str, Enum):
    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    POLICY_COMPLIANT = "PolicyCompliant"
    WITHIN_BUDGET = "WithinBudget"
    IDLE = "Idle"
    WARN_THRESHOLD = "BudgetWarning"   # TeamBudget: committed past warnAtPercent


class Reason(str, Enum):
    """Condition reasons: CamelCase constants in one place, to prevent typos."""

    PROGRESSING = "Progressing"             # children rolling out
    AVAILABLE = "Available"                 # every child healthy
    SUSPENDED = "Suspended"                 # spec.suspend: scaled to zero as asked
    ROLLOUT_FAILED = "RolloutFailed"        # a child reports failure
    INVALID_SPEC = "InvalidSpec"            # the spec does not parse
    TEMPLATE_NOT_FOUND = "TemplateNotFound" # no catalog entry matches spec.template
    INVALID_PARAMETERS = "InvalidParameters"  # spec.parameters breaks the template's schema
    TEMPLATE_FAILED = "TemplateFailed"      # rendering or the rendered-object rules failed
    APPLY_FAILED = "ApplyFailed"            # the API server refused an object
    WITHIN_BUDGET = "WithinBudget"          # estimate inside the app's and the team's limits
    OVER_BUDGET = "OverBudget"              # app or team limit exceeded (flagged; first rollout held)
    OVER_WARN_THRESHOLD = "OverWarnThreshold"
    COMPLIANT = "Compliant"                 # no PlatformPolicy violations
    POLICY_VIOLATIONS = "PolicyViolations"  # flagged after a policy change; the app keeps running


class Phase(str, Enum):
    PENDING = "Pending"
    RUNNING = "Running"
    IDLE = "Idle"
    RETIRING = "Retiring"
    RETIRED = "Retired"
    SUSPENDED = "Suspended"
    FAILED = "Failed"


# Conditions that exist only while true (kstatus "abnormal-true" conditions).
TRANSIENT = frozenset({ConditionType.RECONCILING.value, ConditionType.STALLED.value})


def rfc3339(now: datetime) -> str:
    """Kubernetes timestamp: UTC, second precision, trailing Z."""
    return now.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(type_: ConditionType, status: str, reason: Reason, message: str, *,
              generation: int, now: datetime) -> api.Condition:
    return api.Condition(type=type_.value, status=status, reason=reason.value, message=message,
                         last_transition_time=rfc3339(now), observed_generation=generation)


def merge_conditions(old: Iterable[Mapping[str, Any]], new: Iterable[api.Condition], *,
                     drop: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Replace conditions by type, keeping lastTransitionTime when the status is unchanged.

    No side effects. Types absent from ``new`` are kept, except the transient ones
    (Reconciling, Stalled) and those in ``drop``, which go unless ``new`` asserts them.
    """
    previous = {c.get("type"): c for c in old}
    gone = TRANSIENT | set(drop)
    merged: dict[str, dict[str, Any]] = {
        t: dict(c) for t, c in previous.items() if t and t not in gone}
    for cond in new:
        wire = cond.model_dump(by_alias=True, exclude_none=True)
        before = previous.get(cond.type)
        if before is not None and before.get("status") == cond.status:
            wire["lastTransitionTime"] = before.get("lastTransitionTime", wire["lastTransitionTime"])
        merged[cond.type] = wire
    order = [t.value for t in ConditionType]
    return sorted(merged.values(), key=lambda c: (order.index(c["type"]) if c["type"] in order else len(order), c["type"]))


def selector(app_name: str) -> str:
    """Label selector of an app's Pods (scale subresource, HPA)."""
    return f"{api.NAME_LABEL}={app_name}"


def stalled(*, generation: int, old_status: Mapping[str, Any], reason: Reason, message: str,
            now: datetime, extra: Iterable[api.Condition] = ()) -> dict[str, Any]:
    """Status of an app that cannot progress until its spec, template or policy changes."""
    conds = [condition(ConditionType.READY, "False", reason, message, generation=generation, now=now),
             condition(ConditionType.STALLED, "True", reason, message, generation=generation, now=now), *extra]
    return {"observedGeneration": generation, "phase": Phase.FAILED.value,
            "conditions": merge_conditions(old_status.get("conditions") or [], conds)}


def held(*, generation: int, old_status: Mapping[str, Any], reason: Reason, message: str,
         extra: Iterable[api.Condition] = (), now: datetime) -> dict[str, Any]:
    """Status of an app deliberately not rolled out (e.g. over budget) until something changes."""
    conds = [condition(ConditionType.READY, "False", reason, message, generation=generation, now=now), *extra]
    return {"observedGeneration": generation, "phase": Phase.PENDING.value,
            "conditions": merge_conditions(old_status.get("conditions") or [], conds)}


def observed(*, generation: int, old_status: Mapping[str, Any], health: ChildHealth, suspended: bool,
             now: datetime, extra: Iterable[api.Condition] = ()) -> dict[str, Any]:
    """Ready/Reconciling/phase/replicas from the children's health. No side effects."""
    def cond(type_: ConditionType, value: str, reason: Reason, message: str) -> api.Condition:
        return condition(type_, value, reason, message, generation=generation, now=now)

    if health.state == State.FAILED:
        phase, conds = Phase.FAILED, [cond(ConditionType.READY, "False", Reason.ROLLOUT_FAILED, health.message)]
    elif health.state == State.PROGRESSING:
        reason = Reason.SUSPENDED if suspended else Reason.PROGRESSING
        was_running = old_status.get("phase") in (Phase.RUNNING.value, Phase.SUSPENDED.value)
        phase = Phase.RUNNING if was_running and not suspended else (Phase.SUSPENDED if suspended else Phase.PENDING)
        conds = [cond(ConditionType.READY, "False", reason, health.message),
                 cond(ConditionType.RECONCILING, "True", reason, health.message)]
    elif suspended:
        phase, conds = Phase.SUSPENDED, [cond(ConditionType.READY, "True", Reason.SUSPENDED,
                                              "scaled to zero (spec.suspend: true)")]
    else:
        phase, conds = Phase.RUNNING, [cond(ConditionType.READY, "True", Reason.AVAILABLE,
                                            health.message or "all objects ready")]
    return {"observedGeneration": generation, "phase": phase.value,
            "replicas": health.replicas or 0,
            "conditions": merge_conditions(old_status.get("conditions") or [], [*conds, *extra])}
