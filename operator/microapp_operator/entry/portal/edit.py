"""Edit a live MicroApp in the portal: ``/apps/<namespace>/<name>/edit``.

1. GET: the app read as the user, the new-app form prefilled from it, with the resourceVersion
   and the app as read (``base``) in hidden fields.
2. "Preview changes": a server-side dry run as the user (``dryRun=All``, field manager
   ``microapp-portal``, no force), then the reconcile decision for the result against the live
   children (``presentation.diff``: what ``microapp diff`` shows), the cost delta and the new
   findings.
3. "Apply": the same apply for real, at the resourceVersion read when the form opened. A 409
   (the app changed meanwhile) shows what changed and keeps what the person typed; a field
   another field manager holds is listed as a conflict and never taken.
4. A GitOps-managed app is not applied: "Propose" (``propose``) writes it to a ``microapp/*``
   branch instead, after the same dry run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from ...api import types as api
from ...api.kinds import KNATIVE_SERVICE, MICROAPP, PODMONITOR
from ...core import budget, catalog, cost
from ...presentation import diff, forms
from ...presentation import edit as model
from ...runtime.kube import KubeError
from .. import diffcmd
from . import propose
from .common import PORTAL, message, page
from .pages import Outcome, app_link, as_user
from .sending import Conflicted, Moved, Sending, refused, resource_version
from .source import Snapshot

log = logging.getLogger(__name__)
HIDDEN = ("csrf", "action", "rv", "base", "yaml")


@dataclass(frozen=True)
class Costs:
    """The cost change, money as strings (None: not priced)."""

    before: str | None
    after: str | None
    delta: str | None
    currency: str


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/apps/{namespace}/{name}/edit", edit_form)
    router.add_post("/apps/{namespace}/{name}/edit", edit_submit)


def edit_link(namespace: str, name: str) -> str:
    return app_link(namespace, name) + "/edit"


class Stop(Exception):
    """A page instead of the form (the app is not there, not readable, its template unknown)."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


async def read_app(request: web.Request) -> tuple[str, str, dict[str, Any]]:
    """The app of the path, read as the user; :class:`Stop` with the page that says why not."""
    ns, name = request.match_info["namespace"], request.match_info["name"]
    if not (forms.NAME.fullmatch(ns) and forms.NAME.fullmatch(name)):
        raise Stop(message(request, 404, "No such app", f"{ns}/{name} is not a MicroApp's namespace and name"))
    try:
        app = await as_user(request).get(MICROAPP, ns, name)
    except KubeError as exc:
        if exc.status in (401, 403):
            raise Stop(
                message(
                    request, 403, "Not allowed", f"you may not read MicroApps in namespace {ns}: ask the app's team"
                )
            ) from None
        raise
    if app is None:
        raise Stop(
            message(request, 404, "No such app", f"MicroApp {ns}/{name} does not exist", href="/apps", text="My apps")
        )
    return ns, name, app


def _template(snap: Snapshot, ref: str, app: dict[str, Any]) -> api.AppTemplateSpec:
    pinned = ((app.get("status") or {}).get("template") or {}).get("version")
    return catalog.resolve(ref, snap.templates, pinned=pinned).template


def _current(app: dict[str, Any]) -> str | None:
    return ((app.get("status") or {}).get("template") or {}).get("version")


async def edit_form(request: web.Request) -> web.Response:
    try:
        ns, name, app = await read_app(request)
    except Stop as stop:
        return stop.response
    snap = await request.app[PORTAL].source.get()
    ref = str((app.get("spec") or {}).get("template") or "")
    try:
        template = _template(snap, ref, app)
    except catalog.ResolutionError as exc:
        return message(request, 409, "This app cannot be edited here", str(exc), "edit its YAML and apply it")
    values = model.prefill(app, template)
    return await _draw(request, app, values, template, base=model.view(app), rv=resource_version(app))


