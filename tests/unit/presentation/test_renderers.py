"""One view model, two printers: a Ready, a Stalled, a held (over budget), an Idle and a Retired
app drawn through the terminal renderer and the HTML renderer, which must say the same things:
the phase word, the next step, the cost; and in HTML, text from the cluster stays text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest

from microapp_operator.presentation import explain, explaintext, html
from microapp_operator.presentation.views import Explanation, NotReadable

from .test_explain import BUDGETS, STAMP, app, build, cond, event, flat

EVIL = '<script>alert("owned")</script>'
WAKE = f"kubectl annotate microapp shop -n team-finance microapp.dev/wake={STAMP} --overwrite"
RESTORE = f"kubectl annotate microapp shop -n team-finance microapp.dev/restore={STAMP} --overwrite"


def ready() -> Explanation:
    return build(app(), events=[event("shop", "Ready", "all objects ready")])


def stalled() -> Explanation:
    message = "spec.template 'nope': no template named 'nope' in the catalog"
    obj = app(
        phase="Failed",
        inventory=False,
        conditions=[cond("Ready", "False", "TemplateNotFound", message), cond("Stalled", "True", "TemplateNotFound")],
        template=None,
        url=None,
    )
    return build(obj, children={}, pods=[])


def held() -> Explanation:
    note = "team finance is over its budget: 526.17 of 500.00 USD/month committed"
    obj = app(
        phase="Pending",
        inventory=False,
        cost={"estimatedMonthly": "26.17", "currency": "USD"},
        conditions=[
            cond("Ready", "False", "OverBudget", f"not rolled out: {note}"),
            cond("WithinBudget", "False", "OverBudget", note),
        ],
    )
    over = [{**BUDGETS[0], "status": {"committedMonthly": "526.17", "remaining": "-26.17"}}]
    return build(obj, children={}, pods=[], budgets=over)


def idle() -> Explanation:
    obj = app(
        phase="Idle",
        conditions=[cond("Ready", "True", "Idle", "asleep since 2026-02-20T12:00:00Z"), cond("Idle", "True", "Idle")],
        lifecycle={
            "lastActivity": "2026-02-06T12:00:00Z",
            "activitySource": "traffic",
            "idleSince": "2026-02-20T12:00:00Z",
        },
    )
    return build(obj, pods=[])


def retired() -> Explanation:
    obj = app(
        phase="Retired",
        inventory=False,
        conditions=[cond("Ready", "True", "Retired", "retired: archived in ConfigMap microapp-archive-shop")],
        lifecycle={"idleSince": "2026-01-20T12:00:00Z", "retireAt": "2026-02-19T12:00:00Z", "message": "Retired"},
    )
    return build(obj, children={}, pods=[])


@dataclass(frozen=True)
class Case:
    model: Any
    phase: str
    next_command: str
    cost: str  # as both renderers word it
    more: tuple[str, ...] = field(default=())  # further text both must show


COST = "13.08 USD/month, 65% of the app's limit of 20.00"
CASES = {
    "ready": Case(ready, "Running", "microapp diff FILE", COST, ("2026-03-14T12:00:00Z (in 13d unless used)",)),
    "stalled": Case(stalled, "Failed", "microapp catalog", COST, ("TemplateNotFound",)),
    "held": Case(
        held,
        "Pending",
        "microapp estimate FILE",
        "26.17 USD/month, 131% of the app's limit of 20.00",
        ("526.17 of 500.00 USD/month committed (105%)",),
    ),
    "idle": Case(idle, "Idle", WAKE, COST, ("2026-03-22T12:00:00Z (in 21d)",)),
    "retired": Case(retired, "Retired", RESTORE, COST, ("microapp-archive-shop",)),
}


class Regions(HTMLParser):
    """The text of each ``<section>``, by its heading's id, and every start tag seen."""

    def __init__(self) -> None:
        super().__init__()
        self.regions: dict[str, str] = {}
        self.tags: list[str] = []
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "section":
            self._current = dict(attrs).get("aria-labelledby")
            self.regions[self._current or ""] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self.regions[self._current] += data


def regions(markup: str) -> Regions:
    parser = Regions()
    parser.feed(markup)
    parser.close()
    return parser


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_both_renderers_draw_the_same_page(case: Case) -> None:
    expl = case.model()
    screen = flat(explaintext.render(expl, width=120, colour=False))
    assert screen.startswith(f"MicroApp team-finance/shop: {case.phase}\n")
    assert f"Next\n  run          {case.next_command}\n" in screen
    assert f"estimate     {case.cost}" in screen
    assert all(m in screen for m in case.more), screen

    page = html.page(expl)
    found = regions(page)
    assert words(found.regions["status-heading"]).startswith(f"Status {case.phase} ")
    assert words(found.regions["next-heading"]).startswith(f"Next step {case.next_command}: {expl.next.why}")
    assert case.cost in words(found.regions["cost-heading"])
    text = words(" ".join(found.regions.values()))
    assert all(m in text for m in case.more), text
    assert found.tags.count("h1") == 1 and "script" not in found.tags
    assert "\x1b" not in page and " \\\n" not in page  # no ANSI codes, no shell continuations


def test_the_lifecycle_actions_are_the_buttons_the_state_allows() -> None:
    assert [a.label for a in ready().lifecycle.actions] == ["Keep alive", "Snooze"]
    assert [a.label for a in idle().lifecycle.actions] == ["Wake", "Snooze"]
    assert [a.label for a in retired().lifecycle.actions] == ["Restore"]
    assert idle().next.action == "wake" and retired().next.action == "restore" and ready().next.action is None
    lifecycle = regions(html.fragment(idle())).regions["lifecycle-heading"]
    assert "Wake: wakes it now (scaled back up)" in words(lifecycle) and WAKE in words(lifecycle)


def test_markup_from_the_cluster_is_text_in_html() -> None:
    obj = app(violations=[f"spec.image: {EVIL} is not allowed"])
    obj["metadata"]["annotations"]["microapp.dev/owner"] = EVIL
    expl = build(obj, events=[event("shop", "Evil", f"<img src=x onerror=alert(1)> {EVIL}", type_="Warning")])
    page = html.page(expl)
    assert EVIL not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in page
    found = regions(page)
    assert "script" not in found.tags and "img" not in found.tags
    assert EVIL in found.regions["status-heading"]  # shown, as text
    assert f"spec.image: {EVIL} is not allowed" in found.regions["findings-heading"]


def test_what_the_cluster_refused_says_so_in_html_too() -> None:
    denied = explain.DENIED
    expl = build(app(), pods=denied, events=denied, budgets=denied)
    assert isinstance(expl.pods, NotReadable)
    found = regions(html.fragment(expl))
    assert "Pods: not readable with your permissions" in found.regions["pods-heading"]
    assert "Events: not readable with your permissions" in found.regions["events-heading"]
    assert "finance: TeamBudgets not readable with your permissions" in found.regions["cost-heading"]
