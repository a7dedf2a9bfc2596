"""Budget decisions: deny, warn, or allow, with messages a non-engineer can act on."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from microapp_operator.core import budget

TB = budget.TeamBudget("finance", D("500"), "Deny", 80)


def decide(
    estimate: str,
    *,
    previous: str = "0",
    others: str = "0",
    tb: budget.TeamBudget | None = TB,
    app_limit: str | None = None,
) -> budget.Decision:
    return budget.decide(
        estimate=D(estimate),
        previous=D(previous),
        currency="USD",
        team="finance",
        committed_others=D(others),
        budget=tb,
        app_limit=D(app_limit) if app_limit else None,
    )


def test_allowed_with_the_cost_warning() -> None:
    d = decide("18.42", others="293.68")
    assert d.allowed and d.warnings == ("estimated cost 18.42 USD/month (team finance: 312.10 of 500.00 committed)",)


def test_team_deny_names_committed_limit_and_estimate() -> None:
    d = decide("40", others="480")
    assert not d.allowed and d.reason == budget.DenyReason.TEAM_LIMIT
    assert d.message == (
        "team finance has 480.00 USD/month committed by its other apps; this app's estimated "
        "40.00 USD/month would bring it to 520.00, over the TeamBudget limit of 500.00 USD. "
        "Lower spec.replicas or spec.resources (or suspend another app), or ask for a budget "
        "raise (TeamBudget finance)."
    )


def test_warn_enforcement_allows() -> None:
    d = decide("40", others="480", tb=budget.TeamBudget("finance", D("500"), "Warn", 80))
    assert d.allowed and "(enforcement Warn: allowed)" in d.warnings[-1]


def test_warn_threshold() -> None:
    assert (
        decide("10", others="395").warnings[-1]
        == "team finance has committed 81% of its monthly budget (warning at 80%)"
    )
    assert len(decide("10", others="300").warnings) == 1


@pytest.mark.parametrize("estimate,previous", [("30", "40"), ("40", "40")], ids=["lower", "same"])
def test_updates_that_do_not_raise_cost_pass_over_budget(estimate: str, previous: str) -> None:
    assert decide(estimate, previous=previous, others="600").allowed


def test_app_limit() -> None:
    d = decide("45", app_limit="40", tb=None)
    assert not d.allowed and d.reason == budget.DenyReason.APP_LIMIT
    assert "more than its spec.budget.monthlyLimit of 40.00 USD" in d.message
    assert decide("39.99", app_limit="40", tb=None).allowed


def test_exactly_at_the_limit_fits() -> None:
    assert decide("20", others="480").allowed


def test_no_team_budget_only_warns_the_estimate() -> None:
    assert decide("9999", tb=None).warnings == ("estimated cost 9999.00 USD/month",)


def test_within_after_the_fact() -> None:
    ok, msg = budget.within(
        estimate=D("10"), currency="USD", team="finance", committed=D("510"), budget=TB, app_limit=None
    )
    assert (ok, msg) == (False, "team finance is over its budget: 510.00 of 500.00 USD/month committed")
    ok, msg = budget.within(
        estimate=D("10"), currency="USD", team="finance", committed=D("100"), budget=TB, app_limit=None
    )
    assert ok and msg == "estimated 10.00 USD/month, within team finance's budget of 500.00"