async def _draw(
    request: web.Request,
    app: dict[str, Any],
    values: dict[str, str],
    template: api.AppTemplateSpec,
    *,
    base: dict[str, Any],
    rv: str,
    problems: list[str] | tuple[str, ...] = (),
    outcome: Outcome | None = None,
    report: diff.Report | None = None,
    conflicts: list[model.Conflict] | None = None,
    status: int = 200,
    **extra: Any,
) -> web.Response:
    snap = await request.app[PORTAL].source.get()
    meta = app["metadata"]
    ns, name = meta["namespace"], meta["name"]
    ref = values.get("template") or str((base.get("spec") or {}).get("template") or "")
    found = model.upgrades(ref, _current(app), snap.templates)
    options = model.template_options(str((base.get("spec") or {}).get("template") or ref), _current(app), found)
    if ref not in options:
        options = (*options, ref)
    form = forms.build(
        template,
        forms.Submitted({**values, "name": name, "namespace": ns}),
        owner=request["identity"].user,
        namespaces=[ns],
        cost_center=bool((snap.policy.guardrails or api.Guardrails()).require_cost_center),
        problems=problems,
        team=((meta.get("annotations") or {}).get(api.TEAM_ANNOTATION)),
    )
    choose = forms.Field(
        "template",
        "Template version",
        "select",
        ref,
        "with a range (@^1), a change moves the app to the newest version the range allows; a version picks that one",
        options=options,
    )
    form = replace(form, fields=(choose, *form.fields))
    target, why_not = await propose.target_of(request, app, snap)
    return page(
        request,
        "edit",
        status=status,
        title=f"Edit MicroApp {ns}/{name}",
        namespace=ns,
        name=name,
        app_href=app_link(ns, name),
        action=edit_link(ns, name),
        form=form,
        csrf=request.app[PORTAL].tokens.issue(request["identity"].user),
        rv=rv,
        base=json.dumps(base, sort_keys=True, separators=(",", ":")),
        current=_current(app),
        upgrades=found,
        outcome=outcome,
        report=report,
        diff_text=diff.text(report) if report else "",
        headline=diff.headline(report) if report else "",
        costs=costs(report) if report else None,
        conflicts=conflicts or [],
        target=target,
        gitops_refusal=why_not,
        show_errors=bool(problems),
        **{"proposal": None, "proposal_failed": None, **extra},
    )


def costs(report: diff.Report) -> Costs:
    before, after = report.cost_before, report.cost_after
    delta = after - (before or Decimal(0)) if after is not None else None
    money = cost.money
    shown = None if delta is None else ("+" if delta > 0 else "") + money(delta)
    return Costs(
        money(before) if before is not None else None,
        money(after) if after is not None else None,
        shown,
        report.currency,
    )


def _typed(request: web.Request) -> dict[str, str]:
    return {k: str(v) for k, v in request["form"].items() if k not in HIDDEN}


def _base(request: web.Request, app: dict[str, Any]) -> dict[str, Any]:
    try:
        found = json.loads(str(request["form"].get("base", "")))
    except ValueError:
        found = None
    return found if isinstance(found, dict) and isinstance(found.get("spec"), dict) else model.view(app)


async def edit_submit(request: web.Request) -> web.Response:
    """ "Preview changes" (a dry run and the diff), "Apply" (the change as the user) or "Propose"
    (the change as a Git branch)."""
    try:
        ns, name, live = await read_app(request)
    except Stop as stop:
        return stop.response
    action = str(request["form"].get("action") or "preview")
    typed, base, rv = _typed(request), _base(request, live), str(request["form"].get("rv", ""))
    snap = await request.app[PORTAL].source.get()
    ref = typed.get("template") or str(base["spec"].get("template") or "")
    try:
        template = _template(snap, ref, live)
    except catalog.ResolutionError as exc:
        try:
            template = _template_or_stop(snap, base, live)
        except catalog.ResolutionError:
            return message(request, 409, "This app cannot be edited here", str(exc), "edit its YAML and apply it")
        return await _draw(request, live, typed, template, base=base, rv=rv, problems=[str(exc)], status=422)
    if rv != resource_version(live) and model.view(live) != base:  # what a person edits changed, not only the status
        return await _changed_meanwhile(request, live, typed, base, template)
    # The app as read now is what the edit starts from (the posted base only tells what changed meanwhile).
    base, rv = model.view(live), resource_version(live)
    submitted = forms.Submitted({**typed, "name": name, "namespace": ns})
    team = (base["metadata"].get("annotations") or {}).get(api.TEAM_ANNOTATION)
    form_body, unreadable = forms.microapp(template, submitted, team=team)
    if unreadable:
        return await _draw(request, live, typed, template, base=base, rv=rv, problems=unreadable, status=422)
    form_body["spec"]["template"] = ref
    after = model.desired(base, form_body, changed_fields=model.touched(typed, model.shown(template, base)))
    paths = model.changed(base, after)
    target, why_not = await propose.target_of(request, live, snap)
    sending = Sending(request, live, after, paths, template, target=target, rv=rv)
    try:
        dry = await sending.send(dry_run=True)
        report = await _report(request, snap, sending.live, dry)
        if action == "propose":
            redraw = _redraw(sending.live, typed, template, {"base": base, "rv": sending.rv})
            return await propose.edit(request, sending.live, after, report, snap=snap, redraw=redraw)
        if action != "apply":
            return await _draw(request, sending.live, typed, template, base=base, rv=sending.rv, report=report)
        if target is not None or why_not:
            lines = (why_not or "propose the change instead: its GitOps tool would undo a direct change",)
            outcome = Outcome("bad", "Not applied: this app is managed through Git", lines)
            return await _draw(request, sending.live, typed, template, base=base, rv=sending.rv, outcome=outcome)
        await sending.send(dry_run=False)
    except Moved as moved:
        return await _changed_meanwhile(request, moved.live, typed, base, template)
    except Conflicted as exc:
        outcome = Outcome(
            "bad",
            "Not applied: another tool manages fields you changed",
            tuple(c.words for c in exc.conflicts) or (exc.server,),
        )
        return await _draw(
            request,
            live,
            typed,
            template,
            base=base,
            rv=sending.rv,
            outcome=outcome,
            conflicts=exc.conflicts,
            status=409,
        )
    except KubeError as exc:
        outcome, problems = refused(exc, ns, name)
        return await _draw(
            request, live, typed, template, base=base, rv=sending.rv, problems=problems, outcome=outcome, status=422
        )
    raise web.HTTPSeeOther(app_link(ns, name))


