"""The lifecycle state machine, driven with a fake clock through every transition."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import lifecycle
from microapp_operator.core.lifecycle import Event, Observed, Settings, State

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)
RULES = Settings(idle_after=7 * DAY, retire_after=30 * DAY, notify_before=3 * DAY)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def step(seen: Observed, now: datetime, rules: Settings = RULES) -> tuple[Observed, lifecycle.Verdict]:
    """One reconcile: decide, then carry the status into the next observation (as the operator does)."""
    v = lifecycle.decide(seen, rules, now)
    st = v.status
    nxt = replace(
        seen,
        state=v.state,
        spec_changed=None,
        last_activity=lifecycle.timestamp(st["lastActivity"]),
        activity_source=st["activitySource"],
        idle_since=lifecycle.timestamp(st["idleSince"]),
        retire_at=lifecycle.timestamp(st["retireAt"]),
        wake_seen=st["wake"],
        restore_seen=st["restore"],
    )
    return nxt, v


def test_the_full_life_active_idle_retiring_retired_and_restored() -> None:
    seen = Observed(created=T0)
    seen, v = step(seen, at(1))
    assert v.state is State.ACTIVE and v.requeue_after == pytest.approx(6 * 86400)  # idle at day 7
    seen, v = step(seen, at(7))
    assert (v.state, v.entered) == (State.IDLE, (State.IDLE,)) and v.status["idleSince"] == "2026-11-08T00:00:00Z"
    assert v.requeue_after == pytest.approx(27 * 86400)  # notice at day 34
    seen, v = step(seen, at(34))
    assert v.state is State.RETIRING and v.status["retireAt"] == "2026-12-08T00:00:00Z"
    seen, v = step(seen, at(37))
    assert (v.state, v.entered) == (State.RETIRED, (State.RETIRED,)) and v.requeue_after is None
    seen, v = step(seen, at(40))
    assert v.state is State.RETIRED
    seen, v = step(replace(seen, restore="2026-12-11T09:00:00Z"), at(41))
    assert (v.state, v.status["activitySource"], v.status["restore"]) == (
        State.ACTIVE,
        "restore",
        "2026-12-11T09:00:00Z",
    )
    seen, v = step(seen, at(42))
    assert v.state is State.ACTIVE  # the same restore value is not honoured twice


def test_traffic_or_a_heartbeat_keeps_an_app_active_and_wakes_an_idle_one() -> None:
    seen, v = step(Observed(created=T0, traffic=at(5)), at(8))
    assert v.state is State.ACTIVE and v.status["activitySource"] == "traffic"
    seen, v = step(seen, at(12))
    assert v.state is State.IDLE
    seen, v = step(replace(seen, heartbeat=at(13)), at(13))
    assert (v.state, v.status["activitySource"], v.status["idleSince"]) == (State.ACTIVE, "annotation", None)


def test_wake_by_annotation_honours_each_value_once() -> None:
    seen, _ = step(Observed(created=T0), at(8))
    assert seen.state is State.IDLE
    seen, v = step(replace(seen, wake="w1"), at(9))
    assert (v.state, v.status["wake"], v.status["activitySource"]) == (State.ACTIVE, "w1", "wake")
    seen, v = step(seen, at(16))
    assert v.state is State.IDLE  # the same wake value does not keep it awake


def test_a_spec_change_while_retiring_brings_the_app_back() -> None:
    seen, _ = step(Observed(created=T0), at(8))
    seen, _ = step(seen, at(36))
    assert seen.state is State.RETIRING
    seen, v = step(replace(seen, spec_changed=at(37)), at(37))
    assert (v.state, v.status["retireAt"], v.status["activitySource"]) == (State.ACTIVE, None, "spec")


def test_a_snooze_postpones_idling_until_it_ends() -> None:
    seen = Observed(created=T0, snooze_until=at(20))
    seen, v = step(seen, at(10))
    assert v.state is State.ACTIVE and "snoozed until 2026-11-21T00:00:00Z" in v.status["message"]
    assert v.requeue_after == pytest.approx(10 * 86400)
    seen, v = step(seen, at(20))
    assert v.state is State.IDLE


def test_unknown_activity_never_idles() -> None:
    seen, v = step(Observed(created=T0, activity_known=False), at(30))
    assert v.state is State.ACTIVE and "activity unknown" in v.status["message"]


def test_expiry_retires_whatever_the_activity_after_its_notice() -> None:
    rules = replace(RULES, expires_at=at(10))
    seen, v = step(Observed(created=T0, traffic=at(6)), at(7), rules)
    assert v.state is State.RETIRING and v.status["retireAt"] == "2026-11-11T00:00:00Z"
    seen, v = step(replace(seen, traffic=at(8)), at(8), rules)
    assert v.state is State.RETIRING  # activity does not cancel an expiry
    seen, v = step(seen, at(10), rules)
    assert v.state is State.RETIRED


def test_no_retirement_without_notice_even_after_downtime() -> None:
    seen, _ = step(Observed(created=T0), at(8))
    seen, v = step(seen, at(100))  # the operator was down long past the retirement date
    assert v.state is State.RETIRING and v.status["retireAt"] == lifecycle.rfc3339(at(103))
    seen, v = step(seen, at(103))
    assert v.state is State.RETIRED


def test_dry_run_reports_and_acts_on_nothing() -> None:
    rules = replace(RULES, dry_run=True)
    seen, v = step(Observed(created=T0), at(8), rules)
    assert (v.state, v.would, v.entered) == (State.ACTIVE, State.IDLE, ())
    assert "DryRun: would be Idle now" in v.status["message"] and v.status["idleSince"] is None


def test_the_table_refuses_an_illegal_transition_naming_both() -> None:
    with pytest.raises(lifecycle.IllegalTransition, match="lifecycle state Retired does not take event Inactive"):
        lifecycle.transition(State.RETIRED, Event.INACTIVE)
    assert all(lifecycle.transition(s, e) is t for (s, e), t in lifecycle.TRANSITIONS.items())


def test_settings_take_the_spec_over_the_policy_within_its_bounds() -> None:
    policy = api.PolicyLifecycle(idle_after="14d", retire_after="30d", max_idle_after="30d", mode="DryRun")
    s = lifecycle.settings(api.Lifecycle(idle_after="90d", on_retire="Delete"), policy)
    assert s.idle_after == 30 * DAY and s.retire_after == 30 * DAY and s.notify_before == 3 * DAY
    assert s.dry_run and s.on_retire == "Delete"
    assert s.notes == ("lifecycle.idleAfter 90d is above the platform's maximum 30d: 30d applies",)
    assert lifecycle.settings(None, None).idle_after is None  # no policy, no spec: never idled


@pytest.mark.parametrize("text", ["7", "7days", "1.5h", "-1d", "7D"])
def test_durations_outside_the_grammar_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="e.g. 30m, 12h, 7d or 2w"):
        api.Lifecycle(idle_after=text)


def test_explain_says_the_effective_lifecycle_in_one_sentence() -> None:
    policy = api.PolicyLifecycle(idle_after="14d", retire_after="30d", mode="DryRun")
    text = lifecycle.explain(lifecycle.settings(api.Lifecycle(idle_after="2w", on_retire="Delete"), policy))
    assert text == (
        "DryRun (reported, not acted on): idled after 14d without activity, retired 30d later (Delete), notice 3d ahead"
    )
    assert (
        lifecycle.explain(lifecycle.settings(None, None))
        == "never idled (no idleAfter in spec.lifecycle or the PlatformPolicy)"
    )


def test_dry_run_still_wakes_an_app_put_to_sleep_before_it() -> None:
    seen, _ = step(Observed(created=T0), at(8))
    assert seen.state is State.IDLE
    rules = replace(RULES, dry_run=True)
    seen, v = step(replace(seen, heartbeat=at(9)), at(9), rules)
    assert (v.state, v.entered, v.status["idleSince"]) == (State.ACTIVE, (State.ACTIVE,), None)
    seen, v = step(seen, at(30), rules)
    assert v.state is State.ACTIVE and v.would is State.IDLE  # but it is not put back to sleep


DEADLINES = {  # (the app as created, rules, days later, a snooze then set, idles at, retires at)
    "active": (RULES, 1, None, at(7), None),
    "active-snoozed": (RULES, 1, at(20), at(20), None),
    "active-expiring": (replace(RULES, idle_after=None, expires_at=at(20)), 1, None, None, at(20)),
    "idle": (RULES, 8, None, None, at(37)),
    "idle-snoozed": (RULES, 21, at(40), None, at(43)),
    "idle-expiring": (replace(RULES, expires_at=at(30)), 8, None, None, at(30)),
    "retiring": (RULES, 35, None, None, at(37)),
}


@pytest.mark.parametrize("rules,days,snooze,idles_at,retires_at", DEADLINES.values(), ids=DEADLINES.keys())
def test_deadlines_are_the_dates_decide_acts_on(
    rules: Settings, days: int, snooze: datetime | None, idles_at: datetime | None, retires_at: datetime | None
) -> None:
    """The dates explain and the portal show, checked against decide: a second before, nothing
    changes; at the idle date the app is idled; at the retirement date less the notice, the
    notice names that date, and at that date the app is retired."""
    seen = Observed(created=T0)
    for day in range(1, days + 1):  # a reconcile a day, as the operator would
        seen, _ = step(seen, at(day), rules)
    seen = replace(seen, snooze_until=snooze)
    dates = lifecycle.deadlines(seen, rules)
    assert (dates.idles_at, dates.retires_at) == (idles_at, retires_at)
    if idles_at is not None:
        assert step(seen, idles_at - timedelta(seconds=1), rules)[1].state is State.ACTIVE
        assert step(seen, idles_at, rules)[1].state is State.IDLE
    if retires_at is not None and seen.state is not State.RETIRING:
        before, _ = step(seen, retires_at - rules.notify_before - timedelta(seconds=1), rules)
        assert before.state is seen.state
        seen, _ = step(seen, retires_at - rules.notify_before, rules)
    if retires_at is not None:
        assert (seen.state, seen.retire_at) == (State.RETIRING, retires_at)
        assert lifecycle.deadlines(seen, rules).retires_at == retires_at
        assert step(seen, retires_at - timedelta(seconds=1), rules)[1].state is State.RETIRING
        assert step(seen, retires_at, rules)[1].state is State.RETIRED
