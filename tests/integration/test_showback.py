"""Team showback on the real control plane with the real operator: the numbers equal the
TeamBudget status and the operator's metrics for the same apps, now and through Prometheus."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import catalog
from microapp_operator.core import showback as sb
from microapp_operator.runtime import showback as history
from tests.helpers import eventually, get_json, kubectl
from tests.integration.test_activity import Prometheus
from tests.integration.test_budget import app, budget, metric, tb_status


@pytest.fixture
def team(namespace: str, policy_team: object) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:8]}"
    policy_team(name, namespaces=[namespace])  # type: ignore[operator]
    yield name
    kubectl("delete", "teambudget", name, "--ignore-not-found", "--wait=false")


SAVED = "microapp_lifecycle_saved_monthly_cost"


def phase(namespace: str, name: str) -> str | None:
    return (get_json("mapp", name, "-n", namespace).get("status") or {}).get("phase")


def showback(namespace: str, team: str) -> sb.TeamShowback:
    """What the portal computes from what it reads: the apps, the TeamBudget, templates and policy."""
    policy = api.PlatformPolicySpec.model_validate(get_json("platformpolicy", "default")["spec"])
    templates = catalog.index(get_json("apptemplates")["items"])
    now = datetime.now(UTC)
    lines = [
        sb.app_cost(
            body,
            awake=sb.awake_estimate(body, templates=templates, policy=policy),
            now=now,
            since=now - timedelta(days=30),
            hours_per_month=730,
        )
        for body in get_json("mapp", "-n", namespace)["items"]
    ]
    return sb.team_showback(team, lines, budget=get_json("teambudget", team), currency="USD")


async def five_seconds_of_series(url: str, team: str, namespace: str) -> sb.History:
    deadline = time.monotonic() + 60
    while True:
        h = await history.history(url, team, now=datetime.now(UTC), window=timedelta(seconds=30), step_seconds=1)
        full = len(h.cost) == 4 and all(len(v) >= 5 for v in h.cost.values()) and len(h.committed) >= 5
        if full and len(h.saved.get((namespace, "sleepy"), ())) >= 5:
            return h
        if time.monotonic() > deadline:
            pytest.fail(f"Prometheus did not hold 5 s of the operator's series in 60 s: {h}", pytrace=False)
        await asyncio.sleep(1)


async def test_showback_equals_the_teambudget_and_the_metrics(
    operator: object, namespace: str, team: str, tmp_path: Path
) -> None:
    budget(team, "100")
    for name, replicas in (("small", 1), ("medium", 2), ("large", 3)):
        kubectl("apply", "-f", "-", input=app(name, namespace, team, replicas=replicas))
    sleepy = app(
        "sleepy", namespace, team, replicas=1, lifecycle={"idleAfter": "6s", "retireAfter": "1h", "notifyBefore": "1s"}
    )
    kubectl("apply", "-f", "-", input=sleepy)
    eventually(lambda: phase(namespace, "sleepy") == "Idle", timeout=60, what="sleepy to be Idle")
    eventually(
        lambda: all((a.get("status") or {}).get("cost") for a in get_json("mapp", "-n", namespace)["items"]),
        what="every app's status.cost",
    )
    eventually(
        lambda: (
            tb_status(team).get("apps") == 4 and metric(operator, SAVED, namespace=namespace, name="sleepy", team=team)
        ),
        what="TeamBudget counting 4 apps and the saved-cost series of the Idle app",
    )

    show = showback(namespace, team)
    assert show.committed == Decimal(tb_status(team)["committedMonthly"]) == sum(a.monthly for a in show.apps)
    assert (show.limit, show.remaining) == (Decimal(100), Decimal(100) - show.committed)
    assert [a.name for a in sb.most_expensive(show, 2)] == ["large", "medium"]
    for a in show.apps:
        exported = metric(operator, "microapp_estimated_monthly_cost", namespace=namespace, name=a.name, team=team)
        assert Decimal(str(exported)) == a.monthly, a.name
        assert a.awake_monthly == (a.monthly if a.name != "sleepy" else Decimal("6.54")), a.name
    assert metric(operator, "microapp_team_budget_committed", team=team) == float(show.committed)
    idle = next(a for a in show.apps if a.name == "sleepy")
    assert idle.phase == "Idle" and idle.saved_monthly > 0 and idle.avoided is not None and idle.avoided > 0
    saved = metric(operator, SAVED, namespace=namespace, name="sleepy", team=team)
    assert Decimal(str(saved)) == idle.saved_monthly == show.saved_monthly  # the one app asleep

    rows = list(csv.DictReader(io.StringIO(sb.to_csv(show))))
    assert {r["name"]: Decimal(r["monthly_estimate"]) for r in rows} == {a.name: a.monthly for a in show.apps}

    # The same figures over a window, from Prometheus scraping the operator.
    prom = Prometheus(tmp_path, f"127.0.0.1:{operator.metrics_port}")  # type: ignore[attr-defined]
    try:
        h = await five_seconds_of_series(prom.url, team, namespace)
    finally:
        prom.stop()
    assert set(h.cost) == {a.key for a in show.apps}
    for a in show.apps:
        assert set(h.cost[a.key]) == {a.monthly}, a.name  # the series held the estimate throughout
    assert set(h.committed) == {show.committed}
    windowed = sb.with_history(show, h, hours_per_month=730)
    for a in windowed.apps:
        assert a.incurred == a.monthly * len(h.cost[a.key]) / 3600 / 730, a.name
        assert a.avoided == a.saved_monthly * len(h.saved.get(a.key, ())) / 3600 / 730, a.name
    assert set(h.saved) == {idle.key} and windowed.avoided > 0
    assert windowed.committed_average == windowed.committed_peak == show.committed