def _redraw(live: dict[str, Any], typed: dict[str, str], template: api.AppTemplateSpec, draw: dict[str, Any]) -> Any:
    """The edit form again as it was posted, with an outcome (a failed push keeps what was typed)."""

    async def again(request: web.Request, **extra: Any) -> web.Response:
        return await _draw(request, live, typed, template, **draw, **extra)

    return again


def _template_or_stop(snap: Snapshot, base: dict[str, Any], live: dict[str, Any]) -> api.AppTemplateSpec:
    try:
        return _template(snap, str(base["spec"].get("template") or ""), live)
    except catalog.ResolutionError:
        return catalog.resolve(str((live.get("spec") or {}).get("template") or ""), snap.templates).template


async def _changed_meanwhile(
    request: web.Request,
    live: dict[str, Any],
    typed: dict[str, str],
    base: dict[str, Any],
    template: api.AppTemplateSpec,
) -> web.Response:
    """Someone changed the app after the form was opened: show what, keep what was typed, take
    the new values for the fields left alone, and open the form again on the app as it is now."""
    now = model.view(live)
    values, both = model.merged(typed, model.shown(template, base), model.shown(template, now))
    lines = [
        "someone changed this app after you opened the form; nothing was applied. Your changes are kept; the "
        "fields you left alone now show the app's new values. Check them, then preview and apply again.",
        *(f"you and they both changed {k}: your value is kept" for k in both),
    ]
    outcome = Outcome("bad", "The app changed since you opened it", tuple(lines))
    changes = diff.unified(diff.app_view(base), diff.app_view(now), "MicroApp")
    changes[:2] = ["--- MicroApp when you opened the form", "+++ MicroApp now"] if changes else []
    return await _draw(
        request,
        live,
        values,
        template,
        base=now,
        rv=resource_version(live),
        outcome=outcome,
        meanwhile=changes,
        status=409,
    )


async def _report(request: web.Request, snap: Snapshot, live: dict[str, Any], after: dict[str, Any]) -> diff.Report:
    """What ``microapp diff`` shows for ``after`` (the dry run's result): the operator's decision
    with the cluster's catalog, policy and team budget, against the live children read as the user."""
    kube = as_user(request)
    absent = frozenset([res.key for res in (KNATIVE_SERVICE, PODMONITOR) if not await _served(request, res)])
    budgets: dict[str, tuple[budget.TeamBudget, dict]] = {}
    for item in sorted(
        snap.budgets, key=lambda i: ((i.get("metadata") or {}).get("creationTimestamp") or "", i["metadata"]["name"])
    ):
        tb = budget.TeamBudget.from_spec(item.get("spec") or {})
        budgets.setdefault(tb.team, (tb, item.get("status") or {}))
    world = diffcmd.Snapshot(list(snap.templates), snap.policy, budgets, absent)
    return await diffcmd.compared(kube, world, live, after, datetime.now(UTC))


async def _served(request: web.Request, res: Any) -> bool:
    """Whether the cluster serves an optional kind (discovery, as the portal)."""
    return await diffcmd._served(request.app[PORTAL].kube, res)
