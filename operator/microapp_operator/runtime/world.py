"""The world model: the latest MicroApps, catalog, policy and budgets, as Kopf delivers them.

The bottom of the runtime. Event methods update the model and return the keys of the apps
to reconcile again; nothing here does I/O, so every method is unit-testable without a cluster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ..api import types as api
from ..api.kinds import PODMONITOR, Resource
from ..core import budget, cost
from ..core.memo import ByIdentity

log = logging.getLogger(__name__)
Key = tuple[str, str]


@dataclass(frozen=True)
class BudgetObject:
    """One TeamBudget as last seen: its object name and generation, the parsed spec, its status."""

    name: str
    generation: int
    budget: budget.TeamBudget
    status: Mapping[str, Any] = field(default_factory=dict)


class World:
    def __init__(self) -> None:
        self.apps: dict[Key, dict[str, Any]] = {}
        self.templates: dict[tuple[str, str], api.AppTemplateSpec] = {}
        self.policy = api.PlatformPolicySpec()
        self.budgets: dict[str, BudgetObject] = {}    # team -> its TeamBudget
        self.podmonitor = False                       # the Prometheus Operator's PodMonitor CRD exists
        self.activity: dict[Key, datetime] = {}       # last traffic per app, from the activity sweep
        self.activity_known = True                    # False while the traffic source fails
        self.catalog_version = 0                      # bumped on every template change (memo keys)
        self.policy_version = 0
        self._prices: ByIdentity[api.PlatformPolicySpec, cost.Prices] = ByIdentity(
            lambda policy: cost.Prices.from_policy(policy.pricing), size=4)

    @property
    def prices(self) -> cost.Prices:
        """The price sheet of the current policy (built once per policy: admission reads it)."""
        return self._prices(self.policy)

    def budget_of(self, team: str) -> budget.TeamBudget | None:
        entry = self.budgets.get(team)
        return entry.budget if entry else None

    def app_event(self, kind: str | None, body: Mapping[str, Any]) -> list[Key]:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        if kind == "DELETED":
            self.apps.pop(key, None)  # children go with the ownerReferences
            return []
        meta = body.get("metadata") or {}
        # managedFields are most of a MicroApp's size and nothing here reads them.
        self.apps[key] = {**body, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
        return [key]

    def policy_event(self, kind: str | None, body: Mapping[str, Any]) -> list[Key]:
        if body.get("metadata", {}).get("name") != "default":
            return []
        try:
            self.policy = api.PlatformPolicySpec() if kind == "DELETED" else \
                api.PlatformPolicySpec.model_validate(body.get("spec") or {})
        except ValueError:
            log.warning("ignoring invalid PlatformPolicy default")
            return []
        self.policy_version += 1
        return list(self.apps)  # prices and rules apply to every app

    def budget_event(self, kind: str | None, body: Mapping[str, Any]) -> list[Key]:
        name = body["metadata"]["name"]
        for team, entry in list(self.budgets.items()):
            if entry.name == name:
                del self.budgets[team]
        if kind != "DELETED":
            try:
                tb = budget.TeamBudget.from_spec(body.get("spec") or {})
            except ValueError:
                log.warning("ignoring invalid TeamBudget name=%s", name)
                return []
            self.budgets[tb.team] = BudgetObject(name, int(body["metadata"].get("generation") or 1), tb,
                                                 dict(body.get("status") or {}))
        return [key for key, app in self.apps.items() if _team(app)]

    def template_event(self, kind: str | None, body: Mapping[str, Any]) -> list[Key]:
        try:
            spec = api.AppTemplateSpec.model_validate(body.get("spec") or {})
        except ValueError:
            log.warning("ignoring invalid AppTemplate name=%s", body.get("metadata", {}).get("name"))
            return []
        if kind == "DELETED":
            self.templates.pop((spec.template_name, spec.version), None)
        else:
            self.templates[(spec.template_name, spec.version)] = spec
        self.catalog_version += 1
        return [key for key, app in self.apps.items()
                if str((app.get("spec") or {}).get("template", "")).partition("@")[0] == spec.template_name]

    def kind_changed(self, res: Resource, present: bool) -> list[Key]:
        """A CRD we render for appeared or went: every app is looked at again (PodMonitor switches
        scraping; apps waiting for a runtime such as Knative proceed, or stall if it went)."""
        log.info("kind %s: re-checking every app kind=%s apiVersion=%s", "found" if present else "gone",
                 res.kind, res.api_version)
        if res is PODMONITOR:
            self.podmonitor = present
        return list(self.apps)


def _team(app: Mapping[str, Any]) -> str:
    return str(((app.get("metadata") or {}).get("annotations") or {}).get(api.TEAM_ANNOTATION, ""))
