"""My apps' rows (pure): Argo CD's health word for each of its own test cases, the idle and
retirement dates of core.lifecycle, sorting (missing values last either way), filters, and the
empty page's words for a user in no team."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from microapp_operator.api import types as api
from microapp_operator.presentation import myapps
from microapp_operator.presentation.views import Tone
from tests.factories import microapp

HEALTH_DIR = Path(__file__).resolve().parents[3] / "manifests/argocd/resource_customizations/microapp.dev/MicroApp"
CASES = yaml.safe_load((HEALTH_DIR / "health_test.yaml").read_text())["tests"]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TEAMS = [
    api.Team(name="finance", groups=["finance-devs"], namespaces=["team-finance", "finance-*"]),
    api.Team(name="qa", groups=["qa-devs"], namespaces=["team-qa"]),
]
POLICY = api.PlatformPolicySpec(platform_admin_groups=["platform-admins"], teams=TEAMS)


@pytest.mark.parametrize("case", CASES, ids=[c["inputPath"] for c in CASES])
def test_health_is_argo_cds_word_for_each_of_its_test_cases(case: dict[str, Any]) -> None:
    app = yaml.safe_load((HEALTH_DIR / case["inputPath"]).read_text())
    assert myapps.health(app)[0] == case["healthStatus"]["status"]


def status(phase: str = "Running", **extra: Any) -> dict[str, Any]:
    ready = {"type": "Ready", "status": "True", "reason": "Available"}
    return {"observedGeneration": 1, "phase": phase, "conditions": [ready], **extra}


def app(name: str, ns: str = "team-finance", **kw: Any) -> dict[str, Any]:
    kw.setdefault("generation", 1)
    return microapp(name, ns, **kw)


def build(listed: dict[str, Any], query: dict[str, str] | None = None, teams: list[api.Team] = TEAMS) -> myapps.MyApps:
    rules = myapps.Rules(POLICY)
    rows = {
        ns: found if isinstance(found, str) else [myapps.row(a, teams=teams, rules=rules) for a in found]
        for ns, found in listed.items()
    }
    return myapps.build(
        rows,
        user="alice@example.com",
        groups=["finance-devs"],
        teams=teams,
        policy=POLICY,
        query=myapps.Query.parse(query or {}),
        now=NOW,
    )


def test_a_row_says_phase_health_cost_activity_and_when_it_idles() -> None:
    body = app(
        "shop",
        spec={"template": "web-service@^1", "image": "x", "lifecycle": {"idleAfter": "2d"}},
        status=status(
            cost={"estimatedMonthly": "6.54", "currency": "EUR"},
            lifecycle={"lastActivity": "2026-03-01T10:00:00Z"},
        ),
    )
    (row,) = build({"team-finance": [body]}).rows
    assert (row.name, row.team, row.phase, row.health, row.cost, row.currency) == (
        "shop", "finance", "Running", "Healthy", "6.54", "EUR"
    )  # fmt: skip
    assert row.health_tone is Tone.OK
    assert (row.next_kind, row.next_at) == ("idles", "2026-03-03T10:00:00Z")
    assert row.link == "/apps/team-finance/shop"


def test_an_idle_app_retires_and_a_retired_one_says_when_it_was() -> None:
    idle = app(
        "sleepy",
        spec={"template": "t", "image": "x", "lifecycle": {"idleAfter": "1d", "retireAfter": "10d"}},
        status=status("Idle", lifecycle={"idleSince": "2026-02-27T00:00:00Z"}),
    )
    gone = app("gone", status=status("Retired", lifecycle={"retireAt": "2026-02-01T00:00:00Z"}))
    rows = {r.name: r for r in build({"team-finance": [idle, gone]}).rows}
    assert (rows["sleepy"].health, rows["sleepy"].next_kind, rows["sleepy"].next_at) == (
        "Suspended", "retires", "2026-03-09T00:00:00Z"
    )  # fmt: skip
    assert (rows["gone"].next_kind, rows["gone"].next_at) == ("retired", "2026-02-01T00:00:00Z")


def test_the_team_comes_from_the_annotation_or_else_the_namespace() -> None:
    rows = {r.name: r for r in build({"team-qa": [app("a", "team-qa", team=None), app("b", "team-qa", team="x")]}).rows}
    assert (rows["a"].team, rows["b"].team) == ("qa", "x")


def test_sorting_by_cost_keeps_apps_without_a_cost_last_both_ways() -> None:
    listed = {
        "team-finance": [
            app("cheap", status=status(cost={"estimatedMonthly": "2.00"})),
            app("dear", status=status(cost={"estimatedMonthly": "30.10"})),
            app("new"),  # no status yet
            app("mid", status=status(cost={"estimatedMonthly": "9.5"})),
        ]
    }
    up = [r.name for r in build(listed, {"sort": "cost"}).rows]
    down = [r.name for r in build(listed, {"sort": "cost", "order": "desc"}).rows]
    assert up == ["cheap", "mid", "dear", "new"]
    assert down == ["dear", "mid", "cheap", "new"]


def test_filters_by_text_team_phase_and_health() -> None:
    listed = {
        "team-finance": [app("shop", status=status()), app("shop-idle", status=status("Idle"))],
        "team-qa": [app("tests", "team-qa", team="qa", status=status())],
    }
    names = lambda q: [r.name for r in build(listed, q).rows]  # noqa: E731
    assert names({"q": "SHOP"}) == ["shop", "shop-idle"]
    assert names({"team": "qa"}) == ["tests"]
    assert names({"phase": "Idle"}) == ["shop-idle"]
    assert names({"health": "Healthy"}) == ["shop", "tests"]
    view = build(listed, {"q": "nothing"})
    assert (view.rows, view.total) == ((), 3)
    assert view.phases == ("Idle", "Running")


def test_the_query_reads_safely_and_its_links_toggle_the_order() -> None:
    q = myapps.Query.parse({"sort": "__class__", "q": "x" * 500, "order": "desc"})
    assert q.sort == "name" and len(q.text) == 100 and q.descending
    q = myapps.Query.parse({"sort": "cost", "team": "qa"})
    assert q.aria_sort("cost") == "ascending" and q.aria_sort("name") is None
    assert q.sort_href("cost") == "/apps?team=qa&sort=cost&order=desc"
    assert q.sort_href("phase") == "/apps?team=qa&sort=phase"
    assert myapps.Query().href() == "/apps"


def test_the_digest_changes_only_when_a_row_does() -> None:
    one = {"team-finance": [app("shop", status=status())]}
    same = {"team-finance": [app("shop", status=status())]}
    other = {"team-finance": [app("shop", status=status("Idle"))]}
    assert build(one).digest == build(same).digest != build(other).digest
    assert f"v={build(one).digest}" in build(one).live_href and "part=list" in build(one).live_href


def test_a_refused_namespace_is_a_sentence_and_patterns_are_named_not_listed() -> None:
    view = build({"team-finance": [app("shop")], "team-qa": "you may not list MicroApps in namespace team-qa"})
    assert [r.name for r in view.rows] == ["shop"]
    assert view.problems == ("you may not list MicroApps in namespace team-qa",)
    assert view.unlisted == ("finance-*",)


def test_a_user_in_no_team_is_told_what_to_ask_for_and_whom() -> None:
    view = build({}, teams=[])
    assert view.rows == () and view.no_team is not None
    assert "platform-admins" in view.no_team and "finance-devs" in view.no_team and "group" in view.no_team


def test_a_page_holds_a_hundred_rows_and_sorting_and_filters_see_them_all() -> None:
    listed = {
        "team-finance": [app(f"app-{i:03}", status=status(cost={"estimatedMonthly": str(i)})) for i in range(250)]
    }
    first = build(listed, {"sort": "cost", "order": "desc"})
    assert (len(first.rows), first.matched, first.pages, first.page) == (100, 250, 3, 1)
    assert first.rows[0].name == "app-249"
    last = build(listed, {"sort": "cost", "order": "desc", "page": "9"})
    assert last.page == 3 and [r.name for r in last.rows][-1] == "app-000" and len(last.rows) == 50
    assert last.query.href(page=2) == "/apps?sort=cost&order=desc&page=2"
    assert last.query.sort_href("name") == "/apps"  # a new sort starts at page 1
    assert build(listed, {"page": "x"}).page == 1
    assert first.digest != build(listed, {"sort": "cost", "order": "desc", "page": "2"}).digest
