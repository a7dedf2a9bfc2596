"""Leader election rules: who may take the Lease, and when (clock injected)."""

from __future__ import annotations

from datetime import UTC, datetime

from microapp_operator.core import leader
from microapp_operator.core.leader import Observed, Record, Verdict

NOW = datetime(2026, 11, 30, 6, 0, 0, 123456, tzinfo=UTC)


def rec(holder: str, renew: str = "t1", duration: float = 8, transitions: int = 0) -> Record:
    return Record(holder=holder, duration=duration, renew_time=renew, transitions=transitions)


def test_no_lease_or_no_holder_is_taken_at_once() -> None:
    assert leader.decide(Observed(None, 0), "a", 0) is Verdict.ACQUIRE
    assert leader.decide(Observed(rec(""), 100), "a", 100) is Verdict.ACQUIRE  # released


def test_own_lease_is_renewed() -> None:
    assert leader.decide(Observed(rec("a"), 0), "a", 1000) is Verdict.RENEW


def test_someone_elses_live_lease_is_left_alone_until_it_runs_out_on_our_clock() -> None:
    seen = leader.observe(None, rec("b"), now=50.0)
    assert leader.decide(seen, "a", 57.9) is Verdict.WAIT
    assert leader.decide(seen, "a", 58.0) is Verdict.ACQUIRE


def test_a_renewal_restarts_the_expiry_clock_and_an_unchanged_record_does_not() -> None:
    first = leader.observe(None, rec("b", renew="t1"), now=50.0)
    same = leader.observe(first, rec("b", renew="t1"), now=55.0)
    assert same.since == 50.0
    renewed = leader.observe(same, rec("b", renew="t2"), now=56.0)
    assert renewed.since == 56.0
    assert leader.decide(renewed, "a", 60.0) is Verdict.WAIT


def test_taking_over_counts_a_transition_and_sets_acquire_time() -> None:
    spec = leader.spec("a", NOW, 8, rec("b", transitions=3))
    assert spec == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 8,
        "acquireTime": "2026-11-30T06:00:00.123456Z",
        "renewTime": "2026-11-30T06:00:00.123456Z",
        "leaseTransitions": 4,
    }


def test_renewing_keeps_acquire_time_and_transitions() -> None:
    spec = leader.spec("a", NOW, 8, rec("a", transitions=4), acquire_time="2026-11-30T05:00:00.000000Z")
    assert spec["acquireTime"] == "2026-11-30T05:00:00.000000Z"
    assert spec["leaseTransitions"] == 4 and spec["renewTime"] == "2026-11-30T06:00:00.123456Z"


def test_first_holder_and_a_released_lease_count_no_transition() -> None:
    assert leader.spec("a", NOW, 8, None)["leaseTransitions"] == 0
    assert leader.spec("a", NOW, 8, rec("", transitions=2))["leaseTransitions"] == 2


def test_release_clears_the_holder_so_a_standby_need_not_wait() -> None:
    spec = leader.released(rec("a", transitions=5))
    assert spec["holderIdentity"] == "" and spec["leaseTransitions"] == 5
    assert leader.decide(Observed(Record.of({"spec": spec}), 0), "b", 0) is Verdict.ACQUIRE


def test_record_of_reads_a_lease() -> None:
    lease = {"spec": {"holderIdentity": "x", "leaseDurationSeconds": 15, "renewTime": "r", "leaseTransitions": 2}}
    assert Record.of(lease) == Record("x", 15.0, "r", 2)
    assert Record.of(None) is None
    assert Record.of({}) == Record("", 0.0, "", 0)
