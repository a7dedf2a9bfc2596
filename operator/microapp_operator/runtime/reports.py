"""PolicyReports: one per namespace, kept from the reconciler's findings while the
wgpolicyk8s.io CRD exists (re-detected, so installing Policy Reporter later works)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

from ..api.kinds import MANAGED_BY_SELECTOR, POLICYREPORT
from ..core import policyreport
from .kube import Kube, KubeError
from .world import Key, World

log = logging.getLogger(__name__)


class Reports:
    def __init__(self, world: World, kube: Kube, clock: Callable[[], datetime]) -> None:
        self.world = world
        self.kube = kube
        self.clock = clock
        self.findings: dict[Key, tuple[str, list[str]]] = {}  # app -> (uid, violations)
        self.dirty: set[str] = set()  # namespaces whose report is stale

    def update(self, key: Key, uid: str, violations: list[str]) -> None:
        """The reconciler's latest findings for one app."""
        if key in self.world.apps and self.findings.get(key) != (uid, violations):
            self.findings[key] = (uid, violations)
            self.dirty.add(key[0])

    def release(self, key: Key) -> None:
        """Another shard now keeps this app's namespace, and its report: drop, do not delete."""
        self.findings.pop(key, None)
        if not any(ns == key[0] for ns, _ in self.findings):
            self.dirty.discard(key[0])

    def forget(self, key: Key) -> None:
        if self.findings.pop(key, None) is not None:
            self.dirty.add(key[0])

    async def run(self, interval: float = 2.0, recheck: float = 10.0) -> None:
        present, checked = False, 0.0
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - checked > recheck:
                checked = time.monotonic()
                try:
                    async with contextlib.aclosing(
                        self.kube.pages(POLICYREPORT, label_selector=MANAGED_BY_SELECTOR, limit=1)
                    ) as pages:
                        await anext(pages)  # is the kind served? One object answers it, not them all
                    if not present:
                        log.info("PolicyReport CRD found: writing reports")
                        self.dirty |= {ns for ns, _ in self.findings}
                    present = True
                except KubeError as exc:
                    present = False if exc.status == 404 else present
            if not present or not self.dirty:
                continue
            namespaces, self.dirty = self.dirty, set()
            for ns in namespaces:
                try:
                    await self._write(ns)
                except KubeError as exc:
                    if not exc.namespace_terminating:
                        log.warning("PolicyReport not written namespace=%s error=%s", ns, exc)
                        self.dirty.add(ns)

    async def _write(self, namespace: str) -> None:
        apps = {name: found for (ns, name), found in self.findings.items() if ns == namespace}
        if not apps:
            await self.kube.delete(POLICYREPORT, namespace, policyreport.NAME)
            return
        desired = policyreport.report(namespace, apps, self.clock())
        live = await self.kube.get(POLICYREPORT, namespace, policyreport.NAME)
        if not policyreport.same(live, desired):
            await self.kube.apply(desired)
