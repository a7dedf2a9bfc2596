"""The work queue: de-duplication, re-run when dirty, backoff, requeue-after."""

from __future__ import annotations

import asyncio

import pytest

from microapp_operator.runtime.queue import Retry, WorkQueue

A, B = ("ns", "a"), ("ns", "b")


async def drain(queue: WorkQueue, timeout: float = 2.0) -> None:
    task = asyncio.create_task(queue.run())
    try:
        for _ in range(int(timeout / 0.01)):
            await asyncio.sleep(0.01)
            if queue.idle():
                return
        raise AssertionError("the queue never became idle")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_key_added_twice_before_it_runs_is_reconciled_once() -> None:
    seen: list[tuple[str, str]] = []

    async def handler(key: tuple[str, str]) -> None:
        seen.append(key)

    queue = WorkQueue(handler, workers=2)
    for key in (A, B, A, A):
        queue.add(key)
    await drain(queue)
    assert sorted(seen) == [A, B]


async def test_a_key_added_while_in_flight_runs_once_more_afterwards_never_concurrently() -> None:
    seen, running, overlap = [], set(), []
    gate = asyncio.Event()

    async def handler(key: tuple[str, str]) -> None:
        if key in running:
            overlap.append(key)
        running.add(key)
        seen.append(key)
        if len(seen) == 1:
            await gate.wait()
        running.discard(key)

    queue = WorkQueue(handler, workers=4)
    task = asyncio.create_task(queue.run())
    queue.add(A)
    await asyncio.sleep(0.02)
    queue.add(A)
    queue.add(A)  # still one extra run
    assert A in queue.dirty
    gate.set()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if queue.idle():
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert seen == [A, A] and overlap == []


@pytest.mark.parametrize("error", [Retry("409: conflict"), RuntimeError("bug")], ids=["retry", "crash"])
async def test_failures_retry_with_growing_backoff_and_reset_on_success(error: Exception) -> None:
    delays: list[float] = []
    attempts = []

    async def handler(key: tuple[str, str]) -> None:
        attempts.append(key)
        if len(attempts) < 3:
            raise error

    queue = WorkQueue(handler, workers=1)
    queue.add_after = lambda key, delay: (delays.append(delay), queue.add(key))  # type: ignore[method-assign]
    queue.add(A)
    await drain(queue)
    assert len(attempts) == 3
    assert 1.6 <= delays[0] <= 2.4 and 3.2 <= delays[1] <= 4.8  # 2^n seconds, +-20% jitter
    assert A not in queue.failures  # success resets the backoff


def test_backoff_is_capped() -> None:
    queue = WorkQueue(lambda key: asyncio.sleep(0), max_backoff=300)
    delays = [queue.backoff(A) for _ in range(20)]
    assert max(delays) <= 300 * 1.2 and delays[-1] >= 300 * 0.8


async def test_add_after_enqueues_later() -> None:
    seen = []

    async def handler(key: tuple[str, str]) -> None:
        seen.append(asyncio.get_running_loop().time())

    queue = WorkQueue(handler)
    task = asyncio.create_task(queue.run())
    start = asyncio.get_running_loop().time()
    queue.add_after(A, 0.1)
    await asyncio.sleep(0.05)
    assert seen == []
    await asyncio.sleep(0.15)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(seen) == 1 and seen[0] - start >= 0.1


async def test_a_retry_after_from_the_server_sets_the_delay() -> None:
    delays: list[float] = []
    attempts = []

    async def handler(key: tuple[str, str]) -> None:
        attempts.append(key)
        if len(attempts) == 1:
            raise Retry("429: too many requests", retry_after=0.5)

    queue = WorkQueue(handler, workers=1)
    queue.add_after = lambda key, delay: (delays.append(delay), queue.add(key))  # type: ignore[method-assign]
    queue.add(A)
    await drain(queue)
    assert delays == [0.5]
