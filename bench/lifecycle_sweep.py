"""The lifecycle's cost at N apps (default 5,000): one activity sweep (the batched Prometheus
answer fetched over HTTP from a local server, parsed, and applied to the world) and the pure
lifecycle decision for every app, in CPU time of the operator's thread (thread_time), median of
rounds. Prints one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

from microapp_operator.api import types as api
from microapp_operator.core import lifecycle
from microapp_operator.runtime.activity import ActivitySweep
from microapp_operator.runtime.world import World

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def answer(apps: int) -> bytes:
    result = [
        {"metric": {"namespace": f"team-{i % 50}", "microapp": f"app-{i}"}, "value": [0, str(i % 3)]}
        for i in range(apps)
    ]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


def serve(body: bytes) -> HTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    world = World()
    for i in range(args.apps):
        world.apps[(f"team-{i % 50}", f"app-{i}")] = {
            "metadata": {},
            "status": {"phase": "Idle" if i % 10 == 0 else "Running"},
        }
    server = serve(answer(args.apps))
    sweep = ActivitySweep(world, lambda keys: None, lambda: NOW)
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def one_sweep() -> float:
        start = time.thread_time()
        asyncio.run(sweep.sweep(url, "q"))
        return time.thread_time() - start

    sweeps = [one_sweep() for _ in range(args.rounds)]
    rules = lifecycle.settings(api.Lifecycle(idle_after="7d", retire_after="30d"), None)
    seen = [
        lifecycle.Observed(created=NOW - timedelta(days=i % 40), traffic=NOW - timedelta(hours=i % 300))
        for i in range(args.apps)
    ]

    def decisions() -> float:
        start = time.thread_time()
        for s in seen:
            lifecycle.decide(s, rules, NOW)
        return time.thread_time() - start

    decide = [decisions() for _ in range(args.rounds)]
    server.shutdown()
    print(
        json.dumps(
            {
                "apps": args.apps,
                "rounds": args.rounds,
                "active_in_answer": len(world.activity),
                "sweep_cpu_ms": round(statistics.median(sweeps) * 1000, 1),
                "decisions_cpu_ms": round(statistics.median(decide) * 1000, 1),
                "decision_us_per_app": round(statistics.median(decide) / args.apps * 1e6, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
