"""The portal's team pages in a real browser on the real control plane, with the real operator and
webhook: a team's showback equals its TeamBudget status and the operator's metrics (and its CSV
parses to the same figures); an approver approves or rejects public exposure as themselves, a
non-approver gets no button and a forged request is refused by the webhook."""

from __future__ import annotations

import csv
import html
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from microapp_operator.core import approval as ap
from microapp_operator.core.cost import money
from tests.helpers import eventually, get_json, kubectl, policy_fields
from tests.integration.portal import PortalProcess, axe_findings, citizen_role, csrf_of, shot
from tests.integration.test_activity import Prometheus
from tests.integration.test_budget import app, budget, metric, tb_status
from tests.integration.test_portal import VIEWPORT

SAVED = "microapp_lifecycle_saved_monthly_cost"
APPROVERS = "platform-admins"  # tests/fixtures/platformpolicy.yaml: publicExposureApprovers


@pytest.fixture
def team(namespace: str, policy_team: Callable[..., None]) -> Iterator[dict[str, str]]:
    """A team owning ``namespace`` whose group has the citizen developer's RBAC there; the
    approvers' group may read and patch MicroApps there too (a RoleBinding, not cluster-wide)."""
    name = f"s{uuid.uuid4().hex[:8]}"
    group = f"{name}-devs"
    policy_team(name, namespaces=[namespace], groups=[group])
    citizen_role(namespace, group)
    kubectl("create", "rolebinding", "approvers", "--role=citizen-developer", f"--group={APPROVERS}", "-n", namespace)
    yield {"ns": namespace, "team": name, "group": group}
    kubectl("delete", "teambudget", name, "--ignore-not-found", "--wait=false")


def phase(namespace: str, name: str) -> str | None:
    return (get_json("mapp", name, "-n", namespace).get("status") or {}).get("phase")


def money_of(text: str) -> Decimal:
    """ "13.08 USD" -> Decimal("13.08")."""
    return Decimal(text.split()[0])


@pytest.fixture
def prometheus_url(crds: None) -> Iterator[Callable[[str], None]]:
    """Name a Prometheus in the PlatformPolicy for one test (its own field manager); removed after."""

    def name(url: str) -> None:
        policy_fields("test-showback-prometheus", {"activity": {"prometheusUrl": url}})

    yield name
    policy_fields("test-showback-prometheus", check=False)


