"""The pure parts of the portal's team pages: who may see a team's showback, who may approve, the
figures from what was read, the patch an approval or a rejection sends (and when none is sent),
and the pages drawn by their templates (autoescaped, every value defined)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import approval as ap
from microapp_operator.core import catalog
from microapp_operator.entry.portal import approvals, showback
from microapp_operator.entry.portal.source import Snapshot
from microapp_operator.presentation import html
from microapp_operator.presentation import showback as view
from tests.factories import microapp

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
POLICY = api.PlatformPolicySpec.model_validate(
    {
        "platformAdminGroups": ["platform-team"],
        "teams": [
            {"name": "finance", "groups": ["finance-devs"], "namespaces": ["team-finance"]},
            {"name": "qa", "groups": ["qa-devs"], "namespaces": ["t-*"]},
        ],
        "guardrails": {"publicExposureApprovers": ["platform-admins"]},
    }
)
FINANCE = showback.team_of(POLICY, "finance")
LAYOUT = {"htmx": "htmx.js", "user": "alice@example.com", "signout": None, "nav_teams": [], "nav_approver": False}


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        pytest.param(("finance-devs",), "member", id="member"),
        pytest.param(("qa-devs", "finance-devs"), "member", id="member-of-two"),
        pytest.param(("platform-team",), "admin", id="platform-admin"),
        pytest.param(("platform-admins",), None, id="approver-is-not-admin"),
        pytest.param(("qa-devs",), None, id="other-team"),
        pytest.param((), None, id="no-group"),
    ],
)
def test_who_may_see_a_teams_showback(groups: tuple[str, ...], expected: str | None) -> None:
    assert FINANCE is not None
    assert showback.access(FINANCE, groups, POLICY) == expected


def test_a_refusal_names_the_groups_that_may_but_never_system_masters() -> None:
    assert FINANCE is not None
    assert showback.who_may(FINANCE, POLICY) == (
        "team finance's showback is shown to its members (groups finance-devs); "
        "platform admins (platform-team) may see every team's"
    )
    default_admins = POLICY.model_copy(update={"platform_admin_groups": None})
    assert "system:masters" not in showback.who_may(FINANCE, default_admins)
    assert approvals.who_may(POLICY) == "public exposure is approved by members of platform-admins, platform-team"
    assert "names no public-exposure approver" in approvals.who_may(api.PlatformPolicySpec())


def running(name: str, monthly: str, **kw: object) -> dict:
    status = {"phase": "Running", "cost": {"estimatedMonthly": monthly, "currency": "USD"}}
    return microapp(name, "team-finance", status=status, replicas=1, **kw)


def test_the_figures_come_from_the_teambudget_and_the_apps_status() -> None:
    budget = {
        "metadata": {"name": "finance-budget"},
        "spec": {"team": "finance", "monthlyLimit": "100"},
        "status": {"committedMonthly": "19.62"},
    }
    snap = Snapshot(templates=tuple(catalog.builtin()), policy=POLICY, budgets=(budget,))
    assert showback.budget_of(snap, "finance") is budget and showback.budget_of(snap, "qa") is None
    show = showback.compute(snap, "finance", (running("a", "6.54"), running("b", "13.08")), now=NOW)
    assert (show.committed, show.limit, show.remaining) == (Decimal("19.62"), Decimal(100), Decimal("80.38"))
    assert [a.name for a in show.apps] == ["b", "a"]  # most expensive first
    assert show.currency == "USD"


def waiting(**annotations: str) -> dict:
    body = microapp(
        "pub",
        "team-finance",
        annotations={ap.REQUESTED_HOST: "pub.example.com", ap.REQUESTED_AT: "2026-12-07T09:00:00Z", **annotations},
    )
    body["metadata"]["resourceVersion"] = "42"
    return body


def test_an_approval_exposes_the_host_asked_for_as_the_approver_with_the_version_read() -> None:
    patch, problem = approvals.patch_for(
        waiting(), {"action": "approve", "host": "pub.example.com"}, user="carol@example.com", now=NOW
    )
    assert problem is None and patch is not None
    assert patch["spec"] == {"expose": "public", "host": "pub.example.com"}
    assert patch["metadata"]["annotations"][ap.APPROVED_BY] == "carol@example.com"
    assert patch["metadata"]["resourceVersion"] == "42"  # a change meanwhile is a 409, not overwritten


def test_a_rejection_carries_its_reason() -> None:
    patch, problem = approvals.patch_for(
        waiting(),
        {"action": "reject", "host": "pub.example.com", "reason": "  put it\nbehind SSO  "},
        user="carol@example.com",
        now=NOW,
    )
    assert problem is None and patch is not None
    assert patch["metadata"]["annotations"][ap.REJECTED_REASON] == "put it behind SSO"
    assert "spec" not in patch


@pytest.mark.parametrize(
    ("body", "form", "problem"),
    [
        pytest.param(
            waiting(),
            {"action": "reject", "host": "pub.example.com", "reason": " "},
            "a rejection needs a reason",
            id="reject-without-reason",
        ),
        pytest.param(
            waiting(),
            {"action": "approve", "host": "other.example.com"},
            "now asks for host pub.example.com, not other.example.com",
            id="host-changed-since-shown",
        ),
        pytest.param(
            microapp("pub", "team-finance"),
            {"action": "approve", "host": ""},
            "team-finance/pub is NotRequested, not waiting for approval",
            id="not-asked",
        ),
        pytest.param(
            waiting(**{ap.REJECTED_BY: "dave@example.com", ap.REJECTED_AT: "2026-12-07T10:00:00Z"}),
            {"action": "approve", "host": "pub.example.com"},
            "is Rejected, not waiting",
            id="decided-meanwhile",
        ),
        pytest.param(waiting(), {"action": "delete", "host": "pub.example.com"}, "choose Approve or Reject", id="bad"),
    ],
)
def test_no_patch_is_sent_when(body: dict, form: dict, problem: str) -> None:
    patch, found = approvals.patch_for(body, form, user="carol@example.com", now=NOW)
    assert patch is None and found is not None and problem in found


def test_the_showback_page_draws_every_part_and_escapes_names() -> None:
    apps = (running("a", "6.54"), running("<b>x</b>", "13.08", owner="<i>o</i>"))
    snap = Snapshot(templates=tuple(catalog.builtin()), policy=POLICY, budgets=())
    shown = view.build(showback.compute(snap, "finance", apps, now=NOW), history_note="no Prometheus")
    out = html.portal("showback", title="Showback", show=shown, unreadable=("namespace x: not listed",), **LAYOUT)
    assert "<h1>Showback: team finance</h1>" in out and "no Prometheus" in out
    assert 'href="/teams/finance/showback.csv"' in out and "namespace x: not listed" in out
    assert "<b>x</b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out and "&lt;i&gt;o&lt;/i&gt;" in out
    nav = html.portal(
        "showback", title="S", show=shown, unreadable=(), **{**LAYOUT, "nav_teams": ["finance"], "nav_approver": True}
    )
    assert '<a href="/teams/finance">Showback: finance</a>' in nav and '<a href="/approvals">Approvals</a>' in nav
    assert "/approvals" not in out


def test_the_approvals_page_keeps_a_refused_reason_and_shows_the_answer() -> None:
    found = ap.waiting([waiting()])
    outcome = approvals.Outcome("bad", "Refused by the platform's policy: team-finance/pub", ("the webhook said <no>",))
    kept = {"kept_app": "team-finance/pub", "kept_reason": "needs <SSO>"}
    out = html.portal(
        "approvals", title="Approvals", waiting=found, unreadable=(), outcome=outcome, csrf="t", kept=kept, **LAYOUT
    )
    assert ">needs &lt;SSO&gt;</textarea>" in out and "the webhook said &lt;no&gt;" in out
    assert 'action="/approvals/team-finance/pub"' in out and out.count('name="csrf" value="t"') == 2
    assert 'value="approve">Approve</button>' in out and 'value="reject">Reject</button>' in out
    empty = html.portal(
        "approvals", title="Approvals", waiting=[], unreadable=(), outcome=None, csrf="t", kept={}, **LAYOUT
    )
    assert "No app is waiting" in empty and "<button" not in empty
