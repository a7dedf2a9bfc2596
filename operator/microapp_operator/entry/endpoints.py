"""``/metrics`` and ``/readyz`` on the metrics port: a small aiohttp app on the operator's own
event loop. Ready once the catalog is loaded, the child watches are synced and the first
pass over all apps is done, and for as long as every background task lives; with leader
election, only on the leader. The body says why not."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import generate_latest

from ..metrics import REGISTRY


async def serve_metrics(port: int, addr: str, ready: Callable[[], tuple[bool, str]]) -> web.AppRunner:
    """/metrics and /readyz on the operator's event loop."""

    async def metrics_handler(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": "text/plain; version=0.0.4"})

    async def ready_handler(_: web.Request) -> web.Response:
        ok, why = ready()
        return web.Response(status=200 if ok else 503, text=f"{why}\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/readyz", ready_handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, addr, port).start()
    return runner
