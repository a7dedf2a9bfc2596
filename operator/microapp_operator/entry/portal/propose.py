"""Propose a change through Git where an app is managed by GitOps, instead of applying it.

An app is GitOps-managed when it carries an Argo CD tracking annotation (the Application's
``repoURL``, ``path`` and ``targetRevision``, read as the portal) or its team has
``PlatformPolicy.spec.teams[].git``. Its edit form offers "Propose" instead of "Apply", and
``POST /apps/<namespace>/<name>/propose-delete`` proposes a commit that removes its file (the
app's page's Delete uses it for such an app; ``GET`` on the same path is the confirmation page).

Every proposal is dry-run as the user first (the API server, RBAC and the admission webhook
answer as for an apply), then ``runtime.gitpush`` clones, commits with the user as author and
the portal as committer and pushes a new ``microapp/<namespace>/<name>-<short id>`` branch with
the credential from the Secret the policy names (in the portal's own namespace). Nothing is live
until the change is merged; the page says so.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from ...api import types as api
from ...api.kinds import MICROAPP
from ...core import cost
from ...core import gitpropose as gp
from ...presentation import diff
from ...runtime import gitpush
from ...runtime.kube import KubeError
from .common import PORTAL, message, page
from .pages import Outcome, app_link, as_user
from .source import Snapshot

log = logging.getLogger(__name__)
NAMESPACE_ENV = "MICROAPP_PORTAL_NAMESPACE"  # where the push credential's Secret is (default: the Pod's own)
ARGOCD_NAMESPACE_ENV = "MICROAPP_ARGOCD_NAMESPACE"  # Argo CD's own namespace (default argocd)
SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
NOT_LIVE = (
    "Nothing is live until this change is merged: the cluster changes when the GitOps tool syncs the merged branch."
)


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/apps/{namespace}/{name}/propose-delete", delete_form)
    router.add_post("/apps/{namespace}/{name}/propose-delete", propose_delete)


def delete_link(namespace: str, name: str) -> str:
    return app_link(namespace, name) + "/propose-delete"


def portal_namespace() -> str:
    """The portal's own namespace: ``$MICROAPP_PORTAL_NAMESPACE``, else its ServiceAccount's."""
    found = os.environ.get(NAMESPACE_ENV, "").strip()
    if found:
        return found
    try:
        return SA_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"


async def target_of(request: web.Request, app: dict[str, Any], snap: Snapshot) -> tuple[gp.Target | None, str | None]:
    """Where a change to ``app`` is proposed (None: it is applied), or why a GitOps-managed app
    cannot be proposed to (then it is neither applied nor proposed: its GitOps tool would undo an
    apply)."""
    try:
        found = await gitpush.application_target(
            request.app[PORTAL].kube, app, argocd_namespace=os.environ.get(ARGOCD_NAMESPACE_ENV, "argocd")
        )
        if found is None:
            team = ((app.get("metadata") or {}).get("annotations") or {}).get(api.TEAM_ANNOTATION, "")
            found = gp.target_from_policy(snap.policy, team)
    except gp.Refused as exc:
        return None, str(exc)
    except KubeError as exc:
        return None, f"the Argo CD Application could not be read ({exc.status}: {exc.message})"
    return found, None


def gitops_managed(app: dict[str, Any], snap: Snapshot) -> bool:
    """Whether changes to ``app`` go through Git (no cluster read: for the app page's buttons)."""
    annotations = (app.get("metadata") or {}).get("annotations") or {}
    team = annotations.get(api.TEAM_ANNOTATION, "")
    return bool(annotations.get(gp.TRACKING_ID)) or gp.target_from_policy(snap.policy, team) is not None


async def credential(request: web.Request, target: gp.Target) -> gitpush.Credential | None:
    """The push credential from the Secret the policy names (read as the portal), or None."""
    name = target.credentials_secret
    if not name:
        return None
    ns = portal_namespace()
    try:
        secret = await request.app[PORTAL].kube.request("GET", f"/api/v1/namespaces/{ns}/secrets/{name}")
    except KubeError as exc:
        if exc.status == 404:
            raise gitpush.ProposalFailed(
                f"the push credential's Secret {ns}/{name} is not there: ask the platform team to create it",
                content=None,
            ) from None
        raise gitpush.ProposalFailed(
            f"the portal may not read the push credential's Secret {ns}/{name} ({exc.status}): "
            "ask the platform team to grant it by resourceNames",
            content=None,
        ) from None
    return gitpush.credential_from_secret(secret, name=f"{ns}/{name}")


def author(user: str) -> tuple[str, str]:
    """The commit's author: the signed-in user (an e-mail address where the user name is one)."""
    return user, user if "@" in user else ""


async def _push(
    request: web.Request, body: dict[str, Any], target: gp.Target, operation: gp.Operation, description: str
) -> gitpush.Proposal:
    name, email = author(request["identity"].user)
    cred = await credential(request, target)
    return await gitpush.propose(
        body,
        target=target,
        operation=operation,
        author_name=name,
        author_email=email,
        credential=cred,
        description=description,
    )


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


async def edit(
    request: web.Request,
    live: dict[str, Any],
    after: dict[str, Any],
    report: diff.Report,
    *,
    snap: Snapshot,
    redraw: Any,
) -> web.Response:
    """The edited app (already dry-run as the user) proposed on a new branch; the form again,
    with what was typed and why, when it could not be."""
    target, why_not = await target_of(request, live, snap)
    if target is None:
        reason = why_not or "this app is not managed through Git: apply the change instead"
        return await redraw(request, outcome=Outcome("bad", "Not proposed", (reason,)), status=409)
    meta = live["metadata"]
    text = gp.description(
        operation="edit",
        namespace=meta["namespace"],
        name=meta["name"],
        currency=report.currency,
        monthly_before=_money(report.cost_before),
        monthly_after=_money(report.cost_after),
        findings=list(report.findings_new),
        author=request["identity"].user,
    )
    try:
        done = await _push(request, after, target, "edit", text)
    except gitpush.ProposalFailed as exc:
        log.warning("proposal failed app=%s/%s why=%s", meta["namespace"], meta["name"], exc.reason)
        outcome = Outcome(
            "bad", "Not proposed: the push failed", (exc.reason, "nothing was pushed; your changes are kept below")
        )
        return await redraw(request, outcome=outcome, proposal_failed=exc.content, status=502)
    return _proposed(request, live, target, done, "edit")


def team_target(snap: Snapshot, body: dict[str, Any]) -> gp.Target | None:
    """Where a new app of this team is proposed: its team's ``teams[].git`` (None: created directly)."""
    team = ((body.get("metadata") or {}).get("annotations") or {}).get(api.TEAM_ANNOTATION, "")
    return gp.target_from_policy(snap.policy, team) if team else None


async def create(
    request: web.Request, body: dict[str, Any], target: gp.Target, *, currency: str, estimate: str | None,
    findings: list[str], redraw: Any,
) -> web.Response:  # fmt: skip
    """A new app of a team that ships through Git (already dry-run as the user) proposed as a new
    file in the team's folder; the form again, with everything typed and why, when it could not be."""
    meta = body["metadata"]
    text = gp.description(
        operation="create", namespace=meta["namespace"], name=meta["name"], currency=currency,
        monthly_before=None, monthly_after=estimate, findings=findings, author=request["identity"].user,
    )  # fmt: skip
    try:
        done = await _push(request, body, target, "create", text)
    except gitpush.ProposalFailed as exc:
        log.warning("proposal failed app=%s/%s why=%s", meta["namespace"], meta["name"], exc.reason)
        return redraw(
            Outcome("bad", "Not proposed: the push failed", (exc.reason, "nothing was pushed; your form is kept"))
        )
    return _proposed(request, body, target, done, "create")


def _proposed(
    request: web.Request, app: dict[str, Any], target: gp.Target, done: gitpush.Proposal, operation: str
) -> web.Response:
    meta = app["metadata"]
    ns, name = meta["namespace"], meta["name"]
    verb = {"delete": "deleting", "create": "creating"}.get(operation, "the change to")
    return page(
        request,
        "proposed",
        title=f"Proposed {verb} MicroApp {ns}/{name}",
        proposal=done,
        target=target,
        not_live=NOT_LIVE,
        app_href=app_link(ns, name),
        namespace=ns,
        name=name,
    )


async def delete_form(request: web.Request) -> web.Response:
    """The confirmation page: the repository, the file's removal, and one button."""
    from .edit import Stop, read_app

    try:
        ns, name, app = await read_app(request)
    except Stop as stop:
        return stop.response
    snap = await request.app[PORTAL].source.get()
    target, why_not = await target_of(request, app, snap)
    return page(
        request,
        "propose_delete",
        title=f"Delete MicroApp {ns}/{name} through Git",
        namespace=ns,
        name=name,
        target=target,
        why_not=why_not,
        action=delete_link(ns, name),
        app_href=app_link(ns, name),
        csrf=request.app[PORTAL].tokens.issue(request["identity"].user),
        not_live=NOT_LIVE,
    )


async def propose_delete(request: web.Request) -> web.Response:
    """``POST /apps/<ns>/<name>/propose-delete``: a dry-run delete as the user, then a commit
    removing the app's file on a new ``microapp/*`` branch; the forge's link and the
    description on the page."""
    from .edit import Stop, read_app

    try:
        ns, name, app = await read_app(request)
    except Stop as stop:
        return stop.response
    snap = await request.app[PORTAL].source.get()
    target, why_not = await target_of(request, app, snap)
    if target is None:
        reason = why_not or f"MicroApp {ns}/{name} is not managed through Git: delete it from its page"
        return message(request, 409, "Not proposed", reason, href=app_link(ns, name), text=f"MicroApp {ns}/{name}")
    # dryRun in the body too: with a body the API server reads its DeleteOptions, not the query.
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background", "dryRun": ["All"]}
    try:
        await as_user(request).request("DELETE", MICROAPP.path(ns, name), body=body, query={"dryRun": "All"})
    except KubeError as exc:
        if exc.status == 403:
            return message(
                request,
                403,
                "Not allowed",
                f"you may not delete MicroApps in namespace {ns}: ask the app's team",
                f"the API server said: {exc.message}",
            )
        return message(request, 422, "The cluster refused the delete", exc.message)
    status_cost = ((app.get("status") or {}).get("cost") or {}) or {}
    text = gp.description(
        operation="delete",
        namespace=ns,
        name=name,
        currency=str(status_cost.get("currency") or cost.Prices.from_policy(snap.policy.pricing).currency),
        monthly_before=status_cost.get("estimatedMonthly"),
        monthly_after="0",
        findings=[],
        author=request["identity"].user,
    )
    try:
        done = await _push(request, app, target, "delete", text)
    except gitpush.ProposalFailed as exc:
        return message(
            request,
            502,
            "Not proposed: the push failed",
            exc.reason,
            "nothing was pushed and nothing was deleted",
            href=delete_link(ns, name),
            text="Try again",
        )
    return _proposed(request, app, target, done, "delete")
