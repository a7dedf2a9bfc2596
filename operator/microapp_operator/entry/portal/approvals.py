"""Public-exposure approvals (``/approvals``): the apps waiting, approve or reject with a reason.

Who: members of ``PlatformPolicy.spec.guardrails.publicExposureApprovers`` and platform admins
(``core.approval.may_approve``); anyone else gets a page naming those groups, and no button.
What they see is read AS THE APPROVER, one list per namespace of the policy's teams (a namespace
pattern: one cluster-wide list, still as the approver), so an approver who may not read a
namespace sees it named, not its apps; the portal never lists MicroApps with its own rights.

An approval or a rejection is a JSON merge patch (``core.approval``'s) sent AS THE APPROVER with
the resourceVersion just read: kube-apiserver's RBAC and the admission webhook's identity check
decide exactly as for ``kubectl annotate``; a refusal (a forged POST from someone who is not an
approver) is shown verbatim. Where it is recorded: the annotations ``microapp.dev/public-approved-by``/
``-at`` and ``microapp.dev/public-rejected-by``/``-at``/``-reason`` (``core.approval``), which the
app's page shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ...api import types as api
from ...api.kinds import MICROAPP
from ...core import approval as ap
from ...core.guardrails import admin_groups
from ...presentation import forms
from ...runtime.kube import Kube, KubeError, impersonating
from .common import PORTAL, message, page
from .pages import FIELD_MANAGER, Outcome
from .showback import read_apps


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/approvals", approvals_page)
    router.add_post("/approvals/{namespace}/{name}", decide)


def approver_groups(policy: api.PlatformPolicySpec) -> list[str]:
    """The groups that may approve, as a refused person should read them (no ``system:`` group)."""
    named = set((policy.guardrails or api.Guardrails()).public_exposure_approvers or []) | admin_groups(policy)
    return sorted(g for g in named if not g.startswith("system:"))


def who_may(policy: api.PlatformPolicySpec) -> str:
    groups = approver_groups(policy)
    if not groups:
        return "the PlatformPolicy names no public-exposure approver (spec.guardrails.publicExposureApprovers)"
    return f"public exposure is approved by members of {', '.join(groups)}"


def _as_user(request: web.Request) -> Kube:
    ident = request["identity"]
    return impersonating(request.app[PORTAL].kube, ident.user, ident.groups)


async def _draw(
    request: web.Request, *, outcome: Outcome | None = None, status: int = 200, **kept: str
) -> web.Response:
    snap = await request.app[PORTAL].source.get()
    ident = request["identity"]
    if not ap.may_approve(username=ident.user, groups=ident.groups, policy=snap.policy):
        lines = (f"you ({ident.user}) are not a public-exposure approver", who_may(snap.policy) + ": ask one of them")
        if outcome is not None:  # a change sent anyway: what the cluster answered comes first
            lines = (outcome.title, *outcome.lines, *lines)
        return message(request, 403 if outcome is None else status, "Approvals", *lines)
    namespaces = [n for t in snap.policy.teams or [] for n in t.namespaces or []]
    read = await read_apps(request, namespaces)
    waiting = ap.waiting(read.apps)
    token = request.app[PORTAL].tokens.issue(ident.user)
    return page(
        request,
        "approvals",
        status=status,
        title="Approvals",
        waiting=waiting,
        unreadable=read.unreadable,
        outcome=outcome,
        csrf=token,
        kept=kept,
    )


async def approvals_page(request: web.Request) -> web.Response:
    return await _draw(request)


def refusal(exc: KubeError, namespace: str, name: str) -> Outcome:
    """The API server's answer in words: the webhook's verbatim, RBAC's as who may not do what."""
    if "admission webhook" in exc.message:
        return Outcome("bad", f"Refused by the platform's policy: {namespace}/{name}", tuple(exc.message.splitlines()))
    if exc.status == 403:
        return Outcome(
            "bad",
            f"Not allowed: {namespace}/{name}",
            (
                f"you may not change MicroApps in namespace {namespace}: an approver needs the right to patch "
                "MicroApps there; ask the platform team",
                f"the API server said: {exc.message}",
            ),
        )
    if exc.status == 409:
        return Outcome("bad", f"{namespace}/{name} changed meanwhile", ("look at it again below, then decide",))
    return Outcome("bad", f"The cluster refused it ({exc.status})", tuple(exc.message.splitlines()))


def patch_for(
    body: dict[str, Any], form: dict[str, str], *, user: str, now: datetime
) -> tuple[dict[str, Any] | None, str | None]:
    """The merge patch the form asks for (with the resourceVersion read), or why there is none.
    No side effects."""
    meta = body.get("metadata") or {}
    state = ap.of(body)
    where = f"{meta.get('namespace')}/{meta.get('name')}"
    if state.state != "Waiting":
        return None, f"{where} is {state.state}, not waiting for approval (someone decided meanwhile)"
    if form.get("host", "") != (state.host or ""):
        return None, f"{where} now asks for host {state.host}, not {form.get('host')}: look at it again"
    try:
        if form.get("action") == "approve":
            patch = ap.approve_patch(state, approver=user, now=now)
        elif form.get("action") == "reject":
            patch = ap.reject_patch(approver=user, reason=form.get("reason", ""), now=now)
        else:
            return None, "choose Approve or Reject"
    except ap.ApprovalError as exc:
        return None, str(exc)
    patch["metadata"]["resourceVersion"] = meta.get("resourceVersion")
    return patch, None


async def decide(request: web.Request) -> web.Response:
    """Approve or reject, as the approver; the API server and the webhook decide."""
    ns, name = request.match_info["namespace"], request.match_info["name"]
    if not (forms.NAME.fullmatch(ns) and forms.NAME.fullmatch(name)):
        return message(request, 404, "No such app", f"{ns}/{name} is not a MicroApp's namespace and name")
    form = {k: str(request["form"].get(k, "")) for k in ("action", "host", "reason")}
    user = _as_user(request)
    try:
        body = await user.get(MICROAPP, ns, name)
    except KubeError as exc:
        if exc.status not in (401, 403):
            raise
        why = f"you may not read MicroApps in namespace {ns}, so you cannot decide for {ns}/{name}"
        return await _draw(request, outcome=Outcome("bad", "Not allowed", (why, exc.message)), status=403)
    if body is None:
        return message(request, 404, "No such app", f"MicroApp {ns}/{name} does not exist", href="/approvals")
    patch, problem = patch_for(body, form, user=request["identity"].user, now=datetime.now(UTC))
    kept = {"kept_app": f"{ns}/{name}", "kept_reason": form["reason"]}
    if patch is None:
        return await _draw(request, outcome=Outcome("bad", "Nothing was changed", (problem or "",)), status=409, **kept)
    try:
        await user.request(
            "PATCH",
            MICROAPP.path(ns, name),
            body=patch,
            query={"fieldManager": FIELD_MANAGER},
            content_type="application/merge-patch+json",
        )
    except KubeError as exc:
        status = 403 if exc.status in (400, 403, 422) else 409 if exc.status == 409 else 502
        return await _draw(request, outcome=refusal(exc, ns, name), status=status, **kept)
    link = f"/apps/{ns}/{name}"
    if form["action"] == "approve":
        done = Outcome(
            "ok",
            f"Approved: {ns}/{name}",
            (f"{ns}/{name} goes public at {patch['spec']['host']}; the operator adds its Ingress",),
            link,
        )
    else:
        done = Outcome("ok", f"Rejected: {ns}/{name}", (f"the reason is shown on its page: {form['reason']}",), link)
    return await _draw(request, outcome=done)
