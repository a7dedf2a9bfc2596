"""What every page needs and no user owns: the AppTemplates, the PlatformPolicy and the
TeamBudgets, read with the portal's own identity (its ServiceAccount may read these three and
nothing else), kept for a few seconds so that no page lists anything cluster-wide per request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ...api import types as api
from ...api.kinds import APPTEMPLATE, PLATFORMPOLICY, TEAMBUDGET
from ...core import catalog
from ...runtime.kube import Kube

TTL = 2.0  # seconds a read is reused


@dataclass(frozen=True)
class Snapshot:
    templates: tuple[api.AppTemplateSpec, ...]
    policy: api.PlatformPolicySpec
    budgets: tuple[dict[str, Any], ...]
    read_at: float = field(default=0.0)


class Source:
    def __init__(self, kube: Kube, *, ttl: float = TTL) -> None:
        self.kube = kube
        self.ttl = ttl
        self.snapshot: Snapshot | None = None
        self.lock = asyncio.Lock()

    async def get(self) -> Snapshot:
        snap = self.snapshot
        if snap is not None and time.monotonic() - snap.read_at < self.ttl:
            return snap
        async with self.lock:
            snap = self.snapshot
            if snap is None or time.monotonic() - snap.read_at >= self.ttl:
                snap = self.snapshot = await self._read()
        return snap

    async def _read(self) -> Snapshot:
        templates, policy, budgets = await asyncio.gather(
            self.kube.list(APPTEMPLATE),
            self.kube.get(PLATFORMPOLICY, None, "default"),
            self.kube.list(TEAMBUDGET),
        )
        return Snapshot(
            templates=tuple(catalog.index(templates.get("items") or [])),
            policy=api.PlatformPolicySpec.model_validate((policy or {}).get("spec") or {}),
            budgets=tuple(budgets.get("items") or []),
            read_at=time.monotonic(),
        )
