"""Admission webhook latency at 20 concurrent requests, against the real webhook server.

Starts `microapp run` against the local control plane (make cluster-up; CRDs and templates
installed), waits for its initial sync, then sends AdmissionReview requests for a MicroApp
(dry runs, so nothing is reserved) straight to the webhook's HTTPS endpoint from 20
concurrent clients. In the same run it measures the operator's liveness endpoint under the
same load, a floor for "one HTTP round trip to this process", and reports the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def review(i: int, distinct: bool = True) -> dict:
    """Distinct: every request a different spec (no memo hits, the worst case). Otherwise
    20 specs repeat, as when Argo CD or a CI job re-applies a directory of apps."""
    app = {"apiVersion": "microapp.dev/v1alpha1", "kind": "MicroApp",
           "metadata": {"name": f"bench-{i}", "namespace": "team-finance",  # team finance of the default policy
                        "annotations": {"microapp.dev/owner": "alice@example.com", "microapp.dev/team": "finance",
                                        "microapp.dev/cost-center": "CC-1234"}},
           "spec": {"template": "web-service@^1", "image": "registry.internal/bench/app:1.0.0",
                    "replicas": 1 + (i if distinct else i % 20) % 10,
                    "resources": {"cpu": f"{100 + (i if distinct else i % 20) % 1000}m",
                                  "memory": f"{256 + (i // 1000 if distinct else 0)}Mi"}}}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": str(uuid.uuid4()), "kind": {"group": "microapp.dev", "version": "v1alpha1", "kind": "MicroApp"},
                        "resource": {"group": "microapp.dev", "version": "v1alpha1", "resource": "microapps"},
                        "name": app["metadata"]["name"], "namespace": "team-finance", "operation": "CREATE",
                        "userInfo": {"username": "alice@example.com", "groups": ["finance-devs"]},
                        "object": app, "oldObject": None, "dryRun": True}}


async def load(url: str, n: int, concurrency: int, body: object | None, distinct: bool = True) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    conn = aiohttp.TCPConnector(ssl=False, limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                start = time.perf_counter()
                if body is None:
                    async with session.get(url) as resp:
                        await resp.read()
                else:
                    async with session.post(url, json=review(i, distinct)) as resp:
                        data = await resp.json()
                        assert data["response"]["allowed"], data
                latencies.append(time.perf_counter() - start)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG", str(ROOT / ".cluster" / "kubeconfig"))
    live, hook, prom = free_port(), free_port(), free_port()
    log = Path(tempfile.mkdtemp(prefix="microapp-bench-")) / "operator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "microapp_operator.cli", "run", "--liveness",
                                 f"http://127.0.0.1:{live}/healthz", "--webhook-port", str(hook),
                                 "--webhook-no-register",  # leave a running operator's registration alone
                                 "--namespace", "microapp-bench-none",  # and its apps: reconcile nothing
                                 "--metrics-port", str(prom)], env={**os.environ, "KUBECONFIG": kubeconfig},
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "initial sync done" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"operator did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        webhook = f"https://127.0.0.1:{hook}/admission"
        asyncio.run(load(webhook, 100, args.concurrency, {}, distinct=False))  # warm-up
        hook_lat = asyncio.run(load(webhook, args.requests, args.concurrency, {}))
        repeat_lat = asyncio.run(load(webhook, args.requests, args.concurrency, {}, distinct=False))
        live_lat = asyncio.run(load(f"http://127.0.0.1:{live}/healthz", args.requests, args.concurrency, None))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    result = {"requests": args.requests, "concurrency": args.concurrency,
              "webhook_p50_ms": round(pct(hook_lat, 50), 2), "webhook_p99_ms": round(pct(hook_lat, 99), 2),
              "webhook_mean_ms": round(statistics.mean(hook_lat) * 1000, 2),
              "repeated_specs_p50_ms": round(pct(repeat_lat, 50), 2),
              "repeated_specs_p99_ms": round(pct(repeat_lat, 99), 2),
              "liveness_p99_ms": round(pct(live_lat, 99), 2),
              "webhook_over_liveness_p99": round(pct(hook_lat, 99) / pct(live_lat, 99), 2),
              "goal_p99_under_25ms_distinct": pct(hook_lat, 99) < 25,
              "goal_p99_under_25ms_repeated": pct(repeat_lat, 99) < 25}
    print(f"admission webhook latency ({args.concurrency} concurrent, {args.requests} dry-run reviews):")
    for k, v in result.items():
        print(f"  {k:28} {v}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
