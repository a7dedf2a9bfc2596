"""Stopping within the grace period: Kopf's retries cut short, the one line of what was left."""

from __future__ import annotations

import asyncio

import kopf
import pytest

from microapp_operator.entry import startup


def test_kopf_retries_as_usual_until_the_operator_stops() -> None:
    shutdown = startup.Shutdown()
    backoffs = startup.StopAwareBackoffs((1, 2, 3), shutdown)
    assert (len(backoffs), list(backoffs)) == (3, [1, 2, 3])


def test_once_stopping_a_request_gets_one_attempt_and_no_retry() -> None:
    settings = kopf.OperatorSettings()
    shutdown = startup.Shutdown()
    startup.tune(settings, shutdown)
    shutdown.begin()
    assert settings.networking.request_timeout == startup.STEP
    delays = iter(settings.networking.error_backoffs)
    assert next(delays) == 0  # the first attempt, and no wait after it
    with pytest.raises(asyncio.CancelledError):
        next(delays)  # the retry is given up
    assert shutdown.kopf_requests == 1
    assert shutdown.summary() == (
        "stopped; abandoned: 1 Kopf API request(s) the API server did not answer (not retried)"
    )


def test_a_clean_stop_says_nothing_and_a_slow_step_is_named() -> None:
    shutdown = startup.Shutdown()
    assert shutdown.summary() is None

    async def steps() -> tuple[bool, bool]:
        quick = await startup._bounded(shutdown, "quick", asyncio.sleep(0), seconds=1)
        slow = await startup._bounded(shutdown, "releasing the Lease", asyncio.sleep(5), seconds=0.05)
        return quick, slow

    assert asyncio.run(steps()) == (True, False)
    assert shutdown.summary() == "stopped; abandoned: releasing the Lease (no answer in 0.05s)"
