"""Editing an app in the portal, and proposing through Git, in a real browser (Debian's Chromium,
Playwright) on the real control plane with the real operator and admission webhook: the diff and
the cost delta before an apply, the apply as the user, a 409 that keeps what was typed, fields
another field manager holds listed and never taken, and GitOps-managed apps proposed to a Git
repository made by the test (a bare one by file URL, and one served by `git daemon` on loopback)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import eventually, get_json, kubectl, microapp
from tests.integration.portal import PortalProcess, axe_findings, citizen_role, csrf_of, free_port, shot

VIEWPORT = {"width": 1280, "height": 1600}


def make_team(namespace: str, policy_team: Callable[..., None], **extra: object) -> dict[str, str]:
    """A team owning ``namespace`` whose group has the citizen developer's RBAC there (and may
    delete MicroApps: a proposed delete is dry-run as the user first)."""
    name = f"e{uuid.uuid4().hex[:8]}"
    group = f"{name}-devs"
    policy_team(name, namespaces=[namespace], groups=[group], **extra)
    citizen_role(namespace, group)
    kubectl("create", "role", "microapp-deleter", "--verb=delete", "--resource=microapps.microapp.dev", "-n", namespace)
    kubectl("create", "rolebinding", "microapp-deleter", "--role=microapp-deleter", f"--group={group}", "-n", namespace)
    return {"ns": namespace, "team": name, "group": group}


@pytest.fixture
def team(namespace: str, policy_team: Callable[..., None]) -> dict[str, str]:
    return make_team(namespace, policy_team)


def as_member(portal_for: Callable[..., PortalProcess], team: dict[str, str]) -> PortalProcess:
    return portal_for("--dev-user", "alice@example.com", "--dev-group", team["group"])


def app_of(name: str, team: dict[str, str], **spec: Any) -> dict[str, Any]:
    return microapp(name, team["ns"], team=team["team"], **spec)


def ready(name: str, ns: str, timeout: float = 90) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        app = get_json("microapp", name, "-n", ns)
        ok = any(c["type"] == "Ready" and c["status"] == "True" for c in app.get("status", {}).get("conditions") or [])
        return app if ok and app["status"].get("observedGeneration") == app["metadata"]["generation"] else None

    return eventually(check, timeout=timeout, interval=1, what=f"MicroApp {ns}/{name} Ready")


def click(page: Any, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def managers(name: str, ns: str) -> dict[str, set[str]]:
    """Field manager -> the spec fields it holds."""
    app = get_json("microapp", name, "-n", ns, "--show-managed-fields")
    return {m["manager"]: set((m.get("fieldsV1") or {}).get("f:spec", {})) for m in app["metadata"]["managedFields"]}


def test_edit_replicas_shows_the_diff_and_cost_delta_then_applies_and_the_app_converges(
    operator: object, team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    from playwright.sync_api import expect

    kubectl("apply", "-f", "-", input=app_of("shop", team, replicas=None))  # made by `kubectl apply`
    before = ready("shop", team["ns"])
    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + f"/apps/{team['ns']}/shop/edit")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit MicroApp {team['ns']}/shop")
    expect(page.get_by_label("Image")).to_have_value("registry.internal/finance/app:1.0.0")
    expect(page.get_by_label("Template version", exact=True)).to_have_value("web-service@^1")
    assert axe_findings(page) == []
    page.get_by_label("Replicas").fill("3")
    click(page, "Preview changes")
    changes = page.get_by_role("region", name="Changes")
    expect(changes).to_contain_text("Deployment shop: update")
    diff = changes.get_by_label("The diff of the MicroApp and its children").inner_text()
    assert "+  replicas: 3" in diff and "-  replicas: 1" in diff  # the MicroApp, then the Deployment
    cost = changes.get_by_role("region", name="Cost")
    old = float(cost.locator("data.before").get_attribute("value"))
    new = float(cost.locator("data.after").get_attribute("value"))
    assert old == pytest.approx(float(before["status"]["cost"]["estimatedMonthly"]))
    assert new == pytest.approx(3 * old, rel=0.01)
    assert float(cost.locator("data.delta").get_attribute("value")) == pytest.approx(new - old, abs=0.011)
    expect(changes.get_by_role("region", name="Findings")).to_contain_text("No new findings")
    assert get_json("microapp", "shop", "-n", team["ns"])["spec"].get("replicas") is None  # a preview changes nothing
    assert axe_findings(page) == []
    shot(page, "edit-preview")
    click(page, "Apply")
    page.wait_for_url(f"**/apps/{team['ns']}/shop")
    app = get_json("microapp", "shop", "-n", team["ns"])
    assert app["spec"]["replicas"] == 3
    assert app["spec"]["image"] == "registry.internal/finance/app:1.0.0"
    assert "expose" not in app["spec"] and "resources" not in app["spec"]  # defaults the form showed: not written
    assert managers("shop", team["ns"])["microapp-portal"] == {"f:replicas"}
    eventually(
        lambda: get_json("deployment", "shop", "-n", team["ns"]).get("status", {}).get("readyReplicas") == 3,
        timeout=90,
        interval=1,
        what="the Deployment at 3 ready replicas",
    )
    converged = ready("shop", team["ns"])
    assert converged["status"]["replicas"] == 3
    assert float(converged["status"]["cost"]["estimatedMonthly"]) == pytest.approx(new, abs=0.011)

    # The image is kubectl apply's field: a conflict in words, nothing sent, the typed value kept.
    page.goto(portal.url + f"/apps/{team['ns']}/shop/edit")
    page.get_by_label("Image").fill("registry.internal/finance/app:2.0.0")
    click(page, "Preview changes")
    alert = page.get_by_role("alert").filter(has_text="another tool manages")
    expect(alert).to_contain_text("Image (.spec.image) is set by kubectl apply (kubectl-client-side-apply)")
    expect(page.get_by_label("Image")).to_have_value("registry.internal/finance/app:2.0.0")
    expect(page.get_by_role("button", name="Apply", exact=True)).to_have_count(0)
    assert get_json("microapp", "shop", "-n", team["ns"])["spec"]["image"] == "registry.internal/finance/app:1.0.0"
    assert axe_findings(page) == []
    shot(page, "edit-conflict")


def test_a_409_shows_what_changed_and_keeps_what_was_typed(
    operator: object, team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    from playwright.sync_api import expect

    kubectl("apply", "-f", "-", input=app_of("racy", team, replicas=None))
    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + f"/apps/{team['ns']}/racy/edit")
    page.get_by_label("Replicas").fill("4")
    page.get_by_label("Memory").fill("256Mi")
    click(page, "Preview changes")
    # Someone else changes the app after the form opened (and after the preview).
    kubectl(
        "patch",
        "microapp",
        "racy",
        "-n",
        team["ns"],
        "--type=merge",
        "-p",
        '{"spec":{"image":"registry.internal/finance/app:9.9.9"}}',
    )
    click(page, "Apply")
    alert = page.get_by_role("alert").filter(has_text="changed since you opened it")
    expect(alert).to_be_visible()
    meanwhile = alert.get_by_label("What changed meanwhile").inner_text()
    assert "+  image: registry.internal/finance/app:9.9.9" in meanwhile
    assert page.evaluate("document.activeElement.getAttribute('role')") == "alert"
    expect(page.get_by_label("Replicas")).to_have_value("4")  # typed: kept
    expect(page.get_by_label("Memory")).to_have_value("256Mi")
    expect(page.get_by_label("Image")).to_have_value("registry.internal/finance/app:9.9.9")  # left alone: the new value
    assert get_json("microapp", "racy", "-n", team["ns"])["spec"].get("replicas") is None  # nothing applied
    assert axe_findings(page) == []
    # Bad input: the field named with the fix, in role=alert, and nothing typed lost.
    page.get_by_label("Replicas").fill("2.5")
    click(page, "Preview changes")
    summary = page.locator("#error-summary")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_contain_text("spec.replicas: '2.5' is not a whole number")
    expect(page.locator("#f-replicas-error")).to_contain_text("not a whole number")
    expect(page.get_by_label("Replicas")).to_have_value("2.5")
    expect(page.get_by_label("Memory")).to_have_value("256Mi")
    page.get_by_label("Replicas").fill("4")
    click(page, "Preview changes")
    click(page, "Apply")
    page.wait_for_url(f"**/apps/{team['ns']}/racy")
    spec = get_json("microapp", "racy", "-n", team["ns"])["spec"]
    assert spec["replicas"] == 4 and spec["resources"]["memory"] == "256Mi"
    assert spec["image"] == "registry.internal/finance/app:9.9.9"  # the other change was not undone


def test_a_field_a_gitops_style_applier_holds_is_a_conflict_and_never_forced(
    operator: object, team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    from playwright.sync_api import expect

    body = app_of("synced", team, replicas=2)
    kubectl("apply", "--server-side", "--field-manager=gitops-applier", "-f", "-", input=body)
    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + f"/apps/{team['ns']}/synced/edit")
    page.get_by_label("Replicas").fill("5")
    page.get_by_label("CPU").fill("200m")  # nobody holds resources: the portal may set it
    click(page, "Preview changes")
    alert = page.get_by_role("alert").filter(has_text="another tool manages")
    expect(alert).to_contain_text("Replicas (.spec.replicas) is set by gitops-applier")
    expect(alert.locator("ul.conflicts li")).to_have_count(1)
    expect(page.get_by_label("Replicas")).to_have_value("5")
    expect(page.get_by_role("button", name="Apply", exact=True)).to_have_count(0)
    # Sent anyway (the button is not there, the request can still be made): never forced.
    with page.expect_navigation():
        page.evaluate(
            """() => { const f = document.querySelector('form.edit-form'); const i = document.createElement('input');
            i.type = 'hidden'; i.name = 'action'; i.value = 'apply'; f.appendChild(i); f.submit(); }"""
        )
    expect(page.get_by_role("alert").filter(has_text="another tool manages")).to_be_visible()
    app = get_json("microapp", "synced", "-n", team["ns"])
    assert app["spec"]["replicas"] == 2 and "resources" not in app["spec"]
    assert "f:replicas" in managers("synced", team["ns"])["gitops-applier"]
    assert "microapp-portal" not in managers("synced", team["ns"])
    # Without the held field the change goes through, and the applier keeps its fields.
    page.get_by_label("Replicas").fill("2")
    click(page, "Preview changes")
    click(page, "Apply")
    page.wait_for_url(f"**/apps/{team['ns']}/synced")
    app = get_json("microapp", "synced", "-n", team["ns"])
    assert app["spec"]["resources"]["cpu"] == "200m" and app["spec"]["replicas"] == 2
    held = managers("synced", team["ns"])
    assert held["microapp-portal"] == {"f:resources"} and "f:replicas" in held["gitops-applier"]


def test_the_edit_flow_by_keyboard_alone(
    operator: object, team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    kubectl("apply", "-f", "-", input=app_of("keys", team, replicas=None))
    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + f"/apps/{team['ns']}/keys/edit")

    def tab_to(selector: str) -> None:
        for _ in range(80):
            if page.evaluate(f"document.activeElement && document.activeElement.matches({selector!r})"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#f-replicas")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to("button[value='preview']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "changes"  # focus on the preview
    assert "+  replicas: 2" in page.locator("#changes pre").inner_text()
    page.keyboard.press("Tab")  # the diff (scrollable by keys)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('value')") == "apply"  # right after the diff
    # Reflow at 320 CSS px (WCAG 1.4.10): the preview does not scroll sideways.
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.set_viewport_size(VIEWPORT)
    tab_to("button[value='apply']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"**/apps/{team['ns']}/keys")
    assert get_json("microapp", "keys", "-n", team["ns"])["spec"]["replicas"] == 2


# ---------------------------------------------------------------------------------------
# Propose through Git
# ---------------------------------------------------------------------------------------


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd or Path.cwd())}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def seeded(root: Path, folder: str, app: dict[str, Any], repo: str = "origin.git") -> Path:
    """A bare repository whose main branch holds ``folder/<name>.yaml`` (the app) and a README."""
    origin = root / repo
    git("init", "-q", "--bare", "-b", "main", str(origin))
    work = root / "seed"
    git("init", "-q", "-b", "main", str(work))
    (work / folder).mkdir(parents=True)
    (work / folder / f"{app['metadata']['name']}.yaml").write_text(yaml.safe_dump(app, sort_keys=False))
    (work / "README.md").write_text("apps\n")
    git("add", ".", cwd=work)
    git("-c", "user.name=seed", "-c", "user.email=seed@x", "commit", "-q", "-m", "seed", cwd=work)
    git("push", "-q", str(origin), "main", cwd=work)
    return origin


def branches(origin: Path) -> list[str]:
    out = git("--git-dir", str(origin), "for-each-ref", "--format=%(refname:short)", "refs/heads/microapp/")
    return out.split()


def test_a_gitops_managed_app_is_proposed_through_git_and_deleted_by_a_removal_commit(
    operator: object,
    namespace: str,
    policy_team: Callable[..., None],
    tmp_path: Path,
    browser: Any,
    portal_for: Callable[..., PortalProcess],
) -> None:
    from playwright.sync_api import expect

    name = f"e{uuid.uuid4().hex[:8]}"
    body = microapp("ledger", namespace, team=name, replicas=1)
    origin = seeded(tmp_path, f"apps/{name}", body)
    git_target = {"repoURL": f"file://{origin}", "branch": "main", "path": f"apps/{name}"}
    policy_team(name, namespaces=[namespace], groups=[f"{name}-devs"], git=git_target)
    citizen_role(namespace, f"{name}-devs")
    kubectl("create", "role", "microapp-deleter", "--verb=delete", "--resource=microapps.microapp.dev", "-n", namespace)
    kubectl(
        "create", "rolebinding", "microapp-deleter", "--role=microapp-deleter", f"--group={name}-devs", "-n", namespace
    )
    kubectl("apply", "--server-side", "--field-manager=gitops-applier", "-f", "-", input=body)
    live = ready("ledger", namespace)
    portal = as_member(portal_for, {"group": f"{name}-devs"})
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + f"/apps/{namespace}/ledger/edit")
    expect(page.get_by_role("note")).to_contain_text("proposed as a branch of file://")
    page.get_by_label("Replicas").fill("3")
    click(page, "Preview changes")
    expect(page.get_by_role("button", name="Apply", exact=True)).to_have_count(0)  # managed through Git: not applied
    expect(page.get_by_role("region", name="Changes")).to_contain_text("+  replicas: 3")
    assert axe_findings(page) == []
    click(page, "Propose")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Proposed the change to MicroApp {namespace}/ledger")
    expect(page.get_by_role("status")).to_contain_text("Nothing is live until this change is merged")
    branch = page.locator("dd.branch").inner_text()
    assert branch.startswith(f"microapp/{namespace}/ledger-") and branches(origin) == [branch]
    text = git("--git-dir", str(origin), "show", f"{branch}:apps/{name}/ledger.yaml")
    proposed = yaml.safe_load(text)
    assert proposed["spec"]["replicas"] == 3 and proposed["spec"]["image"] == body["spec"]["image"]
    assert "status" not in proposed and "resourceVersion" not in proposed["metadata"]
    who = git("--git-dir", str(origin), "log", "-1", "--format=%an <%ae>|%cn", branch).strip()
    assert who == "alice@example.com <alice@example.com>|microapp portal"
    description = page.locator("pre.description").inner_text()
    cost = float(live["status"]["cost"]["estimatedMonthly"])
    figures = re.search(r"Monthly cost: ([0-9.]+) USD -> ([0-9.]+) USD \(\+([0-9.]+) USD\)", description)
    assert figures, description
    assert float(figures[1]) == pytest.approx(cost) and float(figures[2]) == pytest.approx(3 * cost, abs=0.011)
    assert "Nothing is live until this is merged" in description
    assert axe_findings(page) == []
    shot(page, "proposed")
    assert get_json("microapp", "ledger", "-n", namespace)["spec"]["replicas"] == 1  # nothing live

    # Delete: a commit removing the file, on its own branch.
    page.goto(portal.url + f"/apps/{namespace}/ledger/propose-delete")
    assert axe_findings(page) == []
    click(page, "Propose deleting ledger")
    removal = page.locator("dd.branch").inner_text()
    assert removal != branch and set(branches(origin)) == {branch, removal}
    status = git("--git-dir", str(origin), "show", "--name-status", "--format=%s", removal)
    assert f"Delete MicroApp {namespace}/ledger" in status and f"D\tapps/{name}/ledger.yaml" in status
    assert get_json("microapp", "ledger", "-n", namespace)["metadata"]["name"] == "ledger"  # still live

    # The repository gone: the push fails with why, and what was typed is still in the form.
    shutil.rmtree(origin)
    page.goto(portal.url + f"/apps/{namespace}/ledger/edit")
    page.get_by_label("Replicas").fill("4")
    page.get_by_label("Memory").fill("512Mi")
    click(page, "Preview changes")
    click(page, "Propose")
    alert = page.get_by_role("alert").filter(has_text="the push failed")
    expect(alert).to_contain_text("the repository is not there")
    expect(page.get_by_label("Replicas")).to_have_value("4")
    expect(page.get_by_label("Memory")).to_have_value("512Mi")
    assert axe_findings(page) == []


def test_a_new_app_of_a_team_that_ships_through_git_is_proposed_as_a_new_file(
    namespace: str,
    policy_team: Callable[..., None],
    tmp_path: Path,
    browser: Any,
    portal_for: Callable[..., PortalProcess],
) -> None:
    from playwright.sync_api import expect

    from tests.integration.test_portal import fill

    name = f"e{uuid.uuid4().hex[:8]}"
    origin = seeded(tmp_path, f"apps/{name}", microapp("ledger", namespace, team=name))
    git_target = {"repoURL": f"file://{origin}", "branch": "main", "path": f"apps/{name}"}
    policy_team(name, namespaces=[namespace], groups=[f"{name}-devs"], git=git_target)
    citizen_role(namespace, f"{name}-devs")
    portal = as_member(portal_for, {"group": f"{name}-devs"})
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + "/new/web-service")
    fill(page, {"ns": namespace}, "invoices", replicas="2")
    page.get_by_label("Namespace").blur()
    expect(page.get_by_role("button", name="Create", exact=True)).to_have_count(0)
    expect(page.locator("#f-through-git")).to_contain_text(f"file://{origin}")
    # A forged Create (the same form, action=create) is refused, and nothing is created.
    _, form_page = portal.call("GET", "/new/web-service")
    fields = {"csrf": csrf_of(form_page), "name": "invoices", "namespace": namespace, "action": "create",
              "image": "registry.internal/team/shop:1.0.0", "cost_center": "CC-1234"}  # fmt: skip
    status, text = portal.call("POST", "/new/web-service", form=fields)
    assert "ships through Git: propose the app instead" in text, text[-1500:]
    assert kubectl("get", "mapp", "invoices", "-n", namespace, check=False).returncode != 0
    assert axe_findings(page) == []
    click(page, "Propose")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Proposed creating MicroApp {namespace}/invoices")
    expect(page.get_by_role("status")).to_contain_text("Nothing is live until this change is merged")
    branch = page.locator("dd.branch").inner_text()
    assert branch.startswith(f"microapp/{namespace}/invoices-") and branches(origin) == [branch]
    proposed = yaml.safe_load(git("--git-dir", str(origin), "show", f"{branch}:apps/{name}/invoices.yaml"))
    assert proposed["kind"] == "MicroApp" and proposed["metadata"]["namespace"] == namespace
    assert proposed["spec"]["replicas"] == 2 and proposed["spec"]["image"] == "registry.internal/team/shop:1.0.0"
    who = git("--git-dir", str(origin), "log", "-1", "--format=%an|%cn|%s", branch).strip()
    assert who == f"alice@example.com|microapp portal|Create MicroApp {namespace}/invoices"
    assert "Monthly cost: 0.00 USD -> " in page.locator("pre.description").inner_text()
    assert kubectl("get", "mapp", "invoices", "-n", namespace, check=False).returncode != 0  # nothing live
    assert axe_findings(page) == []


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """`git daemon` on loopback serving ``tmp_path/served`` with pushes allowed (receive-pack)."""
    root = tmp_path / "served"
    root.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--listen=127.0.0.1",
            f"--port={port}",
            "--export-all",
            "--enable=receive-pack",
            f"--base-path={root}",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    yield root, port
    proc.terminate()
    proc.wait(timeout=10)


ARGO_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "applications.argoproj.io"},
    "spec": {
        "group": "argoproj.io",
        "names": {
            "kind": "Application",
            "plural": "applications",
            "singular": "application",
            "listKind": "ApplicationList",
        },
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}


def test_an_app_argo_cd_tracks_is_proposed_to_its_applications_repository_with_the_forge_link(
    operator: object,
    team: dict[str, str],
    git_daemon: tuple[Path, int],
    browser: Any,
    portal_for: Callable[..., PortalProcess],
) -> None:
    from playwright.sync_api import expect

    root, port = git_daemon
    body = app_of("tracked", team, replicas=1)
    origin = seeded(root / "acme", "apps", body, repo="apps.git")
    if kubectl("get", "crd", "applications.argoproj.io", check=False).returncode != 0:
        kubectl("apply", "-f", "-", input=ARGO_CRD)
        kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/applications.argoproj.io")
    kubectl("create", "namespace", "argocd", check=False)
    application = f"app-{uuid.uuid4().hex[:6]}"
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": application, "namespace": "argocd"},
            "spec": {
                "source": {
                    "repoURL": f"git://127.0.0.1:{port}/acme/apps.git",
                    "path": "apps",
                    "targetRevision": "main",
                },
                "destination": {"namespace": team["ns"], "server": "https://kubernetes.default.svc"},
            },
        },
    )
    tracking = f"{application}:microapp.dev/MicroApp:{team['ns']}/tracked"
    tracked = {
        **body,
        "metadata": {
            **body["metadata"],
            "annotations": {**body["metadata"]["annotations"], "argocd.argoproj.io/tracking-id": tracking},
        },
    }
    kubectl("apply", "--server-side", "--field-manager=argocd-controller", "-f", "-", input=tracked)
    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + f"/apps/{team['ns']}/tracked/edit")
    expect(page.get_by_role("note")).to_contain_text(f"git://127.0.0.1:{port}/acme/apps.git")
    page.get_by_label("Replicas").fill("2")
    click(page, "Preview changes")
    click(page, "Propose")
    branch = page.locator("dd.branch").inner_text()
    # Neither github nor gitlab in the host name: the Gitea/Forgejo compare form.
    expected = f"https://127.0.0.1/acme/apps/compare/main...{branch}"
    assert page.locator("dd.compare").inner_text() == expected
    assert (
        page.get_by_role("link", name=f"Open the pull or merge request for {branch}").get_attribute("href") == expected
    )
    assert "replicas: 2" in git("--git-dir", str(origin), "show", f"{branch}:apps/tracked.yaml")
    assert get_json("microapp", "tracked", "-n", team["ns"])["spec"]["replicas"] == 1


@pytest.fixture
def served_over_http(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A bare repository behind `git http-backend` with HTTP basic auth on loopback."""
    import http.server
    import threading

    from tests.integration.test_gitpropose import _Backend

    root = tmp_path / "http"
    root.mkdir()
    handler = type("Handler", (_Backend,), {"root": root})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_push_with_a_bad_credential_says_why_and_keeps_the_input_then_the_right_one_pushes(
    operator: object,
    namespace: str,
    policy_team: Callable[..., None],
    served_over_http: tuple[Path, str],
    browser: Any,
    portal_for: Callable[..., PortalProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect

    from tests.integration.test_gitpropose import PASSWORD, USER

    root, url = served_over_http
    git_target = {"repoURL": f"{url}/origin.git", "branch": "main", "path": "apps", "credentialsSecret": "git-push"}
    team = make_team(namespace, policy_team, git=git_target)
    body = microapp("vault", namespace, team=team["team"], replicas=1)
    origin = seeded(root, "apps", body)
    git("--git-dir", str(origin), "config", "http.receivepack", "true")
    kubectl("apply", "-f", "-", input=body)
    secrets = namespace  # the portal's own namespace ($MICROAPP_PORTAL_NAMESPACE) holds the Secret
    kubectl(
        "create",
        "secret",
        "generic",
        "git-push",
        "-n",
        secrets,
        f"--from-literal=username={USER}",
        "--from-literal=password=wrong-token",
    )
    monkeypatch.setenv("MICROAPP_PORTAL_NAMESPACE", secrets)
    portal = as_member(portal_for, team)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(portal.url + f"/apps/{namespace}/vault/edit")
    page.get_by_label("Replicas").fill("2")
    page.get_by_label("CPU").fill("300m")
    click(page, "Preview changes")
    click(page, "Propose")
    alert = page.get_by_role("alert").filter(has_text="the push failed")
    expect(alert).to_contain_text("the Git host refused the credential")
    assert "wrong-token" not in page.content()
    expect(page.get_by_label("Replicas")).to_have_value("2")
    expect(page.get_by_label("CPU")).to_have_value("300m")
    assert branches(origin) == []
    assert axe_findings(page) == []
    # The platform team fixes the Secret: the same form pushes.
    kubectl("delete", "secret", "git-push", "-n", secrets)
    kubectl(
        "create",
        "secret",
        "generic",
        "git-push",
        "-n",
        secrets,
        f"--from-literal=username={USER}",
        f"--from-literal=password={PASSWORD}",
    )
    click(page, "Preview changes")
    click(page, "Propose")
    branch = page.locator("dd.branch").inner_text()
    assert branches(origin) == [branch]
    expect(page.get_by_role("status")).to_contain_text("open a pull or merge request from")  # no forge page for it
    text = git("--git-dir", str(origin), "show", f"{branch}:apps/vault.yaml")
    assert yaml.safe_load(text)["spec"]["resources"]["cpu"] == "300m"


def published(name: str, version: str, notes: list[dict[str, str]]) -> dict[str, Any]:
    """The built-in web-service template published again as ``name`` at ``version``."""
    from tests.helpers import ROOT

    source = ROOT / "operator" / "microapp_operator" / "templates" / "web-service-1.0.0.yaml"
    body = yaml.safe_load(source.read_text())
    body["metadata"] = {"name": f"{name}-{version}"}
    body["spec"].update(templateName=name, version=version, changelog=notes)
    return body


def test_a_template_upgrade_offers_the_newer_versions_in_range_with_their_changelog(
    operator: object, team: dict[str, str], browser: Any, portal_for: Callable[..., PortalProcess]
) -> None:
    from playwright.sync_api import expect

    name = f"svc{uuid.uuid4().hex[:6]}"
    first = [{"version": "1.0.0", "note": "First published version."}]
    second = [*first, {"version": "1.1.0", "note": "Readiness probe waits 5 s longer."}]
    try:
        kubectl("apply", "-f", "-", input=published(name, "1.0.0", first))
        # Made as the portal's Create makes it (a POST by microapp-portal): its own fields to change.
        kubectl(
            "create", "--field-manager=microapp-portal", "-f", "-", input=app_of("upgr", team, template=f"{name}@^1")
        )
        assert ready("upgr", team["ns"])["status"]["template"]["version"] == "1.0.0"
        kubectl("apply", "-f", "-", input=published(name, "1.1.0", second))
        kubectl("apply", "-f", "-", input=published(name, "2.0.0", [*second, {"version": "2.0.0", "note": "Breaks."}]))
        portal = as_member(portal_for, team)
        page = browser.new_page(viewport=VIEWPORT)

        def offered() -> bool:
            page.goto(portal.url + f"/apps/{team['ns']}/upgr/edit")  # the portal's catalog is 2 s old at most
            return page.get_by_role("region", name="Newer template versions").count() == 1

        eventually(offered, timeout=20, interval=1, what="the newer version offered")
        upgrades = page.get_by_role("region", name="Newer template versions")
        expect(upgrades).to_contain_text("1.1.0: Readiness probe waits 5 s longer.")
        expect(upgrades).not_to_contain_text("2.0.0")  # outside ^1
        options = page.get_by_label("Template version", exact=True).locator("option").all_inner_texts()
        assert options == [f"{name}@^1", f"{name}@1.0.0", f"{name}@1.1.0"]
        assert axe_findings(page) == []
        page.get_by_label("Template version", exact=True).select_option(f"{name}@1.1.0")
        click(page, "Preview changes")
        expect(page.get_by_role("region", name="Changes")).to_contain_text(f"template: {name}@1.0.0 -> {name}@1.1.0")
        click(page, "Apply")
        page.wait_for_url(f"**/apps/{team['ns']}/upgr")
        eventually(
            lambda: get_json("microapp", "upgr", "-n", team["ns"])["status"]["template"]["version"] == "1.1.0",
            timeout=60,
            interval=1,
            what="the app on 1.1.0",
        )
    finally:
        for version in ("1.0.0", "1.1.0", "2.0.0"):
            kubectl("delete", "apptemplate", f"{name}-{version}", "--ignore-not-found", check=False)
