"""Budget decisions (pure): may this apply add its cost, and what to tell the person.

One function serves the admission webhook (deny or warn at ``kubectl apply``) and the
reconciler (flag with ``WithinBudget``). Never denied: deletes, and updates that do not
raise the app's cost, even when the team is already over budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from ..api import types as api
from ..api.conditions import ConditionType, Reason
from . import status
from .cost import money


class DenyReason(str, Enum):
    APP_LIMIT = "AppBudgetExceeded"
    TEAM_LIMIT = "TeamBudgetExceeded"
    POLICY = "PolicyViolation"


@dataclass(frozen=True)
class TeamBudget:
    team: str
    limit: Decimal
    enforcement: str = "Deny"  # Deny | Warn
    warn_at_percent: int = 80

    @classmethod
    def from_spec(cls, spec: Mapping) -> TeamBudget:
        s = api.TeamBudgetSpec.model_validate(spec)
        return cls(s.team, Decimal(s.monthly_limit), s.enforcement or "Deny", s.warn_at_percent or 80)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: DenyReason | None = None
    message: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)


def decide(
    *,
    estimate: Decimal,
    previous: Decimal,
    currency: str,
    team: str,
    committed_others: Decimal,
    budget: TeamBudget | None,
    app_limit: Decimal | None,
) -> Decision:
    """Admit ``estimate`` for one app. No side effects.

    ``previous`` is the app's current cost (0 on create); ``committed_others`` the team's
    committed total without this app.
    """
    after = committed_others + estimate
    summary = f"estimated cost {money(estimate)} {currency}/month"
    if budget is not None:
        summary += f" (team {team}: {money(after)} of {money(budget.limit)} committed)"
    warnings = [summary]
    raises = estimate > previous
    # 1. The app's own limit, when the apply raises its cost past it.
    if app_limit is not None and estimate > app_limit and raises:
        return Decision(
            False,
            DenyReason.APP_LIMIT,
            f"this app would cost an estimated {money(estimate)} {currency}/month, more than its "
            f"spec.budget.monthlyLimit of {money(app_limit)} {currency}. Lower spec.replicas or "
            f"spec.resources, or raise spec.budget.monthlyLimit.",
            tuple(warnings),
        )
    if budget is None:
        return Decision(True, warnings=tuple(warnings))
    # 2. The team's budget, when the apply raises the team's total past it.
    if after > budget.limit and raises:
        over = (
            f"team {team} has {money(committed_others)} {currency}/month committed by its other apps; "
            f"this app's estimated {money(estimate)} {currency}/month would bring it to {money(after)}, "
            f"over the TeamBudget limit of {money(budget.limit)} {currency}"
        )
        if budget.enforcement == "Deny":
            return Decision(
                False,
                DenyReason.TEAM_LIMIT,
                f"{over}. Lower spec.replicas or spec.resources (or suspend another app), "
                f"or ask for a budget raise (TeamBudget {team}).",
                tuple(warnings),
            )
        warnings.append(f"{over} (enforcement Warn: allowed)")
    elif budget.limit > 0 and after * 100 >= budget.limit * budget.warn_at_percent:
        warnings.append(
            f"team {team} has committed {after * 100 / budget.limit:.0f}% of its monthly budget "
            f"(warning at {budget.warn_at_percent}%)"
        )
    return Decision(True, warnings=tuple(warnings))


def within(
    *,
    estimate: Decimal,
    currency: str,
    team: str,
    committed: Decimal,
    budget: TeamBudget | None,
    app_limit: Decimal | None,
) -> tuple[bool, str]:
    """Reconciler's view after the fact: is the app inside its limits? (flag, never kill)."""
    if app_limit is not None and estimate > app_limit:
        return False, (
            f"estimated {money(estimate)} {currency}/month exceeds spec.budget.monthlyLimit {money(app_limit)}"
        )
    if budget is not None and committed > budget.limit:
        return False, (
            f"team {team} is over its budget: {money(committed)} of {money(budget.limit)} {currency}/month committed"
        )
    # No running totals here: they change with every app of the team, and this message must
    # stay the same while nothing about this app changes (no status writes on a resync).
    return True, f"estimated {money(estimate)} {currency}/month" + (
        f", within team {team}'s budget of {money(budget.limit)}" if budget else ""
    )


def shadowed_status(
    *, team: str, in_force: str, generation: int, old: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The status of a TeamBudget that is not enforced: an older one sets its team's budget.
    No side effects. Its totals are cleared (they would be the other one's)."""
    cond = status.condition(
        ConditionType.STALLED,
        "True",
        Reason.DUPLICATE_BUDGET,
        f"not enforced: team {team}'s budget is TeamBudget {in_force}, the oldest of the "
        f"team's TeamBudgets; delete this one or set spec.team to another team",
        generation=generation,
        now=now,
    )
    return {
        "observedGeneration": generation,
        "committedMonthly": None,
        "remaining": None,
        "apps": None,
        "conditions": status.merge_conditions(
            old.get("conditions") or [],
            [cond],
            drop=[ConditionType.WITHIN_BUDGET.value, ConditionType.WARN_THRESHOLD.value],
        ),
    }


def app_limit(spec: api.MicroAppSpec) -> Decimal | None:
    """The app's own ``spec.budget.monthlyLimit``, if any."""
    limit = spec.budget.monthly_limit if spec.budget else None
    return Decimal(limit) if limit is not None else None


def team_status(
    tb: TeamBudget, *, committed: Decimal, count: int, generation: int, old: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """A TeamBudget's desired status from the ledger's totals. No side effects."""
    used = committed * 100 / tb.limit if tb.limit else Decimal(0)
    over = committed > tb.limit
    conds = [
        status.condition(
            ConditionType.WITHIN_BUDGET,
            "False" if over else "True",
            Reason.OVER_BUDGET if over else Reason.WITHIN_BUDGET,
            f"{money(committed)} of {money(tb.limit)} committed ({used:.0f}%)",
            generation=generation,
            now=now,
        )
    ]
    if used >= tb.warn_at_percent:
        conds.append(
            status.condition(
                ConditionType.WARN_THRESHOLD,
                "True",
                Reason.OVER_WARN_THRESHOLD,
                f"{used:.0f}% committed; warning at {tb.warn_at_percent}%",
                generation=generation,
                now=now,
            )
        )
    return {
        "observedGeneration": generation,
        "committedMonthly": money(committed),
        "remaining": money(tb.limit - committed),
        "apps": count,
        "conditions": status.merge_conditions(
            old.get("conditions") or [], conds, drop=[ConditionType.WARN_THRESHOLD.value]
        ),
    }
