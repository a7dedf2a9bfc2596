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


class ConditionType(str, Enum):
    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    POLICY_COMPLIANT = "PolicyCompliant"
    WITHIN_BUDGET = "WithinBudget"
    IDLE = "Idle"


class Reason(str, Enum):
    """Condition reasons: CamelCase constants in one place, to prevent typos."""

    NOT_RENDERED = "NotRendered"      # the skeleton: nothing is rendered yet
    PROGRESSING = "Progressing"
    AVAILABLE = "Available"
    INVALID_SPEC = "InvalidSpec"


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


def merge_conditions(old: Iterable[Mapping[str, Any]], new: Iterable[api.Condition]) -> list[dict[str, Any]]:
    """Replace conditions by type, keeping lastTransitionTime when the status is unchanged.

    No side effects. Types absent from ``new`` are kept, except the transient ones
    (Reconciling, Stalled), which are dropped unless ``new`` asserts them.
    """
    previous = {c.get("type"): c for c in old}
    merged: dict[str, dict[str, Any]] = {
        t: dict(c) for t, c in previous.items() if t and t not in TRANSIENT}
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


def pending(*, name: str, generation: int, old_status: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Status of an accepted MicroApp that nothing has been rendered for yet. No side effects."""
    ready = condition(ConditionType.READY, "Unknown", Reason.NOT_RENDERED,
                      "accepted; waiting for the workload to be rendered",
                      generation=generation, now=now)
    return {
        "observedGeneration": generation,
        "phase": Phase.PENDING.value,
        "selector": selector(name),
        "conditions": merge_conditions(old_status.get("conditions") or [], [ready]),
    }
