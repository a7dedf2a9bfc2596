"""The portal's "My apps": one row per MicroApp the user listed in their teams' namespaces, sorted
and filtered as the page's query asks (pure: clock as ``now``, no I/O).

The caller lists each namespace as the user and passes what it got (the items, or the API
server's refusal as a sentence); nothing here reads the cluster. ``health`` is Argo CD's word for
the app, by the rules of ``manifests/argocd/.../MicroApp/health.lua`` (the unit test walks that
folder's test data), so the portal and Argo CD never disagree. The idle and retirement dates are
``core.lifecycle.deadlines``, as on the app's page and in ``microapp explain``.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode

from ..api import types as api
from ..core import lifecycle
from .views import Tone

SORTS = ("name", "team", "phase", "health", "cost", "activity", "next")
HEALTHS = ("Healthy", "Progressing", "Degraded", "Suspended")
_HEALTH_TONE = {"Healthy": Tone.OK, "Progressing": Tone.WARN, "Degraded": Tone.BAD, "Suspended": Tone.INFO}
_PHASE_TONE = {"Running": Tone.OK, "Failed": Tone.BAD, "Retired": Tone.INFO}
_ASLEEP = ("Idle", "Retiring", "Retired", "Suspended")
_STATE = {"Idle": lifecycle.State.IDLE, "Retiring": lifecycle.State.RETIRING, "Retired": lifecycle.State.RETIRED}
_TEXT_LIMIT = 100  # characters of a filter kept
PAGE_SIZE = 100  # rows on a page (sorting and filtering see every app)


@dataclass(frozen=True)
class AppRow:
    """One app in the list: what a person scans for (words and numbers; dates as RFC 3339)."""

    namespace: str
    name: str
    team: str | None
    phase: str
    phase_tone: Tone
    health: str  # Healthy, Progressing, Degraded, Suspended (Argo CD's words)
    health_tone: Tone
    reason: str  # why, in one short phrase: the Stalled or Ready condition's reason, or the phase
    cost: str | None  # status.cost.estimatedMonthly
    currency: str
    last_activity: str | None
    next_kind: str | None  # idles, retires, retired
    next_at: str | None
    link: str
    cost_value: Decimal | None = None  # the cost as a number, for sorting


def _amount(text: Any) -> Decimal | None:
    try:
        return Decimal(text) if isinstance(text, str) else None
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Query:
    """The list's sort and filters, from the page's query string (works without JavaScript)."""

    sort: str = "name"
    descending: bool = False
    text: str = ""  # part of the name or namespace
    team: str = ""
    phase: str = ""
    health: str = ""
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Query:
        """Unknown sorts fall back to the name; filters are cut to a sane length. No side effects."""
        sort = params.get("sort", "name")
        return cls(
            sort=sort if sort in SORTS else "name",
            descending=params.get("order") == "desc",
            text=params.get("q", "").strip()[:_TEXT_LIMIT],
            team=params.get("team", "").strip()[:_TEXT_LIMIT],
            phase=params.get("phase", "").strip()[:_TEXT_LIMIT],
            health=params.get("health", "").strip()[:_TEXT_LIMIT],
            page=int(page) if (page := params.get("page", "1")).isdigit() and 0 < int(page) < 10**6 else 1,
        )

    def params(self, **change: Any) -> dict[str, str]:
        q = replace(self, **change)
        found = {"q": q.text, "team": q.team, "phase": q.phase, "health": q.health}
        out = {k: v for k, v in found.items() if v}
        if q.sort != "name":
            out["sort"] = q.sort
        if q.descending:
            out["order"] = "desc"
        if q.page > 1:
            out["page"] = str(q.page)
        return out

    def href(self, **change: Any) -> str:
        """``/apps?...`` with this query, changed as given."""
        found = urlencode(self.params(**change))
        return "/apps" + (f"?{found}" if found else "")

    def sort_href(self, column: str) -> str:
        """The column's header link: sorted by it, the other way round if it already is."""
        return self.href(sort=column, descending=not self.descending if self.sort == column else False, page=1)

    def aria_sort(self, column: str) -> str | None:
        if column != self.sort:
            return None
        return "descending" if self.descending else "ascending"


