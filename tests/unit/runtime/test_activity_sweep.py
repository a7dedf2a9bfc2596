"""The sweep's view of which apps should have telemetry by now (read only when an answer has no series)."""

from __future__ import annotations

from datetime import UTC, datetime

from microapp_operator.runtime.activity import ActivitySweep
from microapp_operator.runtime.world import World

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def app(created: str, phase: str, *, last: str | None = None, telemetry: bool = True) -> dict:
    return {
        "metadata": {"creationTimestamp": created},
        "spec": {"telemetry": {"enabled": telemetry}},
        "status": {"phase": phase, "lifecycle": {"lastActivity": last} if last else {}},
    }


def test_running_since_is_the_longest_running_app_with_telemetry() -> None:
    world = World()
    world.apps[("ns", "old-idle")] = app("2026-01-01T00:00:00Z", "Idle")
    world.apps[("ns", "old-no-telemetry")] = app("2026-01-01T00:00:00Z", "Running", telemetry=False)
    world.apps[("ns", "woken")] = app("2026-02-01T00:00:00Z", "Running", last="2026-12-01T11:55:00Z")
    world.apps[("ns", "steady")] = app("2026-11-30T00:00:00Z", "Running")
    sweep = ActivitySweep(world, lambda keys: None, lambda: NOW)
    assert sweep.running_since() == datetime(2026, 11, 30, tzinfo=UTC)
    del world.apps[("ns", "steady")]
    assert sweep.running_since() == datetime(2026, 12, 1, 11, 55, tzinfo=UTC)  # counted from its wake
    del world.apps[("ns", "woken")]
    assert sweep.running_since() is None
