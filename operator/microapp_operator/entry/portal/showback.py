"""A team's showback (``/teams/<team>``) and its CSV for chargeback (``/teams/<team>/showback.csv``).

Who may see it: the team's members (a group of the team in the PlatformPolicy) and platform
admins (``PlatformPolicy.spec.platformAdminGroups``, the groups that may act for any team: the
policy's own notion, also what may approve public exposure). Anyone else gets a 403 page naming
the groups that may.

What it reads: the apps AS THE USER, one list per namespace of the team (a namespace pattern such
as ``t-*`` needs one cluster-wide list, also as the user, filtered to the pattern; a namespace
the user may not list is named on the page, never read with the portal's rights); the TeamBudget,
the templates and the policy from the portal's cache (the portal's own identity: a member may
not read the TeamBudget, but is shown its figures); the last 30 days from the Prometheus
``spec.activity.prometheusUrl`` names (``runtime.showback``: range queries over the operator's
cost series), as the portal (the series are the operator's, the team's members may see them).
The figures are ``core.showback``'s; the page is ``presentation.showback.ShowbackView``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from ...api import types as api
from ...api.kinds import MICROAPP
from ...core import showback as sb
from ...core.guardrails import admin_groups
from ...presentation import showback as view
from ...runtime import showback as history
from ...runtime.kube import KubeError, impersonating
from .common import PORTAL, message, page
from .source import Snapshot

PATTERN = "*?["
log = logging.getLogger(__name__)


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/teams/{team:[a-z0-9-]+}.csv", team_csv)
    router.add_get("/teams/{team:[a-z0-9-]+}/showback.csv", team_csv)
    router.add_get("/teams/{team}", team_page)


def team_of(policy: api.PlatformPolicySpec, name: str) -> api.Team | None:
    return next((t for t in policy.teams or [] if t.name == name), None)


def access(team: api.Team, groups: tuple[str, ...], policy: api.PlatformPolicySpec) -> str | None:
    """``member``, ``admin`` (a platform admin outside the team) or None. No side effects."""
    if set(groups) & set(team.groups or []):
        return "member"
    if set(groups) & admin_groups(policy):
        return "admin"
    return None


def who_may(team: api.Team, policy: api.PlatformPolicySpec) -> str:
    """The sentence a refused person reads: which groups may see the team's showback."""
    members = ", ".join(team.groups or []) or "(no group: the policy names none)"
    admins = ", ".join(sorted(g for g in admin_groups(policy) if not g.startswith("system:")))
    tail = f"; platform admins ({admins}) may see every team's" if admins else ""
    return f"team {team.name}'s showback is shown to its members (groups {members}){tail}"


@dataclass(frozen=True)
class Read:
    apps: tuple[dict[str, Any], ...]
    unreadable: tuple[str, ...]  # namespaces (or patterns) the user may not list, in words


async def read_apps(request: web.Request, namespaces: list[str]) -> Read:
    """The MicroApps in ``namespaces`` as the user may list them: one list per namespace (one
    cluster-wide list, as the user, only for namespace patterns such as ``t-*``)."""
    ident = request["identity"]
    kube = impersonating(request.app[PORTAL].kube, ident.user, ident.groups)
    names = sorted({n for n in namespaces if not any(c in n for c in PATTERN)})
    patterns = sorted({n for n in namespaces if any(c in n for c in PATTERN)})

    async def one(namespace: str | None) -> list[dict[str, Any]] | str:
        try:
            return (await kube.list(MICROAPP, namespace=namespace)).get("items") or []
        except KubeError as exc:
            if exc.status not in (401, 403):
                raise
            if namespace is None:
                return (
                    f"namespaces matching {', '.join(patterns)}: you may not list MicroApps in all namespaces, "
                    "so apps there are not shown"
                )
            return f"namespace {namespace}: you may not list MicroApps there, so its apps are not shown"

    found = await asyncio.gather(*(one(n) for n in names), *([one(None)] if patterns else []))
    apps: dict[tuple[str, str], dict[str, Any]] = {}
    unreadable = []
    for where, got in zip([*names, *(["*"] if patterns else [])], found, strict=True):
        if isinstance(got, str):
            unreadable.append(got)
            continue
        for body in got:
            meta = body.get("metadata") or {}
            if where != "*" or any(fnmatch.fnmatchcase(meta.get("namespace", ""), p) for p in patterns):
                apps[(meta.get("namespace", ""), meta.get("name", ""))] = body
    return Read(tuple(apps.values()), tuple(unreadable))


