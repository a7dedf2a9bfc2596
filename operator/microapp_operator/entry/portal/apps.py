"""The portal's day-2 pages: "My apps" (``/apps``) and an app's page with its actions
(``/apps/<namespace>/<name>``; paths and names: DESIGN.md, "Portal").

Everything is read and written as the user (``Kube.impersonating``): each of their teams'
namespaces is listed on its own (never a cluster-wide list), the buttons follow the API server's
answer to a SelfSubjectAccessReview made as them, and each action is a PATCH or DELETE as them
with field manager ``microapp-portal``: RBAC and the admission webhook decide, the page explains.
The list is read from per-person feeds (``feeds``: a list, then a watch, as the person) and
stays live through one fragment (``?part=list``) polled by htmx, answered 204 when nothing
changed; the view models are ``presentation.myapps`` and ``presentation.appcontrols``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web

from ...api import types as api
from ...api.kinds import MICROAPP
from ...core import actions
from ...presentation import appcontrols, explain, forms, html, myapps
from ...runtime.kube import Kube, KubeError
from .. import explaincmd
from . import propose
from .common import PORTAL, message, page
from .feeds import Feeds
from .pages import FIELD_MANAGER, _namespaces, _teams, app_link, as_user
from .source import Snapshot

SETTLED = {("Ready", "True"), ("Stalled", "True")}  # the app's page stops refreshing at these
POLL = "5s"  # how often My apps asks for its one fragment
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
FEEDS = web.AppKey("feeds", Feeds)  # set by server.make_app

# What an app managed through Git changes by a proposal, and where (its spec and its existence).
GIT_OWNED = {"delete": "propose-delete", "scale": "edit"}


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/apps", my_apps)
    router.add_get("/apps/{namespace}/{name}", app_page)
    router.add_post("/apps/{namespace}/{name}", act)


async def _rows(
    request: web.Request, snap: Snapshot, teams: list[api.Team], namespace: str
) -> list[myapps.AppRow] | str:
    """One namespace's rows from the user's feed (listed and watched as them), or why the API
    server would not list it for them."""
    feed = await request.app[FEEDS].get(request["identity"], namespace)
    if feed.refused is not None:
        return feed.refused
    rules = myapps.Rules(snap.policy)
    return feed.rows_of(repr((teams, snap.policy.lifecycle)), lambda obj: myapps.row(obj, teams=teams, rules=rules))


async def my_apps(request: web.Request) -> web.StreamResponse:
    """The apps in the user's teams' namespaces, each namespace as the user; with ``part=list``
    only the live fragment (204 when it is the one the browser has)."""
    snap = await request.app[PORTAL].source.get()
    ident = request["identity"]
    teams = _teams(snap, ident.groups)
    spaces = list(dict.fromkeys(_namespaces(teams)))
    found = await asyncio.gather(*(_rows(request, snap, teams, ns) for ns in spaces))
    view = myapps.build(
        dict(zip(spaces, found)),
        user=ident.user,
        groups=ident.groups,
        teams=teams,
        policy=snap.policy,
        query=myapps.Query.parse(request.query),
        now=datetime.now(UTC),
    )
    done = request.query.get("deleted", "")
    if request.query.get("part") == "list":
        if request.query.get("v") == view.digest:
            return web.Response(status=204)
        return web.Response(text=html.portal("apps_list", view=view, poll=POLL), content_type="text/html")
    deleted = done if done.count("/") == 1 and all(forms.NAME.fullmatch(p) for p in done.split("/")) else None
    return page(request, "apps", title="My apps", view=view, poll=POLL, deleted=deleted)


async def _may(kube: Kube, namespace: str, name: str, verb: str) -> bool:
    """The API server's answer to "may I ``verb`` this MicroApp?", asked as the user."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "namespace": namespace,
                "verb": verb,
                "group": MICROAPP.group,
                "resource": MICROAPP.plural,
                "name": name,
            }
        },
    }
    try:
        answer = await kube.request("POST", REVIEWS, body=review, counted=False)
    except KubeError:
        return False  # no answer: no button (the action itself would still be asked)
    return bool((answer.get("status") or {}).get("allowed"))


def _valid(request: web.Request) -> tuple[str, str] | web.Response:
    ns, name = request.match_info["namespace"], request.match_info["name"]
    if not (forms.NAME.fullmatch(ns) and forms.NAME.fullmatch(name)):
        return message(request, 404, "No such app", f"{ns}/{name} is not a MicroApp's namespace and name")
    return ns, name


