"""Desired status: conditions as kstatus expects them, stable timestamps, Pending phase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from microapp_operator.core import status
from microapp_operator.core.health import ChildHealth, State

T0 = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)


def _cond(type_: status.ConditionType, value: str, now: datetime = T0, generation: int = 1):
    return status.condition(type_, value, status.Reason.PROGRESSING, "m", generation=generation, now=now)


def test_transition_time_kept_while_status_unchanged() -> None:
    first = status.merge_conditions([], [_cond(status.ConditionType.READY, "False")])
    later = T0 + timedelta(minutes=5)
    second = status.merge_conditions(first, [_cond(status.ConditionType.READY, "False", later, 2)])
    assert second[0]["lastTransitionTime"] == "2026-11-20T10:00:00Z"
    assert second[0]["observedGeneration"] == 2
    third = status.merge_conditions(second, [_cond(status.ConditionType.READY, "True", later)])
    assert third[0]["lastTransitionTime"] == "2026-11-20T10:05:00Z"


@pytest.mark.parametrize(
    "transient", [status.ConditionType.RECONCILING, status.ConditionType.STALLED], ids=lambda t: t.value
)
def test_transient_conditions_dropped_when_not_asserted(transient: status.ConditionType) -> None:
    old = status.merge_conditions([], [_cond(status.ConditionType.READY, "False"), _cond(transient, "True")])
    assert {c["type"] for c in old} == {"Ready", transient.value}
    new = status.merge_conditions(old, [_cond(status.ConditionType.READY, "True")])
    assert [c["type"] for c in new] == ["Ready"]


def test_other_conditions_kept_and_ordered() -> None:
    old = status.merge_conditions([], [_cond(status.ConditionType.WITHIN_BUDGET, "True")])
    new = status.merge_conditions(old, [_cond(status.ConditionType.READY, "True")])
    assert [c["type"] for c in new] == ["Ready", "WithinBudget"]


def test_rfc3339_is_utc_seconds() -> None:
    local = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=2)))
    assert status.rfc3339(local) == "2026-01-02T01:04:05Z"


def test_stalled_sets_ready_false_and_stalled_true() -> None:
    result = status.stalled(
        generation=2, old_status={}, reason=status.Reason.TEMPLATE_NOT_FOUND, message="no template", now=T0
    )
    assert result["phase"] == "Failed"
    assert [(c["type"], c["status"], c["reason"]) for c in result["conditions"]] == [
        ("Ready", "False", "TemplateNotFound"),
        ("Stalled", "True", "TemplateNotFound"),
    ]


OBSERVED = {
    "ready": (State.READY, False, {}, "Running", [("Ready", "True", "Available")]),
    "progressing-first": (
        State.PROGRESSING,
        False,
        {},
        "Pending",
        [("Ready", "False", "Progressing"), ("Reconciling", "True", "Progressing")],
    ),
    "progressing-rollout": (
        State.PROGRESSING,
        False,
        {"phase": "Running"},
        "Running",
        [("Ready", "False", "Progressing"), ("Reconciling", "True", "Progressing")],
    ),
    "suspended-done": (State.READY, True, {"phase": "Running"}, "Suspended", [("Ready", "True", "Suspended")]),
    "suspending": (
        State.PROGRESSING,
        True,
        {"phase": "Running"},
        "Suspended",
        [("Ready", "False", "Suspended"), ("Reconciling", "True", "Suspended")],
    ),
    "failed": (State.FAILED, False, {"phase": "Running"}, "Failed", [("Ready", "False", "RolloutFailed")]),
}


@pytest.mark.parametrize("state,suspended,old,phase,conds", OBSERVED.values(), ids=OBSERVED.keys())
def test_observed(state: State, suspended: bool, old: dict, phase: str, conds: list) -> None:
    result = status.observed(
        generation=1, old_status=old, health=ChildHealth(state, "m", 2), suspended=suspended, now=T0
    )
    assert result["phase"] == phase
    assert [(c["type"], c["status"], c["reason"]) for c in result["conditions"]] == [
        *conds,
        ("Idle", "False", "Active"),
    ]
    assert result["replicas"] == 2


@pytest.mark.parametrize("asleep,phase", [("Idle", "Idle"), ("Retiring", "Retiring"), ("Retired", "Retired")])
def test_an_asleep_app_stays_ready_with_the_lifecycle_reason(asleep: str, phase: str) -> None:
    """kstatus and Flux read Ready=True as Current, and kubectl wait does not hang."""
    result = status.observed(
        generation=1,
        old_status={"phase": "Running"},
        health=ChildHealth(State.PROGRESSING, "m"),
        suspended=False,
        now=T0,
        asleep=asleep,
        asleep_message="asleep since ...",
    )
    assert result["phase"] == phase and result["replicas"] == 0
    assert [(c["type"], c["status"], c["reason"]) for c in result["conditions"]] == [
        ("Ready", "True", asleep),
        ("Idle", "True", asleep),
    ]


def test_observed_clears_stalled_after_a_fix() -> None:
    stalled = status.stalled(
        generation=1, old_status={}, reason=status.Reason.INVALID_PARAMETERS, message="bad", now=T0
    )
    fixed = status.observed(generation=2, old_status=stalled, health=ChildHealth(State.READY), suspended=False, now=T0)
    assert [c["type"] for c in fixed["conditions"]] == ["Ready", "Idle"]
