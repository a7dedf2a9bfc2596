"""The portal in a real browser (Debian's Chromium, Playwright) on the real control plane, with the
real operator and admission webhook: people create apps through the form as themselves, and
nothing the portal is sent makes it act for anyone else."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers import eventually, get_json, kubectl
from tests.integration.portal import (
    PortalProcess,
    axe_findings,
    citizen_role,
    csrf_of,
    no_microapps,
    shot,
    team_budget,
)
from tests.oidc_issuer import AUDIENCE, Issuer

VIEWPORT = {"width": 1280, "height": 1600}
WEBHOOK_REFUSAL = 'admission webhook "admission.microapp.dev" denied the request'


@pytest.fixture
def team(namespace: str, policy_team: Callable[..., None]) -> Iterator[dict[str, str]]:
    """A team owning ``namespace``, whose group has the citizen developer's RBAC there."""
    name = f"p{uuid.uuid4().hex[:8]}"
    group = f"{name}-devs"
    policy_team(name, namespaces=[namespace], groups=[group])
    citizen_role(namespace, group)
    yield {"ns": namespace, "team": name, "group": group}
    kubectl("delete", "teambudget", name, "--ignore-not-found", "--wait=false")


def as_member(portal_for: Callable[..., PortalProcess], team: dict[str, str], user: str = "alice@example.com") -> Any:
    return portal_for("--dev-user", user, "--dev-group", team["group"])


def fill(page: Any, team: dict[str, str], name: str, **values: str) -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Namespace").fill(team["ns"])
    page.get_by_label("Image").fill(values.get("image", "registry.internal/team/shop:1.0.0"))
    page.get_by_label("Cost center").fill("CC-1234")
    if "replicas" in values:
        page.get_by_label("Replicas").fill(values["replicas"])


def press(page: Any, button: str, expect_text: str, where: str = "[role=alert]") -> str:
    """Click the button until ``where`` says ``expect_text`` (the operator may need a moment to see
    a new team or budget); return that text."""

    def attempt() -> str | None:
        with page.expect_navigation():
            page.get_by_role("button", name=button, exact=True).click()
        text = " ".join(page.locator(where).all_inner_texts())
        return text if expect_text in text else None

    return eventually(attempt, timeout=30, interval=1, what=f"{expect_text!r} after {button}")


def estimate(page: Any) -> float:
    return float(page.get_by_role("region", name="Cost").locator(".estimate data").get_attribute("value"))


