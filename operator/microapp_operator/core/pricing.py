"""Pricing an app: the one way admission, the reconciler, the budgets and the CLI put a monthly
cost on a MicroApp. No side effects.

What an app costs is what its workload runs (``plan.workload``: the template's objects with
telemetry wired in), priced by the policy's price sheet (``cost.Prices``, OpenCost's defaults
where the sheet is silent). The objects the operator adds around the workload (access, dashboard,
PodMonitor) run nothing and cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..api import types as api
from . import cost, plan
from .app import App


@dataclass(frozen=True)
class Priced:
    work: plan.Plan  # the workload that was priced (callers reuse it instead of rendering again)
    estimate: cost.Estimate


def price(
    app: App,
    templates: Iterable[api.AppTemplateSpec],
    policy: api.PlatformPolicySpec | None,
    *,
    prices: cost.Prices | None = None,
    podmonitor: bool = False,
    pinned: str | None = None,
) -> Priced:
    """The app's workload and its monthly estimate. ``prices``: the policy's sheet when the caller
    keeps one built (the runtime does); else built from ``policy``. Raises ``PlanError`` (the app
    does not render) and ``RenderError`` (its output cannot be priced)."""
    work = plan.workload(app, templates, pinned=pinned, policy=policy, podmonitor=podmonitor)
    return Priced(work, cost.estimate(work.objects, prices if prices is not None else sheet(policy)))


def sheet(policy: api.PlatformPolicySpec | None) -> cost.Prices:
    """The policy's price sheet (OpenCost's prices where it is silent, or without a policy)."""
    return cost.Prices.from_policy(policy.pricing if policy else None)
