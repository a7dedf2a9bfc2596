"""My apps and an app's page in a real browser (Debian's Chromium, Playwright) on the real control
plane, with the real operator and webhook: a user sees their teams' apps and nothing else, the
page stays live through one fragment, an app's page says the phase, reason and next step, each
action changes the MicroApp as the matching kubectl command does, and a user without the right
gets no button and the API server's refusal."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import eventually, get_json, kubectl, microapp
from tests.integration.portal import (
    PortalProcess,
    axe_findings,
    citizen_role,
    csrf_of,
    shot,
    team_budget,
    viewer_role,
)

VIEWPORT = {"width": 1280, "height": 1400}
ACTIONS = ("Keep alive", "Wake", "Snooze", "Restore", "Scale", "Edit", "Delete")
STAMP = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
def portal_for(portal_for: Callable[..., PortalProcess]) -> Callable[..., PortalProcess]:
    """The portal in local mode as ``user`` in ``groups`` (the conftest's portal_for, by flags)."""

    def start(user: str, *groups: str) -> PortalProcess:
        return portal_for("--dev-user", user, *(f for g in groups for f in ("--dev-group", g)))

    return start


@pytest.fixture
def spaces(cluster: Path) -> Iterator[Callable[[], str]]:
    """More fresh namespaces for one test, deleted afterwards."""
    made: list[str] = []

    def make() -> str:
        made.append(f"t-{uuid.uuid4().hex[:8]}")
        kubectl("create", "namespace", made[-1])
        return made[-1]

    yield make
    for ns in made:
        kubectl("delete", "namespace", ns, "--wait=false", check=False)


def team_in(
    policy_team: Callable[..., None], namespace: str, *, role: Callable[[str, str], None] = citizen_role
) -> str:
    """A team owning ``namespace`` whose group has ``role`` there; its name (the group: NAME-devs)."""
    name = f"p{uuid.uuid4().hex[:8]}"
    policy_team(name, namespaces=[namespace], groups=[f"{name}-devs"])
    role(namespace, f"{name}-devs")
    return name


def deleter_role(namespace: str, group: str) -> None:
    kubectl("create", "role", "microapp-deleter", "--verb=delete", "--resource=microapps.microapp.dev", "-n", namespace)
    kubectl("create", "rolebinding", "microapp-deleter", "--role=microapp-deleter", f"--group={group}", "-n", namespace)


def apply(name: str, namespace: str, team: str, **spec: Any) -> None:
    kubectl("apply", "-f", "-", input=microapp(name, namespace, team=team, **spec))


def names_listed(page: Any) -> list[str]:
    return page.locator("table.apps tbody th[scope=row] a").all_inner_texts()


def test_my_apps_lists_both_teams_apps_and_nothing_else_and_stays_live(
    operator: object,
    namespace: str,
    spaces: Callable[[], str],
    policy_team: Callable[..., None],
    browser: Any,
    portal_for: Callable[..., PortalProcess],
) -> None:
    from playwright.sync_api import expect

    other, elsewhere = spaces(), spaces()
    one, two, third = (team_in(policy_team, ns) for ns in (namespace, other, elsewhere))
    apply("alpha", namespace, one)
    apply("bravo", other, two, replicas=2)
    apply("charlie", elsewhere, third)
    portal = portal_for("alice@example.com", f"{one}-devs", f"{two}-devs")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/apps")
    expect(page.get_by_role("heading", level=1)).to_have_text("My apps")
    assert sorted(names_listed(page)) == ["alpha", "bravo"]
    assert page.get_by_role("link", name="charlie").count() == 0  # another team's app, never listed
    rows = {r.locator("th a").inner_text(): r.locator("td").first.inner_text() for r in page.locator("tbody tr").all()}
    assert rows == {"alpha": one, "bravo": two}
    assert axe_findings(page) == []
    shot(page, "my-apps-two-teams")
    # Sorted by a column header (a link: works without JavaScript), announced by aria-sort.
    page.get_by_role("link", name="Team").click()
    expect(page.get_by_role("columnheader", name="Team")).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name="Team").click()
    expect(page.get_by_role("columnheader", name="Team")).to_have_attribute("aria-sort", "descending")
    assert names_listed(page) == [r for r, _ in sorted(rows.items(), key=lambda kv: kv[1], reverse=True)]
    # Filtered by a plain GET form.
    page.get_by_label("Team").select_option(two)
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert names_listed(page) == ["bravo"] and f"team={two}" in page.url
    assert "1 of 2 apps" in page.locator(".count").inner_text()
    # Live: a new app appears without a reload, through the one fragment, never one request per app.
    page.goto(portal.url + "/apps")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/static/" not in r.url else None)
    apply("delta", other, two)
    expect(page.get_by_role("link", name="delta", exact=True)).to_be_visible(timeout=30_000)
    assert asked and all(re.search(r"/apps\?(.*&)?part=list", u) for u in asked), asked