def test_a_member_creates_a_web_service_through_the_form_and_it_becomes_ready(
    operator: object, team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    from playwright.sync_api import expect

    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/")
    page.get_by_label("Search templates").fill("http web")
    expect(page.get_by_role("link", name="web-service", exact=True)).to_be_visible()
    assert axe_findings(page) == []
    shot(page, "catalog")
    page.get_by_role("link", name="New web-service app").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New web-service app")
    fill(page, team, "shop")
    expect(page.get_by_role("region", name="Findings")).to_contain_text("No findings", timeout=15_000)
    one = estimate(page)
    page.get_by_label("Replicas").fill("3")
    expect(page.get_by_role("region", name="Cost").locator(".estimate data")).not_to_have_attribute(
        "value", f"{one:.2f}", timeout=10_000
    )
    assert estimate(page) == pytest.approx(3 * one, rel=0.01)
    expect(page.get_by_role("region", name="Preview")).to_contain_text("Deployment/shop")
    assert axe_findings(page) == []
    shot(page, "new-app")
    page.get_by_role("button", name="Create", exact=True).click()
    try:
        page.wait_for_url(f"**/apps/{team['ns']}/shop", timeout=60_000)
    except Exception:
        shot(page, "create-failed")
        raise AssertionError(page.url + "\n" + page.locator("main").inner_text()) from None
    status = page.get_by_role("region", name="Status")
    expect(status.locator("dt:text-is('Ready') + dd")).to_contain_text("True", timeout=90_000)
    expect(status.locator(".phase")).to_have_text("Running")
    assert axe_findings(page) == []
    shot(page, "app")
    page.get_by_role("link", name="My apps").click()
    expect(page.get_by_role("link", name="shop", exact=True)).to_be_visible()
    assert axe_findings(page) == []
    shot(page, "my-apps")
    page.goto(portal.url + f"/apps/{team['ns']}/nothing-here")
    expect(page.get_by_role("alert")).to_contain_text("does not exist")
    assert axe_findings(page) == []
    page.goto(portal.url + "/new/<b>no-such-template")
    expect(page.get_by_role("alert")).to_contain_text("<b>no-such-template")  # as text
    assert axe_findings(page) == []
    app = get_json("microapp", "shop", "-n", team["ns"], "--show-managed-fields")
    assert app["spec"]["replicas"] == 3
    assert app["metadata"]["annotations"]["microapp.dev/owner"] == "alice@example.com"
    managers = {m["manager"] for m in app["metadata"]["managedFields"]}
    assert "microapp-portal" in managers


def test_over_the_teams_deny_budget_is_refused_at_check_and_create(
    operator: object, team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    team_budget(team["team"], "2")
    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/new/web-service")
    fill(page, team, "pricey")
    checked = press(page, "Check", "over the TeamBudget limit")
    assert WEBHOOK_REFUSAL in checked
    assert page.evaluate("document.activeElement.getAttribute('role')") == "alert"  # focus moved to it
    created = press(page, "Create", "over the TeamBudget limit")
    assert WEBHOOK_REFUSAL in created
    assert axe_findings(page) == []
    shot(page, "refused-budget")
    assert no_microapps(team["ns"])
    # A guardrail: the field and its fix, at the field and in the summary.
    page.get_by_label("Image").fill("docker.io/library/nginx:1.27")
    press(page, "Check", "registry")
    assert "registry.internal/" in page.locator("#f-image-error").inner_text()
    assert no_microapps(team["ns"])


def test_a_user_without_rbac_in_the_namespace_is_refused_and_told_so(
    operator: object, namespace: str, policy_team: Callable[..., None], browser: Any, portal_for: Callable[..., Any]
) -> None:
    name = f"p{uuid.uuid4().hex[:8]}"
    policy_team(name, namespaces=[namespace], groups=[f"{name}-devs"])  # a member, but no RoleBinding
    ctx = {"ns": namespace, "team": name, "group": f"{name}-devs"}
    portal = as_member(portal_for, ctx, user="bob@example.com")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/new/web-service")
    fill(page, ctx, "nope")
    text = press(page, "Create", "you may not create MicroApps in namespace")
    assert namespace in text and "bob@example.com" in text  # RBAC's own words name who was refused
    assert axe_findings(page) == []
    shot(page, "refused-rbac")
    assert no_microapps(namespace)


def test_markup_in_a_name_or_parameter_is_shown_as_text(
    operator: object, team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/new/web-service")
    fill(page, team, "<img src=x onerror=window.__pwned=1>")
    page.get_by_label("healthPath").fill('"><script>window.__pwned=2</script>')
    text = press(page, "Check", "There is a problem")
    assert "<img src=x onerror=window.__pwned=1>" in text
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("main img, main script").count() == 0
    assert no_microapps(team["ns"])


def test_the_yaml_view_edits_the_app_and_switches_back(
    team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    from playwright.sync_api import expect

    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/new/web-service")
    fill(page, team, "yamly")
    page.get_by_role("button", name="Check", exact=True).click()  # the YAML view is drawn from the last post
    page.wait_for_url("**/new/web-service")
    page.get_by_text("YAML view").click()
    text = page.get_by_label("MicroApp YAML").input_value()
    assert "name: yamly" in text
    page.get_by_label("MicroApp YAML").fill(text.replace("replicas: 1", "replicas: 4"))
    with page.expect_navigation():
        page.get_by_role("button", name="Use this YAML").click()
    expect(page.get_by_label("Replicas")).to_have_value("4")
    expect(page.get_by_label("Name", exact=True)).to_have_value("yamly")
    # A sign-in that expires sends the person to sign in again and back to the form by GET: what
    # they typed is still there (this tab's sessionStorage), and the panel follows it.
    page.get_by_label("Replicas").fill("5")
    page.goto(portal.url + "/new/web-service")
    expect(page.get_by_label("Replicas")).to_have_value("5")
    expect(page.get_by_label("Name", exact=True)).to_have_value("yamly")
    expect(page.get_by_role("region", name="Preview")).to_contain_text("Deployment/yamly")
    # Reflow at 320 CSS px (WCAG 1.4.10): no page scrolls sideways.
    page.set_viewport_size({"width": 320, "height": 800})
    for path in ("/", "/new/web-service", "/apps"):
        page.goto(portal.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path


def test_the_create_flow_by_keyboard_alone(
    operator: object, team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/")

    def tab_to(selector: str) -> None:
        for _ in range(60):
            if page.evaluate(f"document.activeElement && document.activeElement.matches({selector!r})"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("a[href='/new/web-service'].button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/new/web-service")
    for selector, text in (("#f-name", "keys"), ("#f-namespace", team["ns"]), ("#f-cost_center", "CC-1")):
        tab_to(selector)
        page.keyboard.press("Control+A")
        page.keyboard.type(text)
    tab_to("button[value='create']")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # no image yet: refused, focus on the alert
    assert page.evaluate("document.activeElement.getAttribute('role')") == "alert"
    tab_to("#f-image")
    page.keyboard.type("registry.internal/team/keys:1.0.0")
    tab_to("button[value='create']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"**/apps/{team['ns']}/keys")
    assert get_json("microapp", "keys", "-n", team["ns"])["spec"]["image"] == "registry.internal/team/keys:1.0.0"
    # The same name again: "already exists", with a link to it (a create never overwrites).
    page.goto(portal.url + "/new/web-service")
    fill(page, team, "keys")
    text = press(page, "Create", "already exists")
    assert f"MicroApp keys already exists in namespace {team['ns']}" in text
    assert page.get_by_role("link", name=f"MicroApp {team['ns']}/keys").get_attribute("href") == (
        f"/apps/{team['ns']}/keys"
    )


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    found = Issuer()
    found.start_thread()
    yield found
    found.stop_thread()


def test_only_a_verified_token_acts_and_only_as_its_user(
    operator: object, team: dict[str, str], issuer: Issuer, browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    from playwright.sync_api import expect

    portal = portal_for("--oidc-issuer", issuer.url, "--oidc-client-id", AUDIENCE)
    alice = {"Authorization": f"Bearer {issuer.token('alice@example.com', [team['group']])}"}
    # In the browser, signed in (as oauth2-proxy passes the token): Check is a dry run as alice.
    context = browser.new_context(extra_http_headers=alice, viewport=VIEWPORT)
    page = context.new_page()
    page.goto(portal.url + "/new/web-service")
    expect(page.locator(".who")).to_contain_text("alice@example.com")
    fill(page, team, "viaoidc")
    press(page, "Check", "Check passed", where="#outcome")  # a dry run as alice: RBAC and the webhook agree
    context.close()

    def form(token_headers: dict[str, str], **extra: str) -> dict[str, str]:
        status, text = portal.call("GET", "/new/web-service", headers=token_headers)
        csrf = csrf_of(text) if status == 200 else "none"
        return {
            "csrf": csrf,
            "name": "forged",
            "namespace": team["ns"],
            "owner": "alice@example.com",
            "image": "registry.internal/team/x:1.0.0",
            "replicas": "1",
            "cpu": "100m",
            "memory": "128Mi",
            "expose": "internal",
            "cost_center": "CC-1",
            "action": "create",
            **extra,
        }

    def post(headers: dict[str, str], body: dict[str, str]) -> tuple[int, str]:
        return portal.call("POST", "/new/web-service", headers=headers, form=body)

    masters = {"Authorization": f"Bearer {issuer.token('alice@example.com', [team['group'], 'system:masters'])}"}
    status, text = portal.call("GET", "/", headers=masters)
    assert status == 401 and "system:masters" in text
    assert post(masters, form(alice))[0] == 401
    mallory = {"Authorization": f"Bearer {issuer.token('mallory@example.com')}"}
    forged = {
        **mallory,
        "Impersonate-User": "alice@example.com",
        "Impersonate-Group": team["group"],
        "X-Remote-User": "alice@example.com",
        "X-Forwarded-User": "alice@example.com",
        "X-Forwarded-Groups": "system:masters",
    }
    status, text = post(forged, form(forged))
    assert "you may not create MicroApps" in text and "mallory@example.com" in text, text[-2000:]
    for bad in (issuer.unsigned("alice@example.com", [team["group"]]), issuer.token(lifetime=-120)):
        assert post({"Authorization": f"Bearer {bad}"}, form(alice))[0] == 401
    wrong_aud = issuer.token("alice@example.com", [team["group"]], audience="another-app")
    assert post({"Authorization": f"Bearer {wrong_aud}"}, form(alice))[0] == 401
    assert post({**alice, "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, form(alice))[0] == 403
    assert post(alice, {**form(alice), "csrf": "1.forged"})[0] == 403
    assert no_microapps(team["ns"])
    # The same post, signed in, same-site, with its token, does create (so the refusals above meant something).
    status, _ = post({**alice, "Origin": portal.url, "Sec-Fetch-Site": "same-origin"}, form(alice))
    assert status == 200
    assert get_json("microapp", "forged", "-n", team["ns"])["metadata"]["annotations"]["microapp.dev/owner"] == (
        "alice@example.com"
    )


def test_pages_carry_the_browser_hardening(team: dict[str, str], portal_for: Callable[..., PortalProcess]) -> None:
    portal = as_member(portal_for, team)

    with urllib.request.urlopen(portal.url + "/new/web-service", timeout=30) as resp:
        headers = resp.headers
        body = resp.read().decode()
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert "<script>" not in body and "style=" not in body and " on" + "click=" not in body
