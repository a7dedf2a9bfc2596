"""The portal's live panel as data (pure): what a MicroApp would cost against its own limit and
its team's budget, what the policy says about it, and what it renders, before it is created.

The same core functions as admission (``runtime.admission``): ``pricing.price`` for what runs and
what it costs, ``identity.check`` and ``guardrails.evaluate`` for the findings,
``budget.decide`` for the budget's verdict. The team's committed total is the operator's, from
the TeamBudget's status; the real decision stays the webhook's ("Check" asks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from ..api import types as api
from ..core import budget, cost, guardrails, identity, plan, pricing
from ..core.render import RenderError


@dataclass(frozen=True)
class TeamFigures:
    """The team's budget in figures, for its members only (money as strings)."""

    team: str
    limit: str
    committed: str
    left: str
    adds: str
    after: str
    enforcement: str


@dataclass(frozen=True)
class Panel:
    estimate: str | None  # None: it cannot be priced yet (see findings)
    currency: str
    app_limit: str | None
    team: str | None
    figures: TeamFigures | None
    team_note: str  # one sentence when there are no figures to show (no budget, not a member)
    allowed: bool  # the budget's verdict (the findings aside)
    verdict: str | None  # why the budget refuses it
    warnings: tuple[str, ...]
    findings: tuple[str, ...]
    objects: tuple[str, ...]  # Kind/name of what it renders
    rendered: str  # the same as YAML


def team_budget(team: str | None, budgets: Iterable[Mapping[str, Any]]) -> tuple[budget.TeamBudget, Decimal] | None:
    """The team's TeamBudget in force (the oldest, as the operator picks it) and its committed total."""
    mine = sorted(
        (b for b in budgets if (b.get("spec") or {}).get("team") == team),
        key=lambda b: ((b.get("metadata") or {}).get("creationTimestamp") or "", b["metadata"]["name"]),
    )
    if not team or not mine:
        return None
    try:
        committed = Decimal(str((mine[0].get("status") or {}).get("committedMonthly") or "0"))
    except InvalidOperation:
        committed = Decimal(0)
    return budget.TeamBudget.from_spec(mine[0]["spec"]), committed


def build(
    body: Mapping[str, Any],
    *,
    templates: Sequence[api.AppTemplateSpec],
    policy: api.PlatformPolicySpec,
    budgets: Iterable[Mapping[str, Any]],
    username: str,
    groups: Sequence[str],
    problems: Sequence[str] = (),
) -> Panel:
    """The panel for ``body`` as the user would create it. No side effects. ``problems``: those
    found before (a field that is not a number), shown with the rest."""
    meta = plan.AppMeta.of(body)
    prices = pricing.sheet(policy)
    found = list(problems)
    spec, objects, est = None, None, None
    try:
        spec = plan.parse_spec(body.get("spec"))
        priced = pricing.price(plan.App(meta, spec), templates, policy, prices=prices)
        objects = priced.work.objects
        est = priced.estimate.monthly
    except plan.PlanError as exc:
        found += exc.problems
    except RenderError as exc:
        found.append(str(exc))
    found = identity.check(app=meta, old=None, username=username, groups=list(groups), policy=policy) + found
    found = guardrails.evaluate(meta, spec, objects, policy) + found
    team = meta.team or None
    team_spec = guardrails.team_of(policy, team)
    member = team_spec is not None and bool(set(groups) & set(team_spec.groups or []))
    found_budget = team_budget(team, budgets)
    limit = budget.app_limit(spec) if spec is not None else None
    decision = budget.Decision(True)
    if est is not None:
        decision = budget.decide(
            estimate=est,
            previous=Decimal(0),
            currency=prices.currency,
            team=meta.team,
            committed_others=found_budget[1] if found_budget else Decimal(0),
            budget=found_budget[0] if found_budget else None,
            app_limit=limit,
        )
    figures, note = _figures(team, found_budget, est, member)
    return Panel(
        estimate=cost.money(est) if est is not None else None,
        currency=prices.currency,
        app_limit=cost.money(limit) if limit is not None else None,
        team=team,
        figures=figures,
        team_note=note,
        allowed=decision.allowed,
        verdict=None if decision.allowed else decision.message,
        warnings=tuple(decision.warnings[1:]),
        findings=tuple(dict.fromkeys(found)),
        objects=tuple(f"{o['kind']}/{o['metadata']['name']}" for o in objects or ()),
        rendered=yaml.safe_dump_all(list(objects or ()), sort_keys=False) if objects else "",
    )


def _figures(
    team: str | None, found: tuple[budget.TeamBudget, Decimal] | None, est: Decimal | None, member: bool
) -> tuple[TeamFigures | None, str]:
    if not team:
        return None, "no team yet: pick one of your team's namespaces"
    if found is None:
        return None, f"team {team} has no TeamBudget"
    if not member:
        return None, f"team {team}'s budget is shown to its members only"
    tb, committed = found
    adds = est or Decimal(0)
    return (
        TeamFigures(
            team=team,
            limit=cost.money(tb.limit),
            committed=cost.money(committed),
            left=cost.money(tb.limit - committed),
            adds=cost.money(adds),
            after=cost.money(committed + adds),
            enforcement=tb.enforcement,
        ),
        "",
    )


def typical(template: api.AppTemplateSpec, policy: api.PlatformPolicySpec) -> str | None:
    """The monthly cost of an app with the template's defaults (None: it needs parameters first)."""
    body = {
        "metadata": {"name": "example", "namespace": "example"},
        "spec": {"template": f"{template.template_name}@{template.version}", "image": "registry.internal/x/y:1"},
    }
    try:
        return cost.money(pricing.price(plan.parse(body), [template], policy).estimate.monthly)
    except (plan.PlanError, RenderError):
        return None
