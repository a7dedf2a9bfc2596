"""A team's cost history from Prometheus: range queries over the operator's own cost series.

Where ``PlatformPolicy.spec.activity.prometheusUrl`` names a Prometheus that scrapes the
operator, the showback's last 30 days come from three range queries (``query_range``, one sample
per step): ``microapp_estimated_monthly_cost`` and ``microapp_lifecycle_saved_monthly_cost`` per
app, and ``microapp_team_budget_committed``. ``core.showback`` turns them into money.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp

from ..core import showback as sb

WINDOW = timedelta(days=30)
STEP_SECONDS = 3600  # 720 points a series for 30 days (Prometheus allows 11,000)


class HistoryUnavailable(Exception):
    """Prometheus did not answer, or answered with an error: the showback shows "now" only."""


async def history(
    prometheus_url: str,
    team: str,
    *,
    now: datetime,
    window: timedelta = WINDOW,
    step_seconds: int = STEP_SECONDS,
    timeout: float = 20.0,
) -> sb.History:
    """The team's cost series over ``window`` ending at ``now``."""
    if not team.replace("-", "").isalnum():
        raise HistoryUnavailable(f"team {team!r} is not a DNS label")
    sel = f'{{team="{team}"}}'
    params = {"start": f"{(now - window).timestamp():.3f}", "end": f"{now.timestamp():.3f}", "step": str(step_seconds)}
    base = prometheus_url.rstrip("/") + "/api/v1/query_range"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:

            async def series(query: str) -> list[dict[str, Any]]:
                async with session.get(base, params={**params, "query": query}) as resp:
                    data = await resp.json(content_type=None)
                if resp.status != 200 or data.get("status") != "success":
                    raise HistoryUnavailable(f"Prometheus answered {resp.status}: {data.get('error', 'no data')}")
                return data["data"]["result"]

            # max by: one series per app even when several operator replicas or scrapes export it
            by = "max by (namespace, exported_namespace, name, team)"
            cost = await series(f"{by} (microapp_estimated_monthly_cost{sel})")
            saved = await series(f"{by} (microapp_lifecycle_saved_monthly_cost{sel})")
            committed = await series(f"max by (team) (microapp_team_budget_committed{sel})")
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        raise HistoryUnavailable(f"Prometheus at {prometheus_url} did not answer: {exc.__class__.__name__}") from None
    return sb.History(
        days=round(window / timedelta(days=1)),
        step_seconds=step_seconds,
        cost=_per_app(cost),
        saved=_per_app(saved),
        committed=[v for s in committed for v in _values(s)],
    )


def _per_app(result: list[dict[str, Any]]) -> dict[sb.Key, list[Decimal]]:
    out: dict[sb.Key, list[Decimal]] = {}
    for s in result:
        labels = s.get("metric") or {}
        # A scrape that keeps the target's namespace label renames the app's to exported_namespace.
        namespace = labels.get("exported_namespace") or labels.get("namespace", "")
        out.setdefault((namespace, labels.get("name", "")), []).extend(_values(s))
    return out


def _values(series: dict[str, Any]) -> list[Decimal]:
    out = []
    for _, raw in series.get("values") or []:
        try:
            value = Decimal(raw)
        except InvalidOperation:
            continue
        if value.is_finite():
            out.append(value)
    return out
