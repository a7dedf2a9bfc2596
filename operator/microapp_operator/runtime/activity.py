"""The activity sweep: one loop, one batched Prometheus query per interval for every app.

Apps with traffic get a fresh activity time in the world; those asleep are reconciled at once
(they wake). If the query fails, activity becomes unknown: every app is looked at again, keeps
its state (the lifecycle never idles on unknown activity), and its status says why; the
``microapp_activity_source_up`` gauge is 0.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp

from .. import metrics
from ..core import activity, lifecycle
from .world import Key, World

log = logging.getLogger(__name__)


class ActivitySweep:
    def __init__(self, world: World, enqueue: Callable[[list[Key]], None], clock: Callable[[], datetime]) -> None:
        self.world = world
        self.enqueue = enqueue
        self.clock = clock
        self._poked = False

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
            busy = activity.active(answer)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            log.warning("activity sweep failed url=%s error=%s", url, str(exc) or type(exc).__name__)
            self._known(False)
            return
        self._known(True)
        now = self.clock()
        woken = []
        for key in busy:
            self.world.activity[key] = now
            if self.world.apps.phase(key) in ("Idle", "Retiring"):
                woken.append(key)
        if woken:
            self.enqueue(sorted(woken))

    def _known(self, known: bool) -> None:
        metrics.activity_source_up.set(1 if known else 0)
        if known != self.world.activity_known:
            self.world.activity_known = known
            log.info("activity source %s", "answers again" if known else "failing: no app is idled meanwhile")
            self.enqueue(list(self.world.apps))
