"""The team showback page as a view model (pure): words and formatted money the portal draws.

Built from ``core.showback.TeamShowback``: the budget line (committed of limit, percentage and
tone), a row per app (most expensive first), the five most expensive, what sleeping and
retirement save, and, where Prometheus answered, the window's figures; ``history_note`` says why
there is no window (no Prometheus named, or it did not answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..core import showback as sb
from ..core.cost import money
from .views import Tone


@dataclass(frozen=True)
class ShowbackRow:
    namespace: str
    name: str
    phase: str
    owner: str
    cost_center: str
    monthly: str  # "13.08 USD"
    saved_monthly: str | None  # set while asleep or retired
    incurred: str | None  # over the window
    avoided: str | None
    href: str  # the app's page


@dataclass(frozen=True)
class ShowbackView:
    team: str
    currency: str
    committed: str
    limit: str | None
    remaining: str | None
    used_percent: int | None
    tone: Tone
    budget_sentence: str
    saved_monthly: str
    avoided: str | None
    window_days: int | None
    incurred: str | None
    committed_average: str | None
    committed_peak: str | None
    history_note: str | None
    rows: tuple[ShowbackRow, ...]
    top: tuple[ShowbackRow, ...]
    csv_href: str


def _m(value: Decimal | None, currency: str) -> str | None:
    return f"{money(value)} {currency}" if value is not None else None


def build(show: sb.TeamShowback, *, history_note: str | None = None, top: int = 5) -> ShowbackView:
    """The view of a team's showback. ``history_note``: why there are no 30-day figures, if none."""
    c = show.currency
    used = int(show.committed * 100 / show.limit) if show.limit else None
    if show.limit is None:
        tone, sentence = Tone.INFO, f"{money(show.committed)} {c} a month committed; the team has no TeamBudget"
    else:
        over = show.committed > show.limit
        tone = Tone.BAD if over else Tone.WARN if (used or 0) >= 80 else Tone.OK
        left = f"{money(show.remaining or Decimal(0))} {c} left" if not over else "over the limit"
        sentence = f"{money(show.committed)} of {money(show.limit)} {c} a month committed ({used}%), {left}"
    rows = tuple(
        ShowbackRow(
            namespace=a.namespace,
            name=a.name,
            phase=a.phase,
            owner=a.owner,
            cost_center=a.cost_center,
            monthly=f"{money(a.monthly)} {c}",
            saved_monthly=_m(a.saved_monthly, c) if a.saved_monthly else None,
            incurred=_m(a.incurred, c),
            avoided=_m(a.avoided, c),
            href=f"/apps/{a.namespace}/{a.name}",
        )
        for a in show.apps
    )
    return ShowbackView(
        team=show.team,
        currency=c,
        committed=f"{money(show.committed)} {c}",
        limit=_m(show.limit, c),
        remaining=_m(show.remaining, c),
        used_percent=used,
        tone=tone,
        budget_sentence=sentence,
        saved_monthly=f"{money(show.saved_monthly)} {c}",
        avoided=_m(show.avoided, c),
        window_days=show.window_days,
        incurred=_m(show.incurred, c),
        committed_average=_m(show.committed_average, c),
        committed_peak=_m(show.committed_peak, c),
        history_note=None if show.window_days is not None else (history_note or "no Prometheus named in the policy"),
        rows=rows,
        top=rows[:top],
        csv_href=f"/teams/{show.team}/showback.csv",
    )