def test_showback_equals_the_teambudget_and_the_metrics_and_the_csv_parses(
    operator: object,
    team: dict[str, str],
    browser: Any,
    portal_for: Callable[..., PortalProcess],
    prometheus_url: Callable[[str], None],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    ns, name = team["ns"], team["team"]
    budget(name, "100")
    for app_name, replicas in (("small", 1), ("large", 3), ("medium", 2)):
        kubectl("apply", "-f", "-", input=app(app_name, ns, name, replicas=replicas))
    sleepy = app("sleepy", ns, name, lifecycle={"idleAfter": "6s", "retireAfter": "1h", "notifyBefore": "1s"})
    kubectl("apply", "-f", "-", input=sleepy)
    eventually(lambda: phase(ns, "sleepy") == "Idle", timeout=60, what="sleepy to be Idle")
    eventually(
        lambda: tb_status(name).get("apps") == 4 and metric(operator, SAVED, namespace=ns, name="sleepy", team=name),
        what="the TeamBudget counting 4 apps and the saved-cost series of the Idle app",
    )

    def settled() -> tuple[Decimal, dict[str, Decimal]] | None:
        """The TeamBudget's total once it is the sum of the apps' exported costs (the Idle app's
        drop to zero reaches both): the page must then show exactly these."""
        total = Decimal(tb_status(name)["committedMonthly"])
        costs = {
            a: Decimal(str(metric(operator, "microapp_estimated_monthly_cost", namespace=ns, name=a, team=name)))
            for a in ("small", "medium", "large", "sleepy")
        }
        return (total, costs) if total == sum(costs.values()) else None

    committed, exported = eventually(settled, what="the TeamBudget's total to equal the apps' exported costs")
    saved = Decimal(str(metric(operator, SAVED, namespace=ns, name="sleepy", team=name)))
    assert Decimal(str(metric(operator, "microapp_team_budget_committed", team=name))) == committed

    portal = portal_for("--dev-user", "alice@example.com", "--dev-group", team["group"])
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/apps")
    page.get_by_role("link", name=f"Showback: {name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Showback: team {name}")
    budget_region = page.get_by_role("region", name="Budget")
    assert money_of(budget_region.locator("dd.committed").inner_text()) == committed
    assert money_of(budget_region.locator("dd.limit").inner_text()) == Decimal(100)
    assert money_of(budget_region.locator("dd.remaining").inner_text()) == Decimal(100) - committed
    rows = page.get_by_role("region", name="Apps and their cost").locator("tbody tr")
    shown = {
        rows.nth(i).locator("th").inner_text(): money_of(rows.nth(i).locator("td.monthly").inner_text())
        for i in range(rows.count())
    }
    assert shown == {f"{ns}/{a}": v for a, v in exported.items()}
    top = page.get_by_role("region", name="Most expensive apps").get_by_role("listitem").all_inner_texts()
    assert [t.split(":")[0] for t in top[:2]] == [f"{ns}/large", f"{ns}/medium"]
    savings = page.get_by_role("region", name="Cost avoided by sleeping and retired apps")
    assert money_of(savings.locator(".saved-monthly").inner_text()) == saved
    expect(page.get_by_role("region", name="Last 30 days")).to_contain_text("no Prometheus is named")
    assert axe_findings(page) == []
    shot(page, "showback")

    # The CSV for chargeback: the same figures, parsed by the csv module.
    status, body = portal.call("GET", f"/teams/{name}/showback.csv")
    assert status == 200
    parsed = list(csv.DictReader(io.StringIO(body)))
    assert {r["name"]: Decimal(r["monthly_estimate"]) for r in parsed} == exported
    assert {r["name"]: Decimal(r["saved_monthly"]) for r in parsed if Decimal(r["saved_monthly"])} == {"sleepy": saved}
    assert {(r["team"], r["namespace"], r["currency"], r["cost_center"]) for r in parsed} == {
        (name, ns, "USD", "CC-1234")
    }
    assert sum(Decimal(r["monthly_estimate"]) for r in parsed) == committed
    assert portal.call("GET", f"/teams/{name}.csv") == (status, body)

    # A Prometheus named in the policy that does not answer: the page says so, "now" still shows.
    prometheus_url("http://127.0.0.1:9")

    def says_why() -> bool:
        page.reload()
        return (
            "the last 30 days are not shown: Prometheus at http://127.0.0.1:9"
            in page.get_by_role("region", name="Last 30 days").inner_text()
        )

    eventually(says_why, timeout=30, interval=1, what="the page to say Prometheus did not answer")
    assert money_of(page.get_by_role("region", name="Budget").locator("dd.committed").inner_text()) == committed

    # A Prometheus that scrapes the operator: the 30 days (one sample an hour, so only the
    # newest, at "now", holds data yet) cost each app its monthly rate for one hour.
    prom = Prometheus(tmp_path, f"127.0.0.1:{operator.metrics_port}")  # type: ignore[attr-defined]
    try:
        prometheus_url(prom.url)

        expected = {f"{ns}/{a}": Decimal(money(v / 730)) for a, v in exported.items()}

        def incurred() -> dict[str, Decimal]:
            page.reload()
            rows = page.get_by_role("region", name="Apps and their cost").locator("tbody tr")
            if page.locator("td.incurred").count() != rows.count():  # the window is not shown yet
                return {}
            return {
                rows.nth(i).locator("th").inner_text(): money_of(rows.nth(i).locator("td.incurred").inner_text())
                for i in range(rows.count())
            }

        # (until Prometheus has scraped the operator: before that the window holds no sample)
        eventually(lambda: incurred() == expected, timeout=60, interval=2, what=f"incurred {expected} on the page")
        window = page.get_by_role("region", name="Last 30 days")
        assert money_of(window.locator("dd.incurred").inner_text()) == Decimal(money(sum(exported.values()) / 730))
        assert axe_findings(page) == []
    finally:
        prom.stop()


def test_a_non_member_gets_a_clear_refusal_and_no_figures(
    crds: None,
    team: dict[str, str],
    portal_for: Callable[..., PortalProcess],
) -> None:
    budget(team["team"], "100")
    outsider = portal_for("--dev-user", "eve@example.com", "--dev-group", "other-devs")
    for path in (f"/teams/{team['team']}", f"/teams/{team['team']}/showback.csv"):
        status, body = outsider.call("GET", path)
        assert status == 403, body
        assert f"you (eve@example.com) are not a member of team {team['team']}" in body
        assert f"groups {team['group']}" in body and "100.00" not in body
    status, body = outsider.call("GET", "/teams/no-such-team")
    assert status == 404 and "has no team 'no-such-team'" in html.unescape(body)
    assert "Showback:" not in outsider.call("GET", "/apps")[1]  # no nav link to a team not theirs


def test_an_approver_rejects_with_a_reason_then_approves_and_the_app_gets_its_ingress(
    operator: object,
    team: dict[str, str],
    browser: Any,
    portal_for: Callable[..., PortalProcess],
) -> None:
    from playwright.sync_api import expect

    ns, alice = team["ns"], ("--as=alice@example.com", f"--as-group={team['group']}")
    pub = app("pub", ns, team["team"], annotations={"microapp.dev/public-approved-by": None})
    kubectl("apply", *alice, "-f", "-", input=pub)
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "mapp/pub")
    asking = ap.request_patch(host=f"{ns}.example.com", now=datetime.now(UTC))
    kubectl("patch", "mapp", "pub", "-n", ns, *alice, "--type=merge", "-p", json.dumps(asking))

    # A member of the team who is not an approver: no list, no button, and a forged POST (with
    # a form token the portal signed for them) is refused by the webhook, which names who may.
    member = portal_for("--dev-user", "alice@example.com", "--dev-group", team["group"])
    status, body = member.call("GET", "/approvals")
    assert status == 403 and "public exposure is approved by members of platform-admins" in body
    assert "<button" not in body and "Approvals</a>" not in body
    token = csrf_of(member.call("GET", "/new/web-service")[1])
    status, body = member.call(
        "POST",
        f"/approvals/{ns}/pub",
        form={"csrf": token, "action": "approve", "host": f"{ns}.example.com"},
    )
    assert status == 403, body
    assert "can only be set by a member of platform-admins" in body
    live = get_json("mapp", "pub", "-n", ns)
    assert ap.of(live).state == "Waiting" and live["spec"].get("expose") != "public"

    # The approver: the app is listed (read as carol in the namespace she may read).
    approver = portal_for("--dev-user", "carol@example.com", "--dev-group", APPROVERS)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(approver.url + "/")
    page.get_by_role("link", name="Approvals").click()
    waiting = page.get_by_role("region", name=f"{ns}/pub")
    expect(waiting.locator("dd.host")).to_have_text(f"{ns}.example.com")
    assert axe_findings(page) == []
    shot(page, "approvals")
    # A rejection needs a reason (the server says so too, when the browser's check is bypassed).
    token = csrf_of(page.content())
    status, body = approver.call(
        "POST", f"/approvals/{ns}/pub", form={"csrf": token, "action": "reject", "host": f"{ns}.example.com"}
    )
    assert status == 409 and "a rejection needs a reason" in body
    waiting.get_by_label(f"Reason for rejecting {ns}/pub").fill("put it behind SSO first")
    waiting.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("alert").first).to_contain_text(f"Rejected: {ns}/pub")
    assert ap.of(get_json("mapp", "pub", "-n", ns)).rejected_by == "carol@example.com"

    # The developer sees the rejection and its reason on the app's page.
    dev = browser.new_page(viewport=VIEWPORT)
    dev.goto(member.url + f"/apps/{ns}/pub")
    exposure = dev.get_by_role("region", name="Public exposure")
    expect(exposure.locator(".rejected-reason")).to_have_text("put it behind SSO first")
    expect(exposure).to_contain_text("carol@example.com")
    assert axe_findings(dev) == []
    shot(dev, "app-rejected")

    # Asked again; the approver approves; the app becomes Ready with its Ingress.
    time.sleep(1.1)  # a request in a later second than the rejection
    asking = ap.request_patch(host=f"{ns}.example.com", now=datetime.now(UTC))
    kubectl("patch", "mapp", "pub", "-n", ns, *alice, "--type=merge", "-p", json.dumps(asking))
    page.goto(approver.url + "/approvals")
    page.get_by_role("region", name=f"{ns}/pub").get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alert").first).to_contain_text(f"Approved: {ns}/pub")
    live = get_json("mapp", "pub", "-n", ns, "--show-managed-fields")
    assert (live["spec"]["expose"], live["metadata"]["annotations"][ap.APPROVED_BY]) == ("public", "carol@example.com")
    owners = [f["manager"] for f in live["metadata"]["managedFields"] if '"f:expose"' in json.dumps(f["fieldsV1"])]
    assert owners == ["microapp-portal"]  # written by the portal, as carol (the webhook let her)
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "mapp/pub")
    eventually(lambda: kubectl("get", "ingress", "pub", "-n", ns, check=False).returncode == 0, what="the Ingress")
    assert get_json("ingress", "pub", "-n", ns)["spec"]["rules"][0]["host"] == f"{ns}.example.com"
    expect(page.locator(".none-waiting")).to_be_visible()
    dev.goto(member.url + f"/apps/{ns}/pub")
    expect(dev.get_by_role("region", name="Public exposure").locator(".approved-by")).to_have_text("carol@example.com")
