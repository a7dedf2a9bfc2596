"""What one request costs the API server: its CPU seconds per request, by kind of request.

Why: at thousands of apps the API server, on the same two cores as the operator, is what
saturates first. A rollout costs it more than the floor (bare server-side applies of the same
children) by the requests the operator adds per app: the MicroApp's create, a read of each
child before it is created (the takeover check), status writes and Events. This measures each
kind alone, N requests with 4 in flight on the bench's control plane (no operator running),
reading kube-apiserver's CPU time from /proc before and after (3 s after, for the watch cache).

    python bench/api_cost.py [--n 1000] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import scale  # the bench's control plane, client and app mix

from microapp_operator.api.kinds import MICROAPP, RESOURCES
from microapp_operator.runtime.kube import Kube, KubeError

SA = RESOURCES[("v1", "ServiceAccount")]
NS = scale.NAMESPACES[0]


def apiserver_cpu() -> float:
    """kube-apiserver's user + system CPU seconds so far."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0]
            if os.path.basename(exe) == b"kube-apiserver":
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    raise SystemExit("no kube-apiserver process: is the bench's control plane up?")


async def measure(name: str, n: int, one: Callable[[Kube, int], Awaitable[Any]]) -> dict[str, Any]:
    k = await scale.kube()
    cpu0, t0 = apiserver_cpu(), time.monotonic()
    latencies = await scale.parallel(list(range(n)), lambda i: one(k, i), 4)
    wall = time.monotonic() - t0
    await asyncio.sleep(3)
    cpu = apiserver_cpu() - cpu0
    await k.close()
    row = {
        "request": name,
        "n": n,
        "api_cpu_ms_per_request": round(1000 * cpu / n, 2),
        "p50_ms": round(scale.pct(latencies, 0.5), 1),
        "wall_s": round(wall, 1),
    }
    print(f"| {name} | {row['api_cpu_ms_per_request']} | {row['p50_ms']} |", flush=True)
    return row


async def absent(k: Kube, path: str, **query: str) -> None:
    try:
        await k.request("GET", path, query=query)
    except KubeError as exc:
        if exc.status != 404:
            raise


async def run(n: int) -> list[dict[str, Any]]:
    run_id = uuid.uuid4().hex[:6]

    def sa(i: int) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": f"cost-{run_id}-{i}",
                "namespace": NS,
                "labels": {"app.kubernetes.io/managed-by": "microapp-operator"},
            },
        }

    def mapp(i: int) -> dict[str, Any]:
        body = scale.app(i)
        body["metadata"]["name"] = f"cost-{run_id}-{i:05d}"
        return body

    involved = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"namespace": NS, "uid": "u", "resourceVersion": "1"},
    }
    status = {
        "observedGeneration": 1,
        "phase": "Pending",
        "cost": {"estimatedMonthly": "3.20", "currency": "USD"},
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "Progressing",
                "message": "Deployment x: rolling out, 0 of 1 Pods available",
                "lastTransitionTime": "2026-11-30T18:00:00Z",
                "observedGeneration": 1,
            }
        ],
        "inventory": [{"apiVersion": "v1", "kind": "ServiceAccount", "name": "x"}],
    }
    rows = [
        await measure(
            "GET of a missing object (the takeover check before a create)",
            n,
            lambda k, i: absent(k, SA.path(NS, f"missing-{run_id}-{i}")),
        ),
        await measure(
            "the same GET from the watch cache (resourceVersion=0)",
            n,
            lambda k, i: absent(k, SA.path(NS, f"missing-{run_id}-{i}"), resourceVersion="0"),
        ),
        await measure("server-side apply creating a ServiceAccount", n, lambda k, i: k.apply(sa(i), force=False)),
        await measure("server-side apply of the same, unchanged", n, lambda k, i: k.apply(sa(i), force=True)),
        await measure(
            "Event create",
            n,
            lambda k, i: k.event(
                {**involved, "metadata": {**involved["metadata"], "name": f"cost-{run_id}-{i}"}},
                type_="Normal",
                reason="Applied",
                message="applied ServiceAccount/x, NetworkPolicy/x, Deployment/x",
                now=datetime.now(UTC),
            ),
        ),
        await measure("MicroApp create (no admission webhook registered)", n, lambda k, i: k.create(mapp(i))),
        await measure(
            "MicroApp status merge patch",
            n,
            lambda k, i: k.patch_status(
                MICROAPP, mapp(i)["metadata"]["namespace"], mapp(i)["metadata"]["name"], status
            ),
        ),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="leave the control plane running")
    args = parser.parse_args()
    scale.setup(args.n, 1)
    print("| request | API server CPU ms per request | p50 ms (4 in flight) |\n|---|---|---|", flush=True)
    try:
        rows = asyncio.run(run(args.n))
        out = scale.ROOT / "bench" / "results" / "api-cost.json"
        out.write_text(
            json.dumps(
                {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "n": args.n, "in_flight": 4, "rows": rows}, indent=1
            )
            + "\n"
        )
    finally:
        if not args.keep:
            subprocess.run([str(scale.ROOT / "hack" / "cluster.sh"), "down"], env=scale.ENV, check=False)


if __name__ == "__main__":
    main()
