"""The activity sweep: one loop, one batched Prometheus query per interval for every app.

Apps with traffic get a fresh activity time in the world; those asleep are reconciled at once
(they wake). If the query fails, activity becomes unknown: every app is looked at again, keeps
its state (the lifecycle never idles on unknown activity), and its status says why; the
``microapp_activity_source_up`` gauge is 0. The same holds when the query answers no series for
any app while apps with telemetry have run for longer than its window (``core.activity.silent``:
a query that meets no telemetry, such as the old default). Each change of that verdict is
written to the PlatformPolicy's ``ActivityKnown`` condition, with an Event on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp

from .. import metrics
from ..api import types as api
from ..api.conditions import ConditionType, Phase
from ..api.kinds import PLATFORMPOLICY
from ..core import activity, lifecycle
from .kube import Kube, KubeError
from .world import Key, World

log = logging.getLogger(__name__)


class ActivitySweep:
    def __init__(
        self,
        world: World,
        enqueue: Callable[[list[Key]], None],
        clock: Callable[[], datetime],
        kube: Kube | None = None,
    ) -> None:
        self.world = world
        self.enqueue = enqueue
        self.clock = clock
        self.kube = kube  # writes the PlatformPolicy's ActivityKnown condition (None: not written)
        self._poked = False
        self._verdict: tuple[str | None, str | None] | None = None  # (failure, silence) last written

    def poke(self) -> None:
        """The policy changed: sweep now, with its new settings."""
        self._poked = True

    def interval(self) -> float:
        spec = self.world.policy.lifecycle
        text = (spec.sweep_interval if spec else None) or activity.DEFAULT_SWEEP
        return lifecycle.duration(text).total_seconds()

    async def run(self) -> None:
        while True:
            url, promql = activity.query(self.world.policy)
            if url:
                await self.sweep(url, promql)
            else:
                self._known(True)
                if self._verdict not in (None, ("", None)):
                    await self._report("", None)
            await self._pause(self.interval())

    async def _pause(self, seconds: float, step: float = 0.5) -> None:
        """Sleep ``seconds``, or less if poked (polling: wait_for on an Event could swallow a cancel)."""
        waited = 0.0
        while waited < seconds and not self._poked:
            await asyncio.sleep(min(step, seconds - waited))
            waited += step
        self._poked = False

    async def sweep(self, url: str, promql: str) -> None:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
                async with session.get(f"{url.rstrip('/')}/api/v1/query", params={"query": promql}) as resp:
                    answer = await resp.json(content_type=None)
            found = activity.series(answer)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            log.warning("activity sweep failed url=%s error=%s", url, str(exc) or type(exc).__name__)
            self._known(False)
            await self._report(str(exc) or type(exc).__name__, None)
            return
        now = self.clock()
        silence = (
            None if found else activity.silent(promql=promql, found=found, running_since=self.running_since(), now=now)
        )
        if silence:
            log.warning("activity query meets no telemetry url=%s reason=%s", url, silence)
            self._known(False)
            await self._report(None, silence)
            return
        self._known(True)
        await self._report(None, None)
        woken = []
        for key, value in found.items():
            if value <= 0:
                continue
            self.world.activity[key] = now
            if self.world.apps.phase(key) in ("Idle", "Retiring"):
                woken.append(key)
        if woken:
            self.enqueue(sorted(woken))

    def running_since(self) -> datetime | None:
        """Since when the app with telemetry that has run longest without a pause has run: the newer
        of its creation and its last recorded activity (a wake or a spec change counts), so a
        woken app counts from its wake. Only read when the answer has no series at all."""
        oldest = None
        for key in list(self.world.apps):
            entry = self.world.apps.entry(key)
            if entry is None or entry.deleting or entry.phase != Phase.RUNNING.value:
                continue
            app = self.world.apps[key]
            spec = app.get("spec") or {}
            if (spec.get("telemetry") or {}).get("enabled") is False:
                continue
            times = [
                lifecycle.timestamp((app.get("metadata") or {}).get("creationTimestamp")),
                lifecycle.timestamp(((app.get("status") or {}).get("lifecycle") or {}).get("lastActivity")),
            ]
            since = max((t for t in times if t is not None), default=None)
            if since is not None and (oldest is None or since < oldest):
                oldest = since
        return oldest

    async def _report(self, failure: str | None, silence: str | None) -> None:
        """The PlatformPolicy's ActivityKnown condition and an Event, when the verdict changes
        (best effort: the sweep goes on if the API server refuses). ``failure`` "": no traffic source."""
        verdict = (failure, silence)
        if self.kube is None or verdict == self._verdict:
            return
        try:
            policy = await self.kube.get(PLATFORMPOLICY, None, "default")
            if policy is None:
                return
            now = self.clock()
            new = activity.policy_status(
                failure=failure,
                silence=silence,
                generation=int(policy["metadata"].get("generation") or 1),
                old=policy.get("status") or {},
                now=now,
                source=failure != "",
            )
            await self.kube.patch_status(PLATFORMPOLICY, "", "default", new)
            cond = next(c for c in new["conditions"] if c["type"] == ConditionType.ACTIVITY_KNOWN.value)
            await self.kube.event(
                {"apiVersion": api.API_VERSION, "kind": "PlatformPolicy", "metadata": policy["metadata"]},
                type_="Normal" if cond.get("status") == "True" else "Warning",
                reason=str(cond.get("reason")),
                message=str(cond.get("message")),
                now=now,
            )
        except (KubeError, aiohttp.ClientError, OSError) as exc:
            log.warning("PlatformPolicy activity condition not written error=%s", exc)
            return
        self._verdict = verdict

    def _known(self, known: bool) -> None:
        metrics.activity_source_up.set(1 if known else 0)
        if known != self.world.activity_known:
            self.world.activity_known = known
            log.info("activity source %s", "answers again" if known else "failing: no app is idled meanwhile")
            self.enqueue(list(self.world.apps))
