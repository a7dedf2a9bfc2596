"""The budget ledger: app estimates plus short-lived admission reservations."""

from __future__ import annotations

from decimal import Decimal as D

from microapp_operator.core.ledger import Ledger


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_reservations_count_until_they_expire() -> None:
    clock = Clock()
    ledger = Ledger(clock, reservation_ttl=30)
    ledger.set_app(("ns", "a"), "t", D("10"))
    ledger.reserve(("ns", "b"), "t", D("5"))
    assert ledger.committed("t") == (D("15"), 2)
    clock.now = 31
    assert ledger.committed("t") == (D("10"), 1)


def test_reservation_replaces_the_apps_old_value() -> None:
    ledger = Ledger(Clock())
    ledger.set_app(("ns", "a"), "t", D("10"))
    ledger.reserve(("ns", "a"), "t", D("25"))
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