@dataclass(frozen=True)
class MyApps:
    """The page: the rows the query keeps, and what the user should know about the rest."""

    rows: tuple[AppRow, ...]  # this page's
    total: int  # apps listed before filtering
    matched: int  # apps the filters keep
    page: int
    pages: int
    teams: tuple[str, ...]
    namespaces: tuple[str, ...]
    problems: tuple[str, ...]  # namespaces the API server would not list for the user, in words
    unlisted: tuple[str, ...]  # namespace patterns of the user's teams (never listed cluster-wide)
    query: Query
    phases: tuple[str, ...]  # the phases present, for the filter
    now: str
    no_team: str | None = None  # the empty page's sentence: what to ask for, and whom
    digest: str = field(default="")  # changes when a row changes (the live update's "nothing new")
    healths: tuple[str, ...] = HEALTHS

    @property
    def live_href(self) -> str:
        """The list's fragment with this query, and the digest the browser has (204 if unchanged)."""
        found = urlencode({**self.query.params(), "part": "list", "v": self.digest})
        return f"/apps?{found}"


def health(app: Mapping[str, Any]) -> tuple[str, str]:
    """Argo CD's health of the app and a short reason (health.lua's rules, first match wins). No side effects."""
    meta, st = app.get("metadata") or {}, app.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Progressing", "Deleting"
    if not st or st.get("observedGeneration") is None:
        return "Progressing", "no status yet"
    if st["observedGeneration"] < (meta.get("generation") or 0):
        return "Progressing", "change not processed yet"
    conds = {c.get("type"): c for c in st.get("conditions") or []}
    phase = st.get("phase") or "Pending"
    stalled = conds.get("Stalled") or {}
    if stalled.get("status") == "True":
        return "Degraded", stalled.get("reason") or "Stalled"
    if phase in _ASLEEP:
        return "Suspended", phase
    reconciling = conds.get("Reconciling") or {}
    if reconciling.get("status") == "True":
        return "Progressing", reconciling.get("reason") or "Reconciling"
    ready = conds.get("Ready") or {}
    if ready.get("status") == "True":
        over = (conds.get("WithinBudget") or {}).get("status") == "False"
        return "Healthy", "over budget" if over else ready.get("reason") or "Ready"
    return "Progressing", ready.get("reason") or "not ready yet"


class Rules:
    """Each distinct ``spec.lifecycle`` read once per page (most apps share the policy's defaults)."""

    def __init__(self, policy: api.PlatformPolicySpec) -> None:
        self.policy = policy.lifecycle
        self.seen: dict[str, lifecycle.Settings] = {}

    def of(self, spec: Mapping[str, Any]) -> lifecycle.Settings:
        raw = spec.get("lifecycle") or {}
        key = repr(sorted(raw.items())) if raw else ""
        if key not in self.seen:
            try:
                asked = api.Lifecycle.model_validate(raw) if raw else None
            except ValueError:
                asked = None  # the webhook refuses such a spec; the app's page says why
            self.seen[key] = lifecycle.settings(asked, self.policy)
        return self.seen[key]


def _team_of(annotations: Mapping[str, str], namespace: str, teams: Sequence[api.Team]) -> str | None:
    team = annotations.get(api.TEAM_ANNOTATION)
    if team:
        return team
    return next((t.name for t in teams if any(fnmatch.fnmatchcase(namespace, p) for p in t.namespaces or [])), None)


def row(app: Mapping[str, Any], *, teams: Sequence[api.Team], rules: Rules) -> AppRow:
    """One app's row. No side effects."""
    meta, st = app.get("metadata") or {}, app.get("status") or {}
    ns, name = meta.get("namespace") or "", meta.get("name") or ""
    annotations = meta.get("annotations") or {}
    phase = st.get("phase") or "Pending"
    word, reason = health(app)
    life = st.get("lifecycle") or {}
    seen = lifecycle.Observed(
        state=_STATE.get(phase, lifecycle.State.ACTIVE),
        snooze_until=lifecycle.timestamp(annotations.get(api.SNOOZE_UNTIL_ANNOTATION)),
        last_activity=lifecycle.timestamp(life.get("lastActivity")),
        idle_since=lifecycle.timestamp(life.get("idleSince")),
        retire_at=lifecycle.timestamp(life.get("retireAt")),
    )
    dates = lifecycle.deadlines(seen, rules.of(app.get("spec") or {}))
    if dates.idles_at is not None:
        kind, at = "idles", dates.idles_at
    elif dates.retires_at is not None:
        kind, at = ("retired" if phase == "Retired" else "retires"), dates.retires_at
    else:
        kind, at = None, None
    cost = st.get("cost") or {}
    return AppRow(
        namespace=ns,
        name=name,
        team=_team_of(annotations, ns, teams),
        phase=phase,
        phase_tone=_PHASE_TONE.get(phase, Tone.WARN),
        health=word,
        health_tone=_HEALTH_TONE[word],
        reason=reason,
        cost=cost.get("estimatedMonthly"),
        currency=cost.get("currency") or "USD",
        last_activity=life.get("lastActivity"),
        next_kind=kind,
        next_at=lifecycle.rfc3339(at),
        link=f"/apps/{quote(ns, safe='')}/{quote(name, safe='')}",
        cost_value=_amount(cost.get("estimatedMonthly")),
    )