def budget_of(snap: Snapshot, team: str) -> dict[str, Any] | None:
    """The team's TeamBudget (``spec.team``; by name where no spec names the team)."""
    mine = [b for b in snap.budgets if ((b.get("spec") or {}).get("team") or b["metadata"]["name"]) == team]
    return mine[0] if mine else None


def compute(
    snap: Snapshot, team: str, apps: tuple[dict[str, Any], ...], *, now: datetime, window: timedelta = history.WINDOW
) -> sb.TeamShowback:
    """The team's showback now from what was read. No side effects (``now`` comes in)."""
    hours = (snap.policy.pricing.hours_per_month if snap.policy.pricing else None) or 730
    currency = (snap.policy.pricing.currency if snap.policy.pricing else None) or "USD"
    lines = [
        sb.app_cost(
            body,
            awake=sb.awake_estimate(body, templates=snap.templates, policy=snap.policy),
            now=now,
            since=now - window,
            hours_per_month=hours,
        )
        for body in apps
    ]
    return sb.team_showback(team, lines, budget=budget_of(snap, team), currency=currency)


async def showback(request: web.Request) -> tuple[sb.TeamShowback, str | None, tuple[str, ...]] | web.Response:
    """The showback of the path's team (with the window where Prometheus answers), the reason
    there is no window, and the namespaces not read; or the page that refuses."""
    name = request.match_info["team"]
    snap = await request.app[PORTAL].source.get()
    team = team_of(snap.policy, name)
    if team is None:
        return message(request, 404, "No such team", f"the PlatformPolicy has no team {name!r}")
    if access(team, request["identity"].groups, snap.policy) is None:
        return message(
            request,
            403,
            "Not allowed",
            f"you ({request['identity'].user}) are not a member of team {team.name}",
            who_may(team, snap.policy) + ": ask the team or the platform team to add you to one of those groups",
        )
    read = await read_apps(request, list(team.namespaces or []))
    now = datetime.now(UTC)
    show = compute(snap, team.name, read.apps, now=now)
    url = (snap.policy.activity.prometheus_url if snap.policy.activity else None) or ""
    note = "no Prometheus is named in the PlatformPolicy (spec.activity.prometheusUrl)"
    if url:
        hours = (snap.policy.pricing.hours_per_month if snap.policy.pricing else None) or 730
        try:
            show = sb.with_history(
                show, await history.history(url, team.name, now=now, timeout=10), hours_per_month=hours
            )
            note = ""
        except history.HistoryUnavailable as exc:
            log.warning("showback history unavailable team=%s error=%s", team.name, exc)
            note = f"the last 30 days are not shown: {exc}"
    return show, note or None, read.unreadable


async def team_page(request: web.Request) -> web.Response:
    got = await showback(request)
    if isinstance(got, web.Response):
        return got
    show, note, unreadable = got
    shown = view.build(show, history_note=note)
    return page(request, "showback", title=f"Showback: team {show.team}", show=shown, unreadable=unreadable)


async def team_csv(request: web.Request) -> web.Response:
    got = await showback(request)
    if isinstance(got, web.Response):
        return got
    show, _, _ = got
    return web.Response(
        text=sb.to_csv(show),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{show.team}-showback.csv"'},
    )
