"""The portal's pages: the catalog, the new-app form with its live panel, "Check" and "Create"
(paths: DESIGN.md, "Portal"; My apps and an app's page are in ``apps``).

Every request about a user's apps goes to the API server as the user (``Kube.impersonating``):
RBAC and the admission webhook decide, the portal explains the answer. What the form and the
panel show comes from ``presentation.forms`` and ``presentation.preview`` (the core functions
admission calls).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ...api import types as api
from ...api.kinds import MICROAPP
from ...core import catalog
from ...presentation import forms, html, preview, search
from ...runtime.kube import Kube, KubeError, impersonating
from .common import PORTAL, message, page
from .source import Snapshot

FIELD_MANAGER = "microapp-portal"


@dataclass(frozen=True)
class Outcome:
    """What "Check" or "Create" got from the cluster."""

    tone: str  # ok or bad
    title: str
    lines: tuple[str, ...]
    link: str | None = None
    link_text: str = ""
    focus: bool = True


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", catalog_page)
    router.add_get("/new/{template}", new_form)
    router.add_post("/new/{template}", submit)
    router.add_post("/new/{template}/preview", live_panel)


def as_user(request: web.Request) -> Kube:
    ident = request["identity"]
    return impersonating(request.app[PORTAL].kube, ident.user, ident.groups)


def app_link(namespace: str, name: str) -> str:
    return f"/apps/{quote(namespace, safe='')}/{quote(name, safe='')}"


async def catalog_page(request: web.Request) -> web.Response:
    snap = await request.app[PORTAL].source.get()
    query = request.query.get("q", "")[:200]
    found = search.search(snap.templates, query)
    typical = {e.name: preview.typical(e.shown, snap.policy) for e in found}
    currency = preview.cost.Prices.from_policy(snap.policy.pricing).currency
    return page(
        request, "catalog", title="Template catalog", entries=found, query=query, typical=typical, currency=currency
    )


def _teams(snap: Snapshot, groups: tuple[str, ...]) -> list[api.Team]:
    return [t for t in snap.policy.teams or [] if set(t.groups or []) & set(groups)]


def _namespaces(teams: list[api.Team]) -> list[str]:
    """The user's teams' namespaces that are names, not patterns (suggested in the form)."""
    return [n for t in teams for n in t.namespaces or [] if not any(c in n for c in "*?[")]


def _team_for(teams: list[api.Team], namespace: str) -> str | None:
    return next(
        (t.name for t in teams if any(fnmatch.fnmatchcase(namespace, p) for p in t.namespaces or [])), None
    ) or (teams[0].name if teams else None)


def _template(request: web.Request, snap: Snapshot) -> api.AppTemplateSpec:
    """The template of the path; a page saying which ones there are when it is not in the catalog."""
    name = request.match_info["template"]
    try:
        return catalog.resolve(name, snap.templates).template
    except catalog.ResolutionError as exc:
        page = message(request, 404, "No such template", str(exc), href="/", text="The catalog")
        raise web.HTTPNotFound(body=page.body, content_type="text/html") from None


async def _evaluate(
    request: web.Request, values: dict[str, str], *, submitted_once: bool = True
) -> tuple[forms.Form, preview.Panel, dict[str, Any], list[str]]:
    """The form with its problems (at the fields once it was submitted), the live panel, the
    MicroApp and the problems of reading the form."""
    snap = await request.app[PORTAL].source.get()
    ident = request["identity"]
    template = _template(request, snap)
    submitted = forms.Submitted(values)
    teams = _teams(snap, ident.groups)
    team = _team_for(teams, submitted.get("namespace") or next(iter(_namespaces(teams)), ""))
    body, unreadable = forms.microapp(template, submitted, team=team)
    panel = preview.build(
        body,
        templates=snap.templates,
        policy=snap.policy,
        budgets=snap.budgets,
        username=ident.user,
        groups=ident.groups,
        problems=unreadable,
    )
    form = forms.build(
        template,
        submitted,
        owner=ident.user,
        namespaces=_namespaces(teams),
        cost_center=bool((snap.policy.guardrails or api.Guardrails()).require_cost_center),
        problems=panel.findings if submitted_once else (),
        team=team,
    )
    return form, panel, body, unreadable


def _draw(
    request: web.Request, form: forms.Form, panel: preview.Panel, body: dict[str, Any], **extra: Any
) -> web.Response:
    """The new-app page: the form, the panel, the YAML view of ``body`` and a fresh form token."""
    from .propose import team_target

    token = request.app[PORTAL].tokens.issue(request["identity"].user)
    snap = request.app[PORTAL].source.snapshot
    target = team_target(snap, body) if snap is not None else None
    return page(
        request,
        "new",
        through_git=target.repo_url if target is not None else None,
        title=f"New {form.template} app",
        form=form,
        panel=panel,
        csrf=token,
        microapp_yaml=forms.as_yaml(body),
        **extra,
    )


async def new_form(request: web.Request) -> web.Response:
    form, panel, body, _ = await _evaluate(request, {}, submitted_once=False)
    return _draw(request, form, panel, body, outcome=None, show_errors=False)


def _values(request: web.Request) -> dict[str, str]:
    return {k: str(v) for k, v in request["form"].items() if k not in ("csrf", "action", "yaml")}


async def live_panel(request: web.Request) -> web.Response:
    """The panel alone, for htmx as the user types (no change is made)."""
    _, panel, _, _ = await _evaluate(request, _values(request))
    return web.Response(text=html.portal("panel", panel=panel), content_type="text/html")


async def submit(request: web.Request) -> web.Response:
    """The form posted: "Check" (a dry run as the user), "Create" (a create as the user), or the
    YAML view switched back to the form ("Use this YAML")."""
    if request["form"].get("action") == "yaml":
        return await _from_yaml(request)
    from . import propose  # (propose imports this module)

    form, panel, body, unreadable = await _evaluate(request, _values(request))
    action = request["form"].get("action")
    create = action == "create"
    if unreadable:
        return _draw(request, form, panel, body, outcome=None, show_errors=True)
    meta = body["metadata"]
    target = propose.team_target(await request.app[PORTAL].source.get(), body)
    if (create and target is not None) or (action == "propose" and target is None):
        why = (
            f"team {form.team} ships through Git: propose the app instead; nothing is live until the change is merged"
            if create
            else f"team {form.team or '(none yet)'} names no Git repository in the PlatformPolicy: create it instead"
        )
        return _draw(request, form, panel, body, outcome=Outcome("bad", "Not sent", (why,)), show_errors=True)
    warnings: list[str] = []
    query = {"fieldManager": FIELD_MANAGER, **({} if create else {"dryRun": "All"})}
    try:
        await as_user(request).request(
            "POST", MICROAPP.path(meta["namespace"]), body=body, query=query, warnings=warnings
        )
    except KubeError as exc:
        outcome = refusal(exc, "create" if create else "check", meta["namespace"], meta["name"])
        return _draw(request, form, panel, body, outcome=outcome, show_errors=True)
    if create:
        raise web.HTTPSeeOther(app_link(meta["namespace"], meta["name"]))
    if action == "propose" and target is not None:
        return await propose.create(
            request, body, target, currency=panel.currency, estimate=panel.estimate, findings=list(panel.findings),
            redraw=lambda outcome: _draw(request, form, panel, body, outcome=outcome, show_errors=True),
        )  # fmt: skip
    lines = tuple(warnings) or ("the API server, RBAC and the admission webhook accept it",)
    outcome = Outcome("ok", "Check passed: the cluster would create this app", lines)
    return _draw(request, form, panel, body, outcome=outcome, show_errors=True)


async def _from_yaml(request: web.Request) -> web.Response:
    snap = await request.app[PORTAL].source.get()
    template = _template(request, snap)
    values, problems = forms.from_yaml(template, str(request["form"].get("yaml", "")))
    form, panel, body, _ = await _evaluate(request, values or _values(request))
    if problems:
        outcome = Outcome("bad", "The YAML was not taken whole", tuple(problems))
        return _draw(request, form, panel, body, outcome=outcome, show_errors=False)
    return _draw(request, form, panel, body, outcome=None, show_errors=True)


def refusal(exc: KubeError, action: str, namespace: str, name: str) -> Outcome:
    """The API server's answer in words: the webhook's refusal verbatim, RBAC's as who may not do what."""
    verb = "Create" if action == "create" else "Check"
    if exc.status == 409 or "already exists" in exc.message:
        return Outcome(
            "bad",
            f"{verb}: MicroApp {namespace}/{name} already exists",
            (f"MicroApp {name} already exists in namespace {namespace}; pick another name, or open it",),
            app_link(namespace, name),
            f"MicroApp {namespace}/{name}",
        )
    if "admission webhook" in exc.message:
        return Outcome("bad", f"{verb}: refused by the platform's policy", tuple(exc.message.splitlines()))
    if exc.status == 403:
        return Outcome(
            "bad",
            f"{verb}: not allowed",
            (
                f"you may not create MicroApps in namespace {namespace}: ask your team's namespace admin or the "
                "platform team for the role that creates MicroApps there",
                f"the API server said: {exc.message}",
            ),
        )
    return Outcome("bad", f"{verb}: the cluster refused it ({exc.status})", tuple(exc.message.splitlines()))
