"""Retirement notices: a CloudEvent POSTed in the background, retried until the receiver takes it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from aiohttp import web

from microapp_operator import metrics
from microapp_operator.runtime.notify import Notifier, cloudevent

APP = {"metadata": {"name": "shop", "namespace": "ns", "annotations": {"microapp.dev/team": "finance"}}}


async def test_a_failing_receiver_gets_the_notice_on_a_retry() -> None:
    answers, bodies = [500, 503, 202], []

    async def receive(request: web.Request) -> web.Response:
        bodies.append((request.headers["Content-Type"], json.loads(await request.text())))
        return web.Response(status=answers[len(bodies) - 1])

    app = web.Application()
    app.router.add_post("/", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sent = metrics.notifications.labels("sent")._value.get()
    notifier = Notifier(lambda: f"http://127.0.0.1:{port}/", first_delay=0.01)
    event = cloudevent(
        APP, {"retireAt": "2026-12-03T00:00:00Z"}, on_retire="Archive", now=datetime(2026, 11, 30, tzinfo=UTC)
    )
    notifier.send(event)
    for _ in range(200):
        await asyncio.sleep(0.01)
        if not notifier.tasks:
            break
    await runner.cleanup()
    assert len(bodies) == 3 and all(b == ("application/cloudevents+json", event) for b in bodies)
    assert event["type"] == "dev.microapp.lifecycle.retiring" and event["data"]["retireAt"] == "2026-12-03T00:00:00Z"
    assert metrics.notifications.labels("sent")._value.get() == sent + 1


async def test_no_url_sends_nothing() -> None:
    notifier = Notifier(lambda: None)
    notifier.send({"subject": "ns/shop"})
    assert notifier.tasks == set()


async def test_without_routine_events_only_warnings_and_lifecycle_events_are_posted() -> None:
    from microapp_operator.runtime.announce import Announcer
    from tests.fake_kube import FakeKube

    app = {
        "apiVersion": "microapp.dev/v1alpha1",
        "kind": "MicroApp",
        "metadata": {"name": "shop", "namespace": "ns", "uid": "u1"},
    }
    now = datetime(2026, 11, 30, tzinfo=UTC)
    for routine, expected in ((True, ["Applied", "Ready", "Idle", "NameConflict"]), (False, ["Idle", "NameConflict"])):
        kube = FakeKube()
        announce = Announcer(kube, Notifier(lambda: None), routine=routine)  # type: ignore[arg-type]
        for type_, reason in (
            ("Normal", "Applied"),
            ("Normal", "Ready"),
            ("Normal", "Idle"),
            ("Warning", "NameConflict"),
        ):
            await announce.event(app, type_, reason, "m", now)
        await announce.drain()
        assert [e["reason"] for e in kube.events] == expected


async def test_a_backlog_keeps_only_references_and_drops_the_oldest_past_its_bound() -> None:
    """On a saturated API server Events wait as small tuples (the app's reference, not the app),
    taken in order by at most ``in_flight`` senders; past the bound the oldest go, counted."""
    from microapp_operator import metrics
    from microapp_operator.runtime.announce import Announcer
    from tests.fake_kube import FakeKube

    kube = FakeKube()
    gate = asyncio.Event()
    posted = kube.event

    async def slow(involved: dict, **kwargs: object) -> None:
        await gate.wait()
        await posted(involved, **kwargs)  # type: ignore[arg-type]

    kube.event = slow  # type: ignore[method-assign]
    announce = Announcer(kube, Notifier(lambda: None), in_flight=2, backlog=5)  # type: ignore[arg-type]
    app = {
        "apiVersion": "microapp.dev/v1alpha1",
        "kind": "MicroApp",
        "spec": {"big": "x" * 10_000},
        "metadata": {"name": "shop", "namespace": "ns", "uid": "u1", "resourceVersion": "7"},
    }
    dropped = metrics.events_dropped._value.get()
    now = datetime(2026, 11, 30, tzinfo=UTC)
    for i in range(10):
        await announce.event(app, "Normal", f"R{i}", "m", now)
        await asyncio.sleep(0)  # the senders take their first Event
    assert len(announce.pending) == 2
    assert all("spec" not in involved for involved, *_ in announce.waiting)
    gate.set()
    await announce.drain()
    reasons = sorted(e["reason"] for e in kube.events)  # two senders: they may finish in either order
    assert reasons == ["R0", "R1", "R5", "R6", "R7", "R8", "R9"]  # R2-R4 dropped: the oldest waiting
    assert metrics.events_dropped._value.get() - dropped == 3
