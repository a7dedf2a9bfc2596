"""The work queue (controller-runtime's rate-limited queue, in asyncio).

One reconcile per key at a time; a key added while in flight runs once more afterwards;
failures retry with exponential backoff and jitter; ``add_after`` is the requeue-after that
time-based decisions use instead of a timer per object.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from ..api.kinds import Key

log = logging.getLogger(__name__)
Handler = Callable[[Key], Awaitable[None]]


class Retry(Exception):
    """Reconcile again later (transient API trouble); after ``retry_after`` seconds if the
    server said so (429 and 503 carry ``Retry-After``), else with exponential backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WorkQueue:
    def __init__(self, handler: Handler | None = None, *, workers: int = 4, max_backoff: float = 300.0) -> None:
        """``handler``: what a worker does with a key; may also be given to :meth:`run` (the
        manager builds the queue before the reconciler that handles it)."""
        self.handler = handler
        self.workers = workers
        self.max_backoff = max_backoff
        self.queue: asyncio.Queue[Key] = asyncio.Queue()
        self.pending: set[Key] = set()
        self.processing: set[Key] = set()
        self.dirty: set[Key] = set()
        self.failures: dict[Key, int] = {}

    def add(self, key: Key) -> None:
        if key in self.processing:
            self.dirty.add(key)
        elif key not in self.pending:
            self.pending.add(key)
            self.queue.put_nowait(key)

    def add_all(self, keys: list[Key]) -> None:
        for key in keys:
            self.add(key)

    def add_after(self, key: Key, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self.add, key)

    def backoff(self, key: Key) -> float:
        """The delay before retrying ``key`` after one more failure (2^n s, jittered, capped)."""
        n = self.failures[key] = self.failures.get(key, 0) + 1
        return min(2**n, self.max_backoff) * (0.8 + random.random() * 0.4)

    def idle(self) -> bool:
        return not (self.pending or self.processing or self.dirty)

    async def run(self, handler: Handler | None = None) -> None:
        self.handler = handler or self.handler
        if self.handler is None:
            raise ValueError("WorkQueue.run: no handler (pass one here or to WorkQueue(...))")
        await asyncio.gather(*(self._work() for _ in range(self.workers)))

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            self.pending.discard(key)
            self.processing.add(key)
            try:
                await self.handler(key)  # type: ignore[misc]
                self.failures.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one app's failure must not stop the others
                delay = self.backoff(key)
                if isinstance(exc, Retry) and exc.retry_after is not None:
                    delay = exc.retry_after
                if isinstance(exc, Retry):
                    log.warning("reconcile retry namespace=%s name=%s in=%.1fs reason=%s", *key, delay, exc)
                else:
                    log.exception("reconcile crashed namespace=%s name=%s retry_in=%.1fs", *key, delay)
                self.add_after(key, delay)
            finally:
                self.processing.discard(key)
                if key in self.dirty:
                    self.dirty.discard(key)
                    self.add(key)
