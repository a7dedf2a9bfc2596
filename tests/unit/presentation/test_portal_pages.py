"""The portal's day-2 pages drawn from their view models (pure): an app's page carries the actions
it is given in an "Actions" region (after the polled explain view, so a refresh never eats what a
person types), the approval part and the countdowns; My apps is one table with sortable headers
and one polled fragment."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from microapp_operator.api import types as api
from microapp_operator.presentation import appcontrols, html, myapps

from .test_explain import app, build

BOTH = {"patch": True, "delete": True}


def draw_app(body: dict, may: dict[str, bool]) -> str:
    body.setdefault("metadata", {}).setdefault("uid", "u-1")
    controls = appcontrols.build(body, may=may, max_replicas=4)
    expl = build(body)
    return html.portal("portal_app", app=expl, now=expl.now, poll=None, controls=controls, csrf="tok",
                       htmx="h.js", user="alice", signout=None, title="t")  # fmt: skip


def buttons(page: str) -> list[str]:
    return re.findall(r"<button type=\"submit\">([^<]+)</button>", page)


def test_an_apps_page_has_the_buttons_it_is_given_after_the_polled_view() -> None:
    body = app(phase="Idle", spec={"template": "web-service@^1", "image": "x", "replicas": 2})
    page = draw_app(body, BOTH)
    assert buttons(page) == ["Keep alive", "Wake", "Snooze", "Scale", "Edit", "Delete"]
    assert '<form method="get" class="action" action="/apps/team-finance/shop/edit">' in page  # Edit: a GET, no token
    assert page.index("</article>") < page.index('id="actions-heading"')  # outside the refreshed part
    assert 'name="uid" value="u-1"' in page and 'value="2" required' in page and 'max="4"' in page
    assert page.count('name="csrf" value="tok"') == 5  # one form per button that changes something
    assert "data-countdown=" in page


def test_without_rights_there_are_no_forms_and_the_page_says_why() -> None:
    page = draw_app(app(), {})
    assert buttons(page) == [] and "<form" not in page.split("</article>")[1]
    assert "You may not change MicroApps in namespace team-finance" in page


def test_public_exposures_approval_is_on_the_page() -> None:
    body = app()
    body["metadata"]["annotations"] = {
        "microapp.dev/public-requested-host": "shop.example.com",
        "microapp.dev/public-requested-at": "2026-02-28T09:00:00Z",
    }
    page = draw_app(body, BOTH)
    assert 'id="exposure-heading">Public exposure' in page
    assert "shop.example.com" in page and "waiting for an approver" in page


def test_my_apps_is_one_table_with_sort_headers_and_one_polled_fragment() -> None:
    team = api.Team(name="finance", groups=["g"], namespaces=["team-finance"])
    rules = myapps.Rules(api.PlatformPolicySpec())
    rows = [myapps.row(app(name=f"a{i}"), teams=[team], rules=rules) for i in range(3)]
    view = myapps.build({"team-finance": rows}, user="alice", groups=["g"], teams=[team],
                        policy=api.PlatformPolicySpec(), query=myapps.Query.parse({"sort": "cost"}),
                        now=datetime(2026, 3, 1, tzinfo=UTC))  # fmt: skip
    page = html.portal("apps", view=view, poll="5s", deleted=None, htmx="h.js", user="alice", signout=None, title="t")
    assert page.count("<table") == 1 and page.count('hx-trigger="every 5s"') == 1
    assert '<th scope="col" aria-sort="ascending"><a href="/apps?sort=cost&amp;order=desc">Monthly cost' in page
    assert page.count('<th scope="row"><a id="app-team-finance-a') == 3
    assert 'href="/apps/team-finance/a2"' in page
    fragment = html.portal("apps_list", view=view, poll="5s")
    assert fragment.startswith('<div id="apps-list"') and f"v={view.digest}" in fragment
