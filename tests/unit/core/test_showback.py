"""Team showback (pure): committed against the budget, each app, cost avoided, history, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from microapp_operator.core import catalog
from microapp_operator.core import showback as sb
from tests.factories import microapp

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
D = Decimal


def body(name: str, monthly: str, phase: str = "Running", idle_since: datetime | None = None, **kw: object) -> dict:
    status: dict = {"phase": phase, "cost": {"estimatedMonthly": monthly, "currency": "USD"}}
    if idle_since:
        status["lifecycle"] = {"idleSince": idle_since.isoformat().replace("+00:00", "Z")}
    return microapp(name, "team-finance", status=status, **kw)


def line(name: str, monthly: str, awake: str | None, **kw: object) -> sb.AppCost:
    return sb.app_cost(
        body(name, monthly, **kw), awake=D(awake) if awake else None, now=NOW, since=SINCE, hours_per_month=730
    )


def test_awake_estimate_prices_the_spec_as_admission_does() -> None:
    app = microapp("shop", "ns", replicas=2, resources={"cpu": "250m", "memory": "256Mi"}, telemetry={"enabled": False})
    # web-service, 250m CPU + 256Mi per replica, OpenCost prices, 730 h: 6.54 per replica-month
    assert sb.awake_estimate(app, templates=catalog.builtin(), policy=None) == D("13.08")
    assert sb.awake_estimate(microapp(template="nope@^1"), templates=catalog.builtin(), policy=None) is None


def test_app_lines_running_and_asleep() -> None:
    running = line("a", "13.08", "13.08")
    assert (running.monthly, running.saved_monthly, running.avoided) == (D("13.08"), D(0), None)
    # Idle for 73 hours (a tenth of a month) at 7.30 saved a month: 0.73 avoided.
    idle = line("b", "0.00", "7.30", phase="Idle", idle_since=NOW - timedelta(hours=73))
    assert idle.saved_monthly == D("7.30") and idle.avoided == D("0.73")
    # Retired 60 days ago: only the window's 30 days count; a kept volume (0.30) is not avoided.
    retired = line("c", "0.30", "7.30", phase="Retired", idle_since=NOW - timedelta(days=60))
    assert retired.saved_monthly == D("7.00")
    assert retired.avoided == D("7.00") * 720 / 730


def test_team_showback_against_the_teambudget() -> None:
    apps = [
        line("a", "13.08", "13.08"),
        line("b", "0.00", "7.30", phase="Idle", idle_since=NOW - timedelta(hours=73)),
        line("c", "26.17", "26.17"),
        line("x", "99", "99", team="ops"),
    ]
    budget = {"spec": {"team": "finance", "monthlyLimit": "100"}, "status": {"committedMonthly": "39.25"}}
    show = sb.team_showback("finance", apps, budget=budget, currency="USD")
    assert [a.name for a in show.apps] == ["c", "a", "b"]  # most expensive first, other teams out
    assert (show.limit, show.committed, show.remaining) == (D(100), D("39.25"), D("60.75"))
    assert show.saved_monthly == D("7.30") and show.avoided == D("0.73")
    assert [a.name for a in sb.most_expensive(show, 2)] == ["c", "a"]
    without = sb.team_showback("finance", apps, budget=None, currency="USD")
    assert (without.limit, without.committed, without.remaining) == (None, D("39.25"), None)


def test_history_integrates_monthly_rates_over_the_window() -> None:
    assert sb.integrate([D("73")] * 10, step_seconds=3600, hours_per_month=730) == D(1)
    show = sb.team_showback("finance", [line("a", "7.30", "7.30")], budget=None, currency="USD")
    history = sb.History(
        days=30,
        step_seconds=3600,
        cost={("team-finance", "a"): [D("7.30")] * 100},
        saved={("team-finance", "a"): [D("73")] * 5},
        committed=[D(10), D(20), D(30)],
    )
    out = sb.with_history(show, history, hours_per_month=730)
    assert out.apps[0].incurred == D(1) and out.apps[0].avoided == D("0.5")
    assert (out.incurred, out.avoided, out.window_days) == (D(1), D("0.5"), 30)
    assert (out.committed_average, out.committed_peak) == (D(20), D(30))


def test_csv_parses_back_with_one_row_per_app() -> None:
    apps = [
        line("a", "13.08", "13.08", annotations={"microapp.dev/cost-center": "=HYPERLINK(1)"}),
        line("b", "0.00", None, phase="Idle"),
    ]
    show = sb.team_showback("finance", apps, budget=None, currency="EUR")
    rows = list(csv.DictReader(io.StringIO(sb.to_csv(show))))
    assert list(rows[0]) == list(sb.CSV_COLUMNS)
    assert [(r["name"], r["monthly_estimate"], r["currency"]) for r in rows] == [
        ("a", "13.08", "EUR"),
        ("b", "0.00", "EUR"),
    ]
    assert rows[0]["cost_center"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
    assert rows[1]["awake_monthly_estimate"] == "" and rows[1]["avoided_window"] == ""
    assert sum(D(r["monthly_estimate"]) for r in rows) == show.committed