def test_a_user_in_no_team_is_told_what_to_ask_for(
    operator: object, browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    portal = portal_for("nobody@example.com", "no-such-team-devs")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/apps")
    alert = page.get_by_role("alert").inner_text()
    assert "belong to no team" in alert and "no-such-team-devs" in alert
    assert "platform team" in alert and "PlatformPolicy" in alert
    assert page.locator("table").count() == 0
    assert axe_findings(page) == []


def conditions(ns: str, name: str) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (get_json("mapp", name, "-n", ns).get("status") or {}).get("conditions") or []}


def app_page(page: Any, portal: PortalProcess, ns: str, name: str) -> dict[str, str]:
    """The page's phase word, Ready reason and next step."""
    page.goto(f"{portal.url}/apps/{ns}/{name}")
    status = page.get_by_role("region", name="Status")
    return {
        "phase": status.locator(".phase").inner_text(),
        "ready": status.locator("dt:text-is('Ready') + dd").inner_text(),
        "next": page.get_by_role("region", name="Next step").inner_text(),
        "lifecycle": page.get_by_role("region", name="Lifecycle").inner_text(),
    }


def test_an_apps_page_says_phase_reason_and_next_step_for_ready_stalled_held_and_idle(
    operator: Any, namespace: str, policy_team: Callable[..., None], browser: Any, portal_for: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    team = team_in(policy_team, namespace)
    team_budget(team, "100")
    apply("ready", namespace, team)
    apply("lost", namespace, team, template="no-such-template")
    apply("sleepy", namespace, team, lifecycle={"idleAfter": "6s"})
    kubectl("wait", "--for=condition=Ready", "--timeout=90s", "-n", namespace, "mapp/ready")
    eventually(lambda: conditions(namespace, "lost").get("Stalled", {}).get("status") == "True", what="lost stalls")
    eventually(lambda: get_json("mapp", "sleepy", "-n", namespace).get("status", {}).get("phase") == "Idle",
               timeout=90, what="sleepy idles")  # fmt: skip
    # Held: a first rollout over a Deny budget the webhook did not see (as an admin removing it would).
    team_budget(team, "7")
    saved = get_json("validatingwebhookconfiguration", "microapp.dev")
    kubectl("delete", "validatingwebhookconfiguration", "microapp.dev")
    try:
        apply("pricey", namespace, team, replicas=2)
        eventually(lambda: conditions(namespace, "pricey").get("Ready", {}).get("reason") == "OverBudget",
                   what="pricey held")  # fmt: skip
    finally:
        operator.restart()
    assert (
        get_json("validatingwebhookconfiguration", "microapp.dev")["webhooks"][0]["name"]
        == (saved["webhooks"][0]["name"])
    )
    portal = portal_for("alice@example.com", f"{team}-devs")
    page = browser.new_page(viewport=VIEWPORT)
    ready = app_page(page, portal, namespace, "ready")
    assert ready["phase"] == "Running" and ready["ready"].startswith("True")
    assert axe_findings(page) == []
    shot(page, "app-ready")
    lost = app_page(page, portal, namespace, "lost")
    assert lost["phase"] == "Failed" and "TemplateNotFound" in lost["ready"]
    assert "microapp catalog" in lost["next"]
    assert axe_findings(page) == []
    held = app_page(page, portal, namespace, "pricey")
    assert held["phase"] == "Pending" and "OverBudget" in held["ready"]
    assert "budget" in held["next"].lower()
    expect(page.get_by_role("region", name="Cost")).to_contain_text("over")
    assert axe_findings(page) == []
    shot(page, "app-held")
    idle = app_page(page, portal, namespace, "sleepy")
    assert idle["phase"] == "Idle"
    assert "wake" in idle["next"].lower()
    assert "Idle since" in idle["lifecycle"]
    expect(page.get_by_role("button", name="Wake", exact=True)).to_be_visible()
    assert axe_findings(page) == []
    shot(page, "app-idle")
    # My apps says the same phases and Argo CD's health words.
    page.goto(portal.url + "/apps")
    health = {
        r.locator("th a").inner_text(): r.locator("td").nth(2).inner_text() for r in page.locator("tbody tr").all()
    }
    assert health["ready"].startswith("Healthy") and health["lost"].startswith("Degraded")
    assert health["sleepy"].startswith("Suspended") and health["pricey"].startswith("Progressing")


def annotations(ns: str, name: str) -> dict[str, str]:
    return get_json("mapp", name, "-n", ns)["metadata"].get("annotations") or {}


def near(stamp: str, expected: datetime, slack: float = 120) -> bool:
    return abs((datetime.strptime(stamp, STAMP).replace(tzinfo=UTC) - expected).total_seconds()) < slack


def test_each_action_changes_the_app_as_kubectl_would(
    operator: object, namespace: str, policy_team: Callable[..., None], browser: Any, portal_for: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    team = team_in(policy_team, namespace)
    deleter_role(namespace, f"{team}-devs")
    apply("mine", namespace, team)
    apply("twin", namespace, team)
    portal = portal_for("alice@example.com", f"{team}-devs")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{portal.url}/apps/{namespace}/mine")
    shown = [a for a in ACTIONS if page.get_by_role("button", name=a, exact=True).count()]
    assert shown == ["Keep alive", "Snooze", "Scale", "Edit", "Delete"]  # Running: nothing to wake or restore
    edit = page.get_by_role("button", name="Edit", exact=True).locator("xpath=ancestor::form")
    assert edit.get_attribute("action") == f"/apps/{namespace}/mine/edit" and edit.get_attribute("method") == "get"
    assert axe_findings(page) == []
    shot(page, "app-actions")

    # Keep alive, by keyboard alone.
    for _ in range(80):
        if page.evaluate("document.activeElement && document.activeElement.textContent === 'Keep alive'"):
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("Tab never reached Keep alive")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Kept alive")
    now = datetime.now(UTC)
    kubectl("annotate", "mapp", "twin", "-n", namespace, f"microapp.dev/last-activity={now.strftime(STAMP)}")
    # Snooze for three days, and Scale to 3.
    page.get_by_label("Snooze for").select_option("3d")
    with page.expect_navigation():
        page.get_by_role("button", name="Snooze", exact=True).click()
    kubectl("annotate", "mapp", "twin", "-n", namespace,
            f"microapp.dev/snooze-until={(now + timedelta(days=3)).strftime(STAMP)}")  # fmt: skip
    page.get_by_label("Replicas").fill("3")
    with page.expect_navigation():
        page.get_by_role("button", name="Scale", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Scaled")
    kubectl("scale", "mapp", "twin", "-n", namespace, "--replicas=3")
    # Wake and Restore are shown for asleep or retired apps only; the same posts, sent anyway, write
    # the same annotations as kubectl annotate (the operator ignores a wake for an awake app).
    csrf = csrf_of(page.content())
    for action, key in (("wake", "microapp.dev/wake"), ("restore", "microapp.dev/restore")):
        status, _ = portal.call("POST", f"/apps/{namespace}/mine", form={"csrf": csrf, "action": action})
        assert status == 200  # (followed the redirect back to the page)
        kubectl("annotate", "mapp", "twin", "-n", namespace, f"{key}={datetime.now(UTC).strftime(STAMP)}")
    mine, twin = (
        get_json("mapp", "mine", "-n", namespace, "--show-managed-fields"),
        get_json("mapp", "twin", "-n", namespace),
    )
    assert mine["spec"] == twin["spec"] and mine["spec"]["replicas"] == 3
    got, want = annotations(namespace, "mine"), annotations(namespace, "twin")
    assert set(got) - {"kubectl.kubernetes.io/last-applied-configuration"} == set(want) - {
        "kubectl.kubernetes.io/last-applied-configuration"
    }
    for key in ("microapp.dev/last-activity", "microapp.dev/snooze-until", "microapp.dev/wake", "microapp.dev/restore"):
        assert near(got[key], datetime.strptime(want[key], STAMP).replace(tzinfo=UTC)), (key, got[key], want[key])
    assert "microapp-portal" in {m["manager"] for m in mine["metadata"]["managedFields"]}

    # Delete: the name must be typed; a wrong one is refused in role=alert and deletes nothing.
    page.goto(f"{portal.url}/apps/{namespace}/mine")
    page.get_by_label("Type the app's name, mine, to delete it").fill("twin")
    with page.expect_navigation():
        page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("type the app's name (mine) to confirm the delete")
    assert get_json("mapp", "mine", "-n", namespace)["metadata"]["name"] == "mine"
    page.goto(f"{portal.url}/apps/{namespace}/mine")
    page.get_by_label("Type the app's name, mine, to delete it").fill("mine")
    with page.expect_navigation():
        page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"MicroApp {namespace}/mine is being deleted")
    kubectl("delete", "mapp", "twin", "-n", namespace, "--wait=false")
    gone = lambda name: kubectl("get", "mapp", name, "-n", namespace, check=False).returncode != 0  # noqa: E731
    eventually(lambda: gone("mine") and gone("twin"), timeout=60, what="both apps deleted")


def test_a_user_without_the_right_gets_no_button_and_a_clear_refusal(
    operator: object, namespace: str, policy_team: Callable[..., None], browser: Any, portal_for: Callable[..., Any]
) -> None:
    team = team_in(policy_team, namespace, role=viewer_role)
    apply("shop", namespace, team)
    before = annotations(namespace, "shop")
    portal = portal_for("victor@example.com", f"{team}-devs")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{portal.url}/apps/{namespace}/shop")
    assert page.get_by_role("region", name="Status").locator(".phase").count() == 1  # the viewer reads the app
    assert [a for a in ACTIONS if page.get_by_role("button", name=a, exact=True).count()] == []
    assert page.get_by_role("button", name="Edit", exact=True).count() == 0
    assert "You may not change MicroApps in namespace" in page.get_by_role("region", name="Actions").inner_text()
    assert axe_findings(page) == []
    # Sent anyway (a form token of this user from another page): the API server's 403, in words.
    _, form_page = portal.call("GET", "/new/web-service")
    csrf = csrf_of(form_page)
    for form in (
        {"action": "keep-alive"},
        {"action": "scale", "replicas": "4"},
        {"action": "delete", "confirm": "shop"},
    ):
        status, text = portal.call("POST", f"/apps/{namespace}/shop", form={"csrf": csrf, **form})
        assert status == 403, (form, status, text[-1500:])
        alert = re.search(r'<div role="alert"[^>]*>(.*?)</div>', text, re.S)
        assert alert, text[-1500:]
        assert f"in namespace {namespace}" in alert.group(1) and "victor@example.com" in alert.group(1)
        assert "Traceback" not in text
    after = get_json("mapp", "shop", "-n", namespace)
    assert after["metadata"].get("annotations") == before and after["spec"].get("replicas") == 1


def test_a_namespace_refused_is_said_and_asked_again_once_rbac_allows_it(
    operator: object, namespace: str, policy_team: Callable[..., None], browser: Any, portal_for: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    team = team_in(policy_team, namespace, role=lambda ns, group: None)  # a member, without a RoleBinding yet
    apply("shop", namespace, team)
    portal = portal_for("rita@example.com", f"{team}-devs")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/apps")
    expect(page.get_by_role("alert")).to_contain_text(f"you may not list MicroApps in namespace {namespace}")
    assert page.get_by_role("link", name="shop", exact=True).count() == 0
    viewer_role(namespace, f"{team}-devs")

    def listed() -> bool:
        page.goto(portal.url + "/apps")
        return page.get_by_role("link", name="shop", exact=True).count() == 1

    eventually(listed, timeout=30, interval=2, what="the app listed once the RoleBinding exists")
    assert page.get_by_role("alert").count() == 0


def test_an_app_managed_through_git_is_deleted_and_scaled_by_proposals(
    operator: object, namespace: str, policy_team: Callable[..., None], browser: Any, portal_for: Callable[..., Any]
) -> None:
    team = team_in(policy_team, namespace)
    deleter_role(namespace, f"{team}-devs")
    tracking = f"shop:microapp.dev/MicroApp:{namespace}/synced"
    kubectl("apply", "-f", "-", input=microapp("synced", namespace, team=team,
            annotations={"argocd.argoproj.io/tracking-id": tracking}))  # fmt: skip
    portal = portal_for("alice@example.com", f"{team}-devs")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{portal.url}/apps/{namespace}/synced")
    shown = [a for a in ACTIONS if page.get_by_role("button", name=a, exact=True).count()]
    assert shown == ["Keep alive", "Snooze", "Edit", "Delete"]  # Scale is an edit, which proposes
    delete = page.get_by_role("button", name="Delete", exact=True).locator("xpath=ancestor::form")
    assert delete.get_attribute("action") == f"/apps/{namespace}/synced/propose-delete"
    with page.expect_navigation():
        page.get_by_role("button", name="Delete", exact=True).click()
    assert page.url.split("?")[0] == f"{portal.url}/apps/{namespace}/synced/propose-delete"
    page.go_back()
    assert axe_findings(page) == []
    # Sent anyway: refused before anything reaches the API server, with where to propose it.
    csrf = csrf_of(page.content())
    for form, where in (
        ({"action": "delete", "confirm": "synced"}, "propose-delete"),
        ({"action": "scale", "replicas": "3"}, "edit"),
    ):
        status, text = portal.call("POST", f"/apps/{namespace}/synced", form={"csrf": csrf, **form})
        assert status == 409, (form, status, text[-1500:])
        assert "is managed through Git" in text and f"/apps/{namespace}/synced/{where}" in text
    after = get_json("mapp", "synced", "-n", namespace)
    assert after["metadata"].get("deletionTimestamp") is None and after["spec"].get("replicas") == 1
