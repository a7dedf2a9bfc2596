"""Budgets: the in-memory ledger of what each team has committed, and TeamBudget status.

The reconciler records every app's estimate here; admission reads it and reserves what it
admits. A background loop writes each changed team's TeamBudget status and the team gauges
(only what changed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from .. import metrics
from ..api.kinds import MICROAPP, TEAMBUDGET
from ..core import budget, guardrails, plan, pricing
from ..core.ledger import Entry, Ledger
from ..core.render import RenderError
from .kube import Kube, KubeError
from .shards import Shards
from .world import Key, World

log = logging.getLogger(__name__)


class Budgets:
    def __init__(
        self,
        world: World,
        kube: Kube,
        clock: Callable[[], datetime],
        release: Callable[[list[Key]], None] = lambda keys: None,
        monotonic: Callable[[], float] = time.monotonic,
        shards: Shards | None = None,
    ) -> None:
        self.world = world
        self.shards = shards  # sharded: only the shard that holds all of a team's namespaces writes
        self.kube = kube
        self.clock = clock
        self.release = release  # requeue held apps when their team's total drops
        self.ledger = Ledger(monotonic)
        self.held: dict[str, set[Key]] = {}  # team -> apps held back (OverBudget) until it fits
        self._saved: dict[Key, str] = {}  # apps with a saved-cost series -> its team label
        self.dirty: set[str] = set()  # teams whose status or gauges may be stale
        self.written: dict[str, dict[str, Any]] = {}  # TeamBudget name -> the status we last wrote
        self._limits: set[str] = set()  # teams with a microapp_team_budget_limit series

    def keeps_team(self, team: str) -> bool:
        """This shard writes the team's TeamBudget status (all of the team's namespaces are here)."""
        if self.shards is None:
            return True
        found = guardrails.team_of(self.world.policy, team)
        return self.shards.keeps_team(list(found.namespaces or []) if found else [])

    def budget_seen(self, name: str) -> None:
        """A TeamBudget event arrived: its status as the API server has it is the base again."""
        self.written.pop(name, None)

    def touch(self, team: str | None) -> None:
        if team:
            self.dirty.add(team)

    def account(
        self, key: Key, team: str, amount: Decimal | None, *, generation: int | None = None, priming: bool = False
    ) -> None:
        """Record an app's estimate for ``generation`` (None: it does not render, so it costs
        nothing); releases admission's reservation for that generation."""
        if key not in self.world.apps and not priming:
            return  # deleted while this reconcile ran: do not bring its series back
        amount = amount if amount is not None else Decimal(0)
        before, counted = self.ledger.apps.get(key), self.ledger.current(key)
        if self.ledger.set_app(key, team, amount, generation=generation):
            if before is not None and before.team != team:
                metrics.app_cost.remove(key[0], key[1], before.team)
                self.dirty.add(before.team)
            metrics.app_cost.labels(key[0], key[1], team).set(float(amount))
            self.dirty.add(team)
        self._dropped(counted, self.ledger.current(key))

    def saved(self, key: Key, team: str, amount: Decimal) -> None:
        """What the lifecycle saves on this app a month (no series while it is awake)."""
        self._drop_saved(key)
        if amount > 0 and key in self.world.apps:
            metrics.saved_cost.labels(key[0], key[1], team).set(float(amount))
            self._saved[key] = team

    def _drop_saved(self, key: Key) -> None:
        team = self._saved.pop(key, None)
        if team is not None:
            metrics.saved_cost.remove(key[0], key[1], team)

    def forget(self, key: Key) -> None:
        """The app is gone: its estimate and any reservation go with it."""
        self._drop_saved(key)
        counted = self.ledger.current(key)
        gone = self.ledger.remove_app(key)
        self.unhold(key)
        if gone is not None:
            metrics.app_cost.remove(key[0], key[1], gone.team)
            self.dirty.add(gone.team)
        self._dropped(counted, None)

    def reserve(self, key: Key, team: str, amount: Decimal, *, generation: int) -> None:
        self.ledger.reserve(key, team, amount, generation=generation)
        self.dirty.add(team)

    def seen(self, key: Key, generation: int) -> None:
        self.ledger.seen(key, generation)

    def hold(self, key: Key, team: str) -> None:
        self.unhold(key)
        self.held.setdefault(team, set()).add(key)

    def unhold(self, key: Key) -> None:
        for keys in self.held.values():
            keys.discard(key)

    def _dropped(self, before: Entry | None, after: Entry | None) -> None:
        """A team's total went down: its held apps may fit now."""
        if before is None or (after is not None and after.team == before.team and after.amount >= before.amount):
            return
        waiting = list(self.held.get(before.team, ()))
        if waiting:
            self.release(sorted(waiting))

    async def prime(
        self,
        accepts: Callable[[str], bool] = lambda namespace: True,
        each: Callable[[dict[str, Any]], None] = lambda item: None,
    ) -> int:
        """Every app's estimate before the first reconcile: budget verdicts made during the
        initial sync must not depend on which apps happened to be reconciled first. Reads the
        apps page by page; ``each`` sees those of the namespaces ``accepts`` (this shard's).
        Returns how many there were."""
        delay, count = 1.0, 0
        while True:  # start-up must not fail on a restarting API server
            try:
                async for items, _ in self.kube.pages(MICROAPP):
                    mine = [i for i in items if accepts(i["metadata"]["namespace"])]
                    self.price(mine)
                    for item in mine:
                        each(item)
                    count += len(mine)
                return count
            except KubeError as exc:
                log.warning("cannot list microapps error=%s retry_in=%.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay, count = min(delay * 2, 30), 0

    def price(self, items: list[dict[str, Any]]) -> None:
        """Record these apps' estimates as they are stored (priming: before any reconcile)."""
        w = self.world
        for item in items:
            key = (item["metadata"]["namespace"], item["metadata"]["name"])
            try:
                priced = pricing.price(
                    plan.parse(item), w.templates.values(), w.policy, prices=w.prices, podmonitor=w.podmonitor
                )
                amount: Decimal | None = priced.estimate.monthly
            except (plan.PlanError, RenderError):
                amount = None
            self.account(key, plan.AppMeta.of(item).team, amount, priming=True)

    async def run(self, interval: float = 1.0) -> None:
        """Keep TeamBudget status and the team gauges current (only writes what changed)."""
        while True:
            await asyncio.sleep(interval)
            self._sync_limits()
            teams, self.dirty = self.dirty, set()
            for team in teams:
                committed, count = self.ledger.committed(team)
                metrics.team_committed.labels(team).set(float(committed))
                if team in self.world.budgets and self.keeps_team(team):
                    try:
                        await self._write_status(team, committed, count)
                    except KubeError as exc:
                        log.warning("TeamBudget status not written team=%s error=%s", team, exc)
                        self.dirty.add(team)
            await self._write_shadowed()

    def _sync_limits(self) -> None:
        for team in self._limits - self.world.budgets.keys():
            metrics.team_limit.remove(team)
        for team, entry in self.world.budgets.items():
            metrics.team_limit.labels(team).set(float(entry.budget.limit))
        self._limits = set(self.world.budgets)

    async def _write_shadowed(self) -> None:
        """Say on each TeamBudget that is not in force which one is (written when it changed)."""
        for entry, in_force in self.world.shadowed():
            if not self.keeps_team(entry.budget.team):
                continue
            old: Mapping[str, Any] = self.written.get(entry.name, entry.status)
            new = budget.shadowed_status(
                team=entry.budget.team, in_force=in_force.name, generation=entry.generation, old=old, now=self.clock()
            )
            if all(old.get(k) == v for k, v in new.items()):
                continue
            try:
                await self.kube.patch_status(TEAMBUDGET, "", entry.name, new)
                self.written[entry.name] = {k: v for k, v in {**old, **new}.items() if v is not None}
            except KubeError as exc:
                log.warning("TeamBudget status not written name=%s error=%s", entry.name, exc)

    async def _write_status(self, team: str, committed: Decimal, count: int) -> None:
        entry = self.world.budgets[team]
        old: Mapping[str, Any] = self.written.get(entry.name, entry.status)
        new = budget.team_status(
            entry.budget, committed=committed, count=count, generation=entry.generation, old=old, now=self.clock()
        )
        if all(old.get(k) == v for k, v in new.items()):
            return
        await self.kube.patch_status(TEAMBUDGET, "", entry.name, new)
        self.written[entry.name] = {**old, **new}
