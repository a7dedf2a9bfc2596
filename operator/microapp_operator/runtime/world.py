"""The world model: the latest MicroApps, catalog, policy and budgets, as Kopf delivers them.

The bottom of the runtime. Event methods update the model and return the keys of the apps
to reconcile again; nothing here does I/O, so every method is unit-testable without a cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from ..api import types as api
from ..api.kinds import PODMONITOR, Key, Resource
from ..core import budget, cost
from ..core.memo import ByIdentity
from .packed import Packed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BudgetObject:
    """One TeamBudget as last seen: its object name and generation, the parsed spec, its status,
    and its creationTimestamp (of a team's TeamBudgets, the oldest is in force)."""

    name: str
    generation: int
    budget: budget.TeamBudget
    status: Mapping[str, Any] = field(default_factory=dict)
    created: str = ""

    @property
    def precedence(self) -> tuple[str, str]:
        return self.created, self.name


class AppEntry(NamedTuple):
    """One MicroApp as kept: packed, with what the scans over every app read beside it."""

    packed: Packed
    team: str
    template: str  # the template's name (spec.template before "@")
    phase: str | None
    deleting: bool  # metadata.deletionTimestamp is set


class Apps(MutableMapping[Key, dict[str, Any]]):
    """The latest MicroApps, packed (``runtime.packed``): at 5,000 apps about 30 MB less than
    decoded dicts. Reading one decodes a copy. managedFields are dropped (most of a MicroApp's
    size; nothing reads them)."""

    def __init__(self) -> None:
        self._entries: dict[Key, AppEntry] = {}

    def __getitem__(self, key: Key) -> dict[str, Any]:
        return self._entries[key].packed.unpack()

    def __setitem__(self, key: Key, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        slim = {**body, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
        template = str((body.get("spec") or {}).get("template", "")).partition("@")[0]
        self._entries[key] = AppEntry(
            Packed.of(slim),
            _team(body),
            template,
            (body.get("status") or {}).get("phase"),
            bool(meta.get("deletionTimestamp")),
        )

    def __delitem__(self, key: Key) -> None:
        del self._entries[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def discard(self, key: Key) -> None:
        """Forget an app if kept (``pop`` would decode it first, only to drop it)."""
        self._entries.pop(key, None)

    def entry(self, key: Key) -> AppEntry | None:
        """The kept app without decoding it (a settled app's resync reads no more)."""
        return self._entries.get(key)

    def phase(self, key: Key) -> str | None:
        entry = self._entries.get(key)
        return entry.phase if entry else None

    def where(self, *, team: str | None = None, template: str | None = None) -> list[Key]:
        """The apps of a team or a template, without decoding any."""
        return [
            key
            for key, e in self._entries.items()
            if (team is None or e.team == team) and (template is None or e.template == template)
        ]

    def status_written(self, key: Key, app: Mapping[str, Any]) -> None:
        """Keep ``app`` (with the status just written) unless a newer version arrived meanwhile,
        so the next reconcile compares with what is on the server, not with the status before."""
        entry = self._entries.get(key)
        if entry is not None and entry.packed.rv == (app.get("metadata") or {}).get("resourceVersion"):
            self[key] = app


class World:
    def __init__(self) -> None:
        self.apps = Apps()
        self.templates: dict[tuple[str, str], api.AppTemplateSpec] = {}
        self.policy = api.PlatformPolicySpec()
        self.budgets: dict[str, BudgetObject] = {}  # team -> the TeamBudget in force (the oldest)
        self.budget_objects: dict[str, BudgetObject] = {}  # name -> every valid TeamBudget
        self.podmonitor = False  # the Prometheus Operator's PodMonitor CRD exists
        self.activity: dict[Key, datetime] = {}  # last traffic per app, from the activity sweep
        self.activity_known = True  # False while the traffic source fails
        self.catalog_version = 0  # bumped on every template change (memo keys)
        self.policy_version = 0
        self._prices: ByIdentity[api.PlatformPolicySpec, cost.Prices] = ByIdentity(
            lambda policy: cost.Prices.from_policy(policy.pricing), size=4
        )

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
            self.apps.discard(key)  # children go with the ownerReferences
            return []
        self.apps[key] = body
        return [key]

    def policy_event(self, kind: str | None, body: Mapping[str, Any]) -> list[Key]:
        if body.get("metadata", {}).get("name") != "default":
            return []
        try:
            self.policy = (
                api.PlatformPolicySpec()
                if kind == "DELETED"
                else api.PlatformPolicySpec.model_validate(body.get("spec") or {})
            )
        except ValueError:
            log.warning("ignoring invalid PlatformPolicy default")
            return []
        self.policy_version += 1
        return list(self.apps)  # prices and rules apply to every app

    def budget_event(self, kind: str | None, body: Mapping[str, Any]) -> list[Key]:
        """The apps of the teams whose budget in force changed. A status-only update (the
        operator's own, every time a team's committed total moves) changes no decision: it
        re-queues nothing. Of several TeamBudgets for one team the oldest is in force; the
        others are reported Stalled (``shadowed``), and one takes over when it goes."""
        meta = body["metadata"]
        gone = self.budget_objects.pop(meta["name"], None)
        teams = {gone.budget.team} if gone else set()
        if kind != "DELETED":
            try:
                tb = budget.TeamBudget.from_spec(body.get("spec") or {})
            except ValueError:
                log.warning("ignoring invalid TeamBudget name=%s", meta["name"])
                tb = None
            if tb is not None:
                self.budget_objects[meta["name"]] = BudgetObject(
                    meta["name"],
                    int(meta.get("generation") or 1),
                    tb,
                    dict(body.get("status") or {}),
                    str(meta.get("creationTimestamp") or ""),
                )
                teams.add(tb.team)
        before = {team: self.budgets[team].budget for team in teams if team in self.budgets}
        for team in teams:
            mine = [o for o in self.budget_objects.values() if o.budget.team == team]
            if mine:
                self.budgets[team] = min(mine, key=lambda o: o.precedence)
            else:
                self.budgets.pop(team, None)
        changed = {team for team in teams if before.get(team) != self.budget_of(team)}
        return [key for team in sorted(changed) for key in self.apps.where(team=team)]

    def shadowed(self) -> list[tuple[BudgetObject, BudgetObject]]:
        """(TeamBudget not in force, the one in force for its team)."""
        return [
            (o, self.budgets[o.budget.team])
            for o in self.budget_objects.values()
            if o.budget.team in self.budgets and self.budgets[o.budget.team].name != o.name
        ]

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
        return self.apps.where(template=spec.template_name)

    def kind_changed(self, res: Resource, present: bool) -> list[Key]:
        """A CRD we render for appeared or went: every app is looked at again (PodMonitor switches
        scraping; apps waiting for a runtime such as Knative proceed, or stall if it went)."""
        log.info(
            "kind %s: re-checking every app kind=%s apiVersion=%s",
            "found" if present else "gone",
            res.kind,
            res.api_version,
        )
        if res is PODMONITOR:
            self.podmonitor = present
        return list(self.apps)


def _team(app: Mapping[str, Any]) -> str:
    return str(((app.get("metadata") or {}).get("annotations") or {}).get(api.TEAM_ANNOTATION, ""))