async def app_page(request: web.Request) -> web.Response:
    """The explain view as the user, with the actions they may take."""
    checked = _valid(request)
    if isinstance(checked, web.Response):
        return checked
    ns, name = checked
    snap = await request.app[PORTAL].source.get()
    member_of = {t.name for t in _teams(snap, request["identity"].groups)}
    kube = as_user(request)
    try:
        # The budgets and the policy from the portal's cache (no cluster-wide list per page); the
        # team's figures are shown to its members only.
        shared = (list(snap.budgets), snap.policy.model_dump(by_alias=True, exclude_none=True))
        seen, may_patch, may_delete = await asyncio.gather(
            explaincmd.gather(kube, ns, name, shared=shared),
            _may(kube, ns, name, "patch"),
            _may(kube, ns, name, "delete"),
        )
    except KubeError as exc:
        if exc.status in (401, 403):
            return message(
                request, 403, "Not allowed", f"you may not read MicroApps in namespace {ns}: ask the app's team"
            )
        raise
    if seen is None:
        return message(
            request,
            404,
            "No such app",
            f"MicroApp {ns}/{name} does not exist (or not yet)",
            href="/apps",
            text="My apps",
        )
    body = seen.pop("app")
    team = ((body.get("metadata") or {}).get("annotations") or {}).get(api.TEAM_ANNOTATION)
    if team not in member_of:
        seen["budgets"] = explain.DENIED
    expl = explain.build(body, **seen, now=datetime.now(UTC))
    controls = appcontrols.build(
        body,
        may={"patch": may_patch, "delete": may_delete},
        max_replicas=_max_replicas(request),
        done=request.query.get("done"),
        gitops=propose.gitops_managed(body, snap),
    )
    settled = any((c.type, c.status) in SETTLED for c in expl.conditions)
    poll = None if settled else app_link(ns, name)
    token = request.app[PORTAL].tokens.issue(request["identity"].user) if controls.shown else ""
    return page(
        request,
        "portal_app",
        title=f"MicroApp {ns}/{name}",
        app=expl,
        now=expl.now,
        poll=poll,
        controls=controls,
        csrf=token,
    )


def _max_replicas(request: web.Request) -> int | None:
    snap = request.app[PORTAL].source.snapshot
    guardrails = snap.policy.guardrails if snap is not None else None
    return guardrails.max_replicas if guardrails is not None else None


async def act(request: web.Request) -> web.Response:
    """One action, as the user: a JSON merge patch (field manager ``microapp-portal``) or, once
    the app's name was typed, a delete of exactly the object the page showed (its uid)."""
    checked = _valid(request)
    if isinstance(checked, web.Response):
        return checked
    ns, name = checked
    form = {k: str(v) for k, v in request["form"].items()}
    action = form.get("action", "")
    label = appcontrols.LABELS.get(action, "That action")
    kube = as_user(request)
    back = app_link(ns, name)
    try:
        if action in GIT_OWNED and propose.gitops_managed(
            await kube.request("GET", MICROAPP.path(ns, name)), await request.app[PORTAL].source.get()
        ):
            where = f"/apps/{quote(ns, safe='')}/{quote(name, safe='')}/" + GIT_OWNED[action]
            return message(
                request, 409, f"{label}: not sent",
                f"MicroApp {ns}/{name} is managed through Git: a change made here would be undone by the next sync",
                "propose it instead; nothing is live until the change is merged", href=where, text="Propose it",
            )  # fmt: skip
        if action == "delete":
            seen = {"metadata": {"namespace": ns, "name": name, "uid": form.get("uid", "")}}
            order = actions.delete(seen, confirmation=form.get("confirm", ""))
            await kube.request("DELETE", MICROAPP.path(ns, name), body=order.body)
            raise web.HTTPSeeOther(f"/apps?deleted={quote(ns, safe='')}/{quote(name, safe='')}")
        body = appcontrols.patch(action, form, now=datetime.now(UTC), max_replicas=_max_replicas(request))
        await kube.request(
            "PATCH",
            MICROAPP.path(ns, name),
            body=body,
            query={"fieldManager": FIELD_MANAGER},
            content_type="application/merge-patch+json",
        )
    except actions.ActionError as exc:
        return message(request, 422, f"{label}: not sent", str(exc), href=back, text=f"Back to MicroApp {ns}/{name}")
    except KubeError as exc:
        return message(request, _status(exc), f"{label}: refused", *_refusal(exc, action, ns, name), href=back,
                       text=f"Back to MicroApp {ns}/{name}")  # fmt: skip
    raise web.HTTPSeeOther(f"{back}?done={quote(action, safe='')}")


def _status(exc: KubeError) -> int:
    return exc.status if exc.status in (403, 404, 409, 422) else 502


def _refusal(exc: KubeError, action: str, ns: str, name: str) -> tuple[str, ...]:
    """The API server's answer in words: who may not do what, the webhook verbatim, or what changed."""
    verb = "delete" if action == "delete" else "change"
    said = f"the API server said: {exc.message}"
    if exc.status == 403 and "admission webhook" not in exc.message:
        return (
            f"you may not {verb} MicroApp {name} in namespace {ns}: ask your team's namespace admin for the role "
            f"that may {'delete' if action == 'delete' else 'patch'} MicroApps there",
            said,
        )
    if exc.status == 404:
        return (f"MicroApp {ns}/{name} does not exist any more", said)
    if exc.status == 409:
        return (f"MicroApp {ns}/{name} was replaced since the page was drawn: reload it and look again", said)
    return tuple(exc.message.splitlines()) or (f"{exc.status}",)