def _keep(r: AppRow, q: Query) -> bool:
    text = q.text.lower()
    return (
        (not text or text in r.name.lower() or text in r.namespace.lower())
        and (not q.team or r.team == q.team)
        and (not q.phase or r.phase == q.phase)
        and (not q.health or r.health == q.health)
    )


def _sort_key(column: str) -> Any:
    """Missing values last in either order (they sort after every present one ascending)."""
    far = "\uffff"
    keys = {
        "name": lambda r: (r.namespace, r.name),
        "team": lambda r: (r.team or far, r.namespace, r.name),
        "phase": lambda r: (r.phase, r.namespace, r.name),
        "health": lambda r: (HEALTHS.index(r.health), r.namespace, r.name),
        "cost": lambda r: (r.cost_value is None, r.cost_value or Decimal(0), r.namespace, r.name),
        "activity": lambda r: (r.last_activity or far, r.namespace, r.name),
        "next": lambda r: (r.next_at or far, r.namespace, r.name),
    }
    return keys[column]


def no_team_sentence(user: str, groups: Sequence[str], policy: api.PlatformPolicySpec) -> str:
    """What a user in no team should ask for, and whom."""
    admins = ", ".join(policy.platform_admin_groups or ["system:masters"])
    have = ", ".join(groups) if groups else "none"
    return (
        f"You ({user}; groups: {have}) belong to no team of the platform, so you have no apps here yet. "
        f"A team's members are the groups the PlatformPolicy names for it: ask your team lead to add you "
        f"to their team's group in your identity provider, or ask the platform team (group {admins}), "
        "who keep the PlatformPolicy, to add a group of yours to a team."
    )


def build(
    listed: Mapping[str, Sequence[AppRow] | str],
    *,
    user: str,
    groups: Sequence[str],
    teams: Sequence[api.Team],
    policy: api.PlatformPolicySpec,
    query: Query,
    now: datetime,
) -> MyApps:
    """The page from each namespace's rows (``row``), or the refusal in words. No side effects."""
    rows = [r for found in listed.values() if not isinstance(found, str) for r in found]
    kept = sorted((r for r in rows if _keep(r, query)), key=_sort_key(query.sort), reverse=query.descending)
    if query.descending:  # missing values stay last
        kept = [r for r in kept if _present(r, query.sort)] + [r for r in kept if not _present(r, query.sort)]
    pages = max(1, -(-len(kept) // PAGE_SIZE))
    number = min(query.page, pages)
    shown = tuple(kept[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
    digest = hashlib.sha256(repr((shown, len(kept), len(rows), number)).encode()).hexdigest()[:16]
    return MyApps(
        rows=shown,
        total=len(rows),
        matched=len(kept),
        page=number,
        pages=pages,
        teams=tuple(t.name for t in teams),
        namespaces=tuple(listed),
        problems=tuple(v for v in listed.values() if isinstance(v, str)),
        unlisted=tuple(p for t in teams for p in t.namespaces or [] if any(c in p for c in "*?[")),
        query=replace(query, page=number),
        phases=tuple(sorted({r.phase for r in rows})),
        now=lifecycle.rfc3339(now) or "",
        no_team=None if teams else no_team_sentence(user, groups, policy),
        digest=digest,
    )


def _present(r: AppRow, column: str) -> bool:
    found = {"team": r.team, "cost": r.cost_value, "activity": r.last_activity, "next": r.next_at}
    return found.get(column, column) is not None
