"""Desired MicroApp status: conditions and phase as data (pure, clock injected).

Conditions follow metav1.Condition and kstatus: ``Ready`` is always present,
``Reconciling``/``Stalled`` only while they hold (kstatus reads an absent condition as False),
``observedGeneration`` always written. ``lastTransitionTime`` moves only when a condition's
status changes, so re-writing an unchanged status is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..api import types as api
from ..api.conditions import TRANSIENT, ConditionType, Phase, Reason
from .health import ChildHealth, State


def rfc3339(now: datetime) -> str:
    """Kubernetes timestamp: UTC, second precision, trailing Z."""
    return now.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    type_: ConditionType, status: str, reason: Reason, message: str, *, generation: int, now: datetime
) -> api.Condition:
    return api.Condition(
        type=type_.value,
        status=status,
        reason=reason.value,
        message=message,
        last_transition_time=rfc3339(now),
        observed_generation=generation,
    )


def merge_conditions(
    old: Iterable[Mapping[str, Any]], new: Iterable[api.Condition], *, drop: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Replace conditions by type, keeping lastTransitionTime when the status is unchanged.

    No side effects. Types absent from ``new`` are kept, except the transient ones
    (Reconciling, Stalled) and those in ``drop``, which go unless ``new`` asserts them.
    """
    previous = {c.get("type"): c for c in old}
    gone = TRANSIENT | set(drop)
    merged: dict[str, dict[str, Any]] = {t: dict(c) for t, c in previous.items() if t and t not in gone}
    for cond in new:
        wire = cond.model_dump(by_alias=True, exclude_none=True)
        before = previous.get(cond.type)
        if before is not None and before.get("status") == cond.status:
            wire["lastTransitionTime"] = before.get("lastTransitionTime", wire["lastTransitionTime"])
        merged[cond.type] = wire
    order = [t.value for t in ConditionType]
    return sorted(
        merged.values(), key=lambda c: (order.index(c["type"]) if c["type"] in order else len(order), c["type"])
    )


def selector(app_name: str) -> str:
    """Label selector of an app's Pods (scale subresource, HPA)."""
    return f"{api.NAME_LABEL}={app_name}"


def stalled(
    *,
    generation: int,
    old_status: Mapping[str, Any],
    reason: Reason,
    message: str,
    now: datetime,
    extra: Iterable[api.Condition] = (),
) -> dict[str, Any]:
    """Status of an app that cannot progress until its spec, template or policy changes."""
    conds = [
        condition(ConditionType.READY, "False", reason, message, generation=generation, now=now),
        condition(ConditionType.STALLED, "True", reason, message, generation=generation, now=now),
        *extra,
    ]
    return {
        "observedGeneration": generation,
        "phase": Phase.FAILED.value,
        "conditions": merge_conditions(old_status.get("conditions") or [], conds),
    }


def held(
    *,
    generation: int,
    old_status: Mapping[str, Any],
    reason: Reason,
    message: str,
    extra: Iterable[api.Condition] = (),
    now: datetime,
) -> dict[str, Any]:
    """Status of an app deliberately not rolled out (e.g. over budget) until something changes."""
    conds = [condition(ConditionType.READY, "False", reason, message, generation=generation, now=now), *extra]
    return {
        "observedGeneration": generation,
        "phase": Phase.PENDING.value,
        "conditions": merge_conditions(old_status.get("conditions") or [], conds),
    }


ASLEEP = {
    "Idle": (Phase.IDLE, Reason.IDLE),
    "Retiring": (Phase.RETIRING, Reason.RETIRING),
    "Retired": (Phase.RETIRED, Reason.RETIRED),
}


def observed(
    *,
    generation: int,
    old_status: Mapping[str, Any],
    health: ChildHealth,
    suspended: bool,
    now: datetime,
    extra: Iterable[api.Condition] = (),
    asleep: str | None = None,
    asleep_message: str = "",
) -> dict[str, Any]:
    """Ready/Reconciling/phase/replicas from the children's health. No side effects.

    ``asleep`` (Idle, Retiring, Retired): the lifecycle scaled the app down or retired it; Ready
    stays True with that reason (kstatus and Flux: Current; ``kubectl wait`` does not hang)."""

    def cond(type_: ConditionType, value: str, reason: Reason, message: str) -> api.Condition:
        return condition(type_, value, reason, message, generation=generation, now=now)

    idle = cond(ConditionType.IDLE, "False", Reason.ACTIVE, "in use")
    if asleep in ASLEEP:
        phase, reason = ASLEEP[asleep]
        idle = cond(ConditionType.IDLE, "True", reason, asleep_message)
        return {
            "observedGeneration": generation,
            "phase": phase.value,
            "replicas": 0,
            "conditions": merge_conditions(
                old_status.get("conditions") or [],
                [cond(ConditionType.READY, "True", reason, asleep_message), idle, *extra],
            ),
        }
    extra = [*extra, idle]
    if health.state == State.FAILED:
        phase, conds = Phase.FAILED, [cond(ConditionType.READY, "False", Reason.ROLLOUT_FAILED, health.message)]
    elif health.state == State.PROGRESSING:
        reason = Reason.SUSPENDED if suspended else Reason.PROGRESSING
        was_running = old_status.get("phase") in (Phase.RUNNING.value, Phase.SUSPENDED.value)
        phase = Phase.RUNNING if was_running and not suspended else (Phase.SUSPENDED if suspended else Phase.PENDING)
        conds = [
            cond(ConditionType.READY, "False", reason, health.message),
            cond(ConditionType.RECONCILING, "True", reason, health.message),
        ]
    elif suspended:
        phase, conds = (
            Phase.SUSPENDED,
            [cond(ConditionType.READY, "True", Reason.SUSPENDED, "scaled to zero (spec.suspend: true)")],
        )
    else:
        phase, conds = (
            Phase.RUNNING,
            [cond(ConditionType.READY, "True", Reason.AVAILABLE, health.message or "all objects ready")],
        )
    return {
        "observedGeneration": generation,
        "phase": phase.value,
        "replicas": health.replicas or 0,
        "conditions": merge_conditions(old_status.get("conditions") or [], [*conds, *extra]),
    }
