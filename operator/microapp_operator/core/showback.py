"""Team showback (pure): what a team's apps cost, what sleeping saved, and a CSV for chargeback.

Two sources, one shape:

- **now**, from the cluster: each MicroApp's ``status.cost.estimatedMonthly`` (what it costs a
  month in its current state), its awake estimate (``pricing.price`` of its spec, the same price
  admission and the reconciler use) and the TeamBudget's ``status.committedMonthly``;
- **the last 30 days**, where the policy names a Prometheus, from range queries over the
  operator's own series (``microapp_estimated_monthly_cost``,
  ``microapp_lifecycle_saved_monthly_cost``, ``microapp_team_budget_committed``): a monthly
  rate held for a span of time costs ``rate x hours / hoursPerMonth``.

**Cost avoided** by a sleeping or retired app is its awake estimate for the time it slept, less
what it still cost asleep (a kept volume): ``(awake - asleep) x hours asleep / hoursPerMonth``.
The operator exports the monthly rate of that difference as
``microapp_lifecycle_saved_monthly_cost`` for exactly the apps asleep, so over a window it is the
integral of that series; without Prometheus it is the rate since ``status.lifecycle.idleSince``,
counted from the start of the window at the earliest.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..api import types as api
from . import pricing
from .app import PlanError, parse
from .cost import money
from .render import RenderError

ASLEEP = ("Idle", "Retiring", "Retired")
Key = tuple[str, str]


@dataclass(frozen=True)
class AppCost:
    """One app's line in a team's showback (money in the policy's currency)."""

    namespace: str
    name: str
    team: str
    phase: str
    cost_center: str
    owner: str
    monthly: Decimal  # its estimate in its current state (status.cost.estimatedMonthly)
    awake_monthly: Decimal | None  # its estimate awake (None: it does not render)
    saved_monthly: Decimal  # awake minus now while asleep, else 0
    incurred: Decimal | None = None  # over the window (Prometheus), None without history
    avoided: Decimal | None = None  # over the window: Prometheus, or the rate since idleSince

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


@dataclass(frozen=True)
class TeamShowback:
    team: str
    currency: str
    limit: Decimal | None  # TeamBudget spec.monthlyLimit (None: no TeamBudget)
    committed: Decimal  # TeamBudget status.committedMonthly (else the sum of the apps)
    remaining: Decimal | None
    apps: tuple[AppCost, ...]  # most expensive first
    saved_monthly: Decimal  # what sleeping and retirement save a month, now
    window_days: int | None = None  # set when the figures below come from Prometheus
    incurred: Decimal | None = None
    avoided: Decimal | None = None
    committed_average: Decimal | None = None
    committed_peak: Decimal | None = None


def _dec(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def awake_estimate(
    body: Mapping[str, Any], *, templates: Iterable[api.AppTemplateSpec], policy: api.PlatformPolicySpec | None
) -> Decimal | None:
    """What the app costs a month awake (``pricing.price``, as admission prices it); None if it does not render."""
    try:
        return Decimal(money(pricing.price(parse(body), templates, policy).estimate.monthly))
    except (PlanError, RenderError):
        return None


def app_cost(
    body: Mapping[str, Any], *, awake: Decimal | None, now: datetime, since: datetime, hours_per_month: int
) -> AppCost:
    """One app's line from its MicroApp and its awake estimate. No side effects.

    ``since``: the start of the window; the cost avoided counts from ``idleSince`` or ``since``,
    whichever is later, to ``now``."""
    meta = body.get("metadata") or {}
    ann = meta.get("annotations") or {}
    status = body.get("status") or {}
    phase = status.get("phase") or "Pending"
    monthly = _dec((status.get("cost") or {}).get("estimatedMonthly")) or Decimal(0)
    saved = max((awake or Decimal(0)) - monthly, Decimal(0)) if phase in ASLEEP else Decimal(0)
    avoided = None
    idle_since = (status.get("lifecycle") or {}).get("idleSince")
    if phase in ASLEEP and idle_since:
        start = max(datetime.fromisoformat(idle_since.replace("Z", "+00:00")), since)
        hours = Decimal(max((now - start).total_seconds(), 0)) / 3600
        avoided = saved * hours / hours_per_month
    return AppCost(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        team=ann.get("microapp.dev/team", ""),
        phase=phase,
        cost_center=ann.get("microapp.dev/cost-center", ""),
        owner=ann.get("microapp.dev/owner", ""),
        monthly=monthly,
        awake_monthly=awake,
        saved_monthly=saved,
        avoided=avoided,
    )


def team_showback(
    team: str, apps: Iterable[AppCost], *, budget: Mapping[str, Any] | None, currency: str
) -> TeamShowback:
    """The team's showback now: committed against its TeamBudget, each app, most expensive first."""
    mine = sorted((a for a in apps if a.team == team), key=lambda a: (-a.monthly, a.namespace, a.name))
    spec = (budget or {}).get("spec") or {}
    status = (budget or {}).get("status") or {}
    limit = _dec(spec.get("monthlyLimit"))
    committed = _dec(status.get("committedMonthly"))
    if committed is None:  # no TeamBudget (or not yet counted): the apps' own estimates
        committed = sum((a.monthly for a in mine), Decimal(0))
    remaining = limit - committed if limit is not None else None
    return TeamShowback(
        team=team,
        currency=currency,
        limit=limit,
        committed=committed,
        remaining=remaining,
        apps=tuple(mine),
        saved_monthly=sum((a.saved_monthly for a in mine), Decimal(0)),
        avoided=_total(a.avoided for a in mine),
    )


def most_expensive(show: TeamShowback, n: int = 5) -> tuple[AppCost, ...]:
    """The ``n`` apps that cost the most a month now (ties by namespace and name)."""
    return show.apps[:n]


def _total(values: Iterable[Decimal | None]) -> Decimal | None:
    known = [v for v in values if v is not None]
    return sum(known, Decimal(0)) if known else None


# ---------------------------------------------------------------------------------------
# History (Prometheus range queries)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """The operator's series for one team over a window, as range queries return them."""

    days: int
    step_seconds: int
    cost: Mapping[Key, Sequence[Decimal]]  # microapp_estimated_monthly_cost per app
    saved: Mapping[Key, Sequence[Decimal]]  # microapp_lifecycle_saved_monthly_cost per app
    committed: Sequence[Decimal]  # microapp_team_budget_committed


def integrate(values: Sequence[Decimal], *, step_seconds: int, hours_per_month: int) -> Decimal:
    """Money spent at monthly rates sampled every ``step_seconds``: each sample holds for one step."""
    hours = Decimal(step_seconds) / 3600
    return sum(values, Decimal(0)) * hours / hours_per_month


def with_history(show: TeamShowback, history: History, *, hours_per_month: int) -> TeamShowback:
    """The showback with the window's incurred cost, cost avoided and committed average and peak."""

    def spent(series: Mapping[Key, Sequence[Decimal]], key: Key) -> Decimal:
        return integrate(series.get(key, ()), step_seconds=history.step_seconds, hours_per_month=hours_per_month)

    apps = tuple(
        replace(a, incurred=spent(history.cost, a.key), avoided=spent(history.saved, a.key)) for a in show.apps
    )
    committed = list(history.committed)
    return replace(
        show,
        apps=apps,
        window_days=history.days,
        incurred=sum((a.incurred or Decimal(0) for a in apps), Decimal(0)),
        avoided=sum((a.avoided or Decimal(0) for a in apps), Decimal(0)),
        committed_average=sum(committed, Decimal(0)) / len(committed) if committed else None,
        committed_peak=max(committed) if committed else None,
    )


# ---------------------------------------------------------------------------------------
# CSV for chargeback
# ---------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "team",
    "namespace",
    "name",
    "owner",
    "cost_center",
    "phase",
    "currency",
    "monthly_estimate",
    "awake_monthly_estimate",
    "saved_monthly",
    "incurred_window",
    "avoided_window",
    "window_days",
)


def to_csv(show: TeamShowback) -> str:
    """One row per app (RFC 4180, a header row; empty cells where a figure is unknown)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)

    def cell(value: Decimal | None) -> str:
        return money(value) if value is not None else ""

    def text(value: str) -> str:  # a spreadsheet must not read a cost centre as a formula
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

    for a in show.apps:
        writer.writerow(
            [
                show.team,
                a.namespace,
                a.name,
                text(a.owner),
                text(a.cost_center),
                a.phase,
                show.currency,
                cell(a.monthly),
                cell(a.awake_monthly),
                cell(a.saved_monthly),
                cell(a.incurred),
                cell(a.avoided),
                show.window_days if show.window_days is not None else "",
            ]
        )
    return out.getvalue()
