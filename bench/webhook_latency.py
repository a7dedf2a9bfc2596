"""Admission webhook latency at 20 concurrent requests, against the real webhook server.

Starts `microapp run` against the local control plane (make cluster-up; CRDs and templates
installed), waits for its initial sync, then sends AdmissionReview requests for a MicroApp
(dry runs, so nothing is reserved) straight to the webhook's HTTPS endpoint from 20
concurrent clients of `bench/loadgen`, a Go HTTP client with keep-alive connections like
kube-apiserver's (a Python client on these two cores spent more CPU per request than the
webhook, and measured mostly itself). In the same run it measures the operator's liveness
endpoint under the same load, a floor for "one HTTP round trip to this process", and
reports the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 200  # requests before the measurement (connections, first skeletons); distinct bodies of their own
CACHE = Path(os.environ.get("MICROAPP_CACHE", Path.home() / ".cache" / "microapp-operator"))


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


def loadgen() -> Path:
    """Build bench/loadgen (standard library only) into the cache, outside the repository."""
    binary = CACHE / "bench" / "loadgen"
    started = time.monotonic()
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=ROOT / "bench" / "loadgen", check=True)
    print(f"built bench/loadgen in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return binary


def load(binary: Path, url: str, n: int, concurrency: int, bodies: list[dict] | None) -> dict:
    """Run the Go client; its JSON summary (latencies in ms)."""
    args = [str(binary), "-url", url, "-n", str(n), "-c", str(concurrency), "-warmup", str(WARMUP)]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for body in bodies or []:
            f.write(json.dumps(body, separators=(",", ":")) + "\n")
    if bodies:
        args += ["-bodies", f.name]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(f.name)
    if done.returncode != 0:
        raise SystemExit(f"loadgen failed: {done.stderr.strip()} {done.stdout.strip()}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG", str(ROOT / ".cluster" / "kubeconfig"))
    binary = loadgen()
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
        distinct = load(binary, webhook, args.requests, args.concurrency,  # + the warm-up's own
                        [review(i) for i in range(args.requests + WARMUP)])
        repeated = load(binary, webhook, args.requests, args.concurrency,
                        [review(i, distinct=False) for i in range(20)])
        live = load(binary, f"http://127.0.0.1:{live}/healthz", args.requests, args.concurrency, None)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    result = {"requests": args.requests, "concurrency": args.concurrency,
              "webhook_p50_ms": distinct["p50_ms"], "webhook_p99_ms": distinct["p99_ms"],
              "webhook_mean_ms": round(distinct["mean_ms"], 2),
              "webhook_per_second": round(distinct["requests_per_second"]),
              "repeated_specs_p50_ms": repeated["p50_ms"], "repeated_specs_p99_ms": repeated["p99_ms"],
              "liveness_p50_ms": live["p50_ms"], "liveness_p99_ms": live["p99_ms"],
              "webhook_over_liveness_p99": round(distinct["p99_ms"] / live["p99_ms"], 2),
              "goal_p99_under_25ms_distinct": distinct["p99_ms"] < 25,
              "goal_p99_under_25ms_repeated": repeated["p99_ms"] < 25}
    print(f"admission webhook latency ({args.concurrency} concurrent, {args.requests} dry-run reviews):")
    for k, v in result.items():
        print(f"  {k:28} {v}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
