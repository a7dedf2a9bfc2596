"""The showback page's view model (pure)."""

from __future__ import annotations

from datetime import timedelta

from microapp_operator.core import showback as sb
from microapp_operator.presentation import showback as view
from microapp_operator.presentation.views import Tone
from tests.unit.core.test_showback import NOW, line


def test_view_model_of_the_showback() -> None:
    apps = [line("a", "13.08", "13.08"), line("b", "0.00", "7.30", phase="Idle", idle_since=NOW - timedelta(hours=73))]
    budget = {"spec": {"monthlyLimit": "15"}, "status": {"committedMonthly": "13.08"}}
    v = view.build(sb.team_showback("finance", apps, budget=budget, currency="USD"))
    assert v.budget_sentence == "13.08 of 15.00 USD a month committed (87%), 1.92 USD left"
    assert v.tone is Tone.WARN and v.used_percent == 87
    assert [(r.name, r.monthly, r.saved_monthly, r.href) for r in v.rows] == [
        ("a", "13.08 USD", None, "/apps/team-finance/a"),
        ("b", "0.00 USD", "7.30 USD", "/apps/team-finance/b"),
    ]
    assert v.avoided == "0.73 USD" and v.history_note == "no Prometheus named in the policy"
    over = view.build(sb.team_showback("finance", apps, budget={"spec": {"monthlyLimit": "10"}}, currency="USD"))
    assert over.tone is Tone.BAD and over.budget_sentence.endswith("(130%), over the limit")
