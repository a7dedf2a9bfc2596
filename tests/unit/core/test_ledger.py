"""The budget ledger: app estimates plus admission reservations held until priced."""

from __future__ import annotations

from decimal import Decimal
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from microapp_operator.core.ledger import Ledger


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_reservation_whose_apply_never_arrives_expires() -> None:
    clock = Clock()
    ledger = Ledger(clock, unseen_ttl=30)
    ledger.set_app(("ns", "a"), "t", D("10"))
    ledger.reserve(("ns", "b"), "t", D("5"), generation=1)
    assert ledger.committed("t") == (D("15"), 2)
    clock.now = 31
    assert ledger.committed("t") == (D("10"), 1) and ledger.reservation(("ns", "b")) is None


def test_a_seen_reservation_holds_however_long_the_backlog_until_that_generation_is_priced() -> None:
    clock = Clock()
    ledger = Ledger(clock, unseen_ttl=30)
    ledger.set_app(("ns", "a"), "t", D("10"), generation=3)
    ledger.reserve(("ns", "a"), "t", D("25"), generation=4)
    ledger.seen(("ns", "a"), 4)
    clock.now = 3600  # an hour of reconcile backlog
    assert ledger.committed("t") == (D("25"), 1)
    ledger.set_app(("ns", "a"), "t", D("10"), generation=3)  # a stale reconcile does not release it
    assert ledger.reservation(("ns", "a")) == ledger.current(("ns", "a"))
    assert ledger.set_app(("ns", "a"), "t", D("24"), generation=4) is True
    assert ledger.committed("t") == (D("24"), 1) and ledger.reservation(("ns", "a")) is None


def test_an_older_event_does_not_mark_a_newer_reservation_seen() -> None:
    clock = Clock()
    ledger = Ledger(clock, unseen_ttl=30)
    ledger.reserve(("ns", "a"), "t", D("5"), generation=2)
    ledger.seen(("ns", "a"), 1)
    clock.now = 31
    assert ledger.reservation(("ns", "a")) is None


def test_reservation_replaces_the_apps_old_value() -> None:
    ledger = Ledger(Clock())
    ledger.set_app(("ns", "a"), "t", D("10"))
    ledger.reserve(("ns", "a"), "t", D("25"), generation=2)
    assert ledger.committed("t") == (D("25"), 1)
    assert ledger.committed("t", excluding=("ns", "a")) == (D("0"), 0)


def test_team_change_and_removal() -> None:
    ledger = Ledger(Clock())
    assert ledger.set_app(("ns", "a"), "t1", D("10")) is True
    assert ledger.set_app(("ns", "a"), "t1", D("10")) is False
    ledger.set_app(("ns", "a"), "t2", D("10"))
    assert ledger.committed("t1") == (D("0"), 0) and ledger.committed("t2") == (D("10"), 1)
    assert ledger.remove_app(("ns", "a")) is not None
    assert ledger.committed("t2") == (D("0"), 0) and ledger.apps == {}


def _brute(ledger: Ledger, team: str, excluding: tuple[str, str] | None = None) -> tuple[Decimal, int]:
    """What the running totals must equal: every app's counted entry summed from scratch."""
    counted = {**ledger.apps, **{k: r.entry for k, r in ledger.reservations.items()}}
    entries = [e for k, e in counted.items() if e.team == team and k != excluding]
    return sum((e.amount for e in entries), Decimal(0)), len(entries)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["set", "remove", "reserve", "seen", "tick"]),
            st.sampled_from([("ns", "a"), ("ns", "b"), ("other", "a")]),
            st.sampled_from(["x", "y"]),
            st.integers(0, 500),
            st.integers(1, 4),
        ),
        max_size=40,
    )
)
def test_running_totals_always_equal_the_sum_of_every_counted_entry(ops: list[tuple]) -> None:
    now = [0.0]
    ledger = Ledger(lambda: now[0], unseen_ttl=10)
    for op, key, team, cents, generation in ops:
        amount = Decimal(cents) / 100
        if op == "set":
            ledger.set_app(key, team, amount, generation=generation)
        elif op == "remove":
            ledger.remove_app(key)
        elif op == "reserve":
            ledger.reserve(key, team, amount, generation=generation)
        elif op == "seen":
            ledger.seen(key, generation)
        else:
            now[0] += 6  # reservations nobody saw expire after 10
        for t in ("x", "y"):
            assert ledger.committed(t) == _brute(ledger, t)
            assert ledger.committed(t, excluding=key) == _brute(ledger, t, excluding=key)
        # and a read never counts a reservation past its expiry (the scan waits for the soonest)
        assert all(r.expires is None or r.expires > now[0] for r in ledger.reservations.values())
