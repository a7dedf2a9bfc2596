"""Admission webhook latency at 20 concurrent requests, against the real webhook server.

Starts `microapp run` against the local control plane (make cluster-up; CRDs and templates
installed), waits for its initial sync, then sends AdmissionReview requests for a MicroApp
(dry runs, so nothing is reserved) straight to the webhook's HTTPS endpoint from 20
concurrent clients of `bench/loadgen`, a Go HTTP client with keep-alive connections like
kube-apiserver's (a Python client on these two cores spent more CPU per request than the
webhook, and measured mostly itself). In the same run it measures the operator's liveness
endpoint under the same load, a floor for "one HTTP round trip to this process", and
reports the ratio.

Unless another operator serves the webhook configuration (a running `make demo`), it then
registers itself and sends the same number of dry-run MicroApp creates through
kube-apiserver, the webhook's real client, and reports the API server's own measurement of
the webhook calls (its apiserver_admission_webhook_admission_duration_seconds buckets).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import free_port, kubectl  # noqa: E402

CONFIGURATION = "microapp.dev"  # the operator's ValidatingWebhookConfiguration
NAMESPACE = "team-finance"  # a namespace of team finance in the default policy
WARMUP = 200  # requests before the measurement (connections, first skeletons); distinct bodies of their own
CACHE = Path(os.environ.get("MICROAPP_CACHE", Path.home() / ".cache" / "microapp-operator"))


def review(i: int, distinct: bool = True) -> dict:
    """Distinct: every request a different spec (no memo hits, the worst case). Otherwise
    20 specs repeat, as when Argo CD or a CI job re-applies a directory of apps."""
    app = {
        "apiVersion": "microapp.dev/v1alpha1",
        "kind": "MicroApp",
        "metadata": {
            "name": f"bench-{i}",
            "namespace": "team-finance",  # team finance of the default policy
            "annotations": {
                "microapp.dev/owner": "alice@example.com",
                "microapp.dev/team": "finance",
                "microapp.dev/cost-center": "CC-1234",
            },
        },
        "spec": {
            "template": "web-service@^1",
            "image": "registry.internal/bench/app:1.0.0",
            "replicas": 1 + (i if distinct else i % 20) % 10,
            "resources": {
                "cpu": f"{100 + (i if distinct else i % 20) % 1000}m",
                "memory": f"{256 + (i // 1000 if distinct else 0)}Mi",
            },
        },
    }
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "microapp.dev", "version": "v1alpha1", "kind": "MicroApp"},
            "resource": {"group": "microapp.dev", "version": "v1alpha1", "resource": "microapps"},
            "name": app["metadata"]["name"],
            "namespace": "team-finance",
            "operation": "CREATE",
            "userInfo": {"username": "alice@example.com", "groups": ["finance-devs"]},
            "object": app,
            "oldObject": None,
            "dryRun": True,
        },
    }


def loadgen() -> Path:
    """Build bench/loadgen (standard library only) into the cache, outside the repository."""
    binary = CACHE / "bench" / "loadgen"
    started = time.monotonic()
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=ROOT / "bench" / "loadgen", check=True)
    print(f"built bench/loadgen in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return binary


def load(
    binary: Path, url: str, n: int, concurrency: int, bodies: list[dict] | None, extra: list[str] | None = None
) -> dict:
    """Run the Go client; its JSON summary (latencies in ms)."""
    args = [str(binary), "-url", url, "-n", str(n), "-c", str(concurrency), "-warmup", str(WARMUP), *(extra or [])]
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


def registration(kubeconfig: str) -> str:
    """'absent', 'stale' (kept after its operator stopped: it fails closed) or 'live' (another
    operator answers it: leave it alone)."""
    got = kubectl(
        kubeconfig,
        "get",
        "validatingwebhookconfiguration",
        CONFIGURATION,
        "-o",
        "jsonpath={.webhooks[0].clientConfig.url}",
        check=False,
    )
    if got.returncode != 0:
        return "absent"
    url = urllib.parse.urlsplit(got.stdout.strip())
    try:
        socket.create_connection((url.hostname or "127.0.0.1", url.port or 443), timeout=1).close()
    except OSError:
        return "stale"
    return "live"


def webhook_histogram(kubeconfig: str) -> dict[str, float]:
    """The API server's own webhook latency buckets for our CREATE reviews (cumulative counts)."""
    text = kubectl(kubeconfig, "get", "--raw", "/metrics").stdout
    out: dict[str, float] = {}
    prefix = "apiserver_admission_webhook_admission_duration_seconds_"
    for line in text.splitlines():
        if not (
            line.startswith(prefix) and f'name="admission.{CONFIGURATION}"' in line and 'operation="CREATE"' in line
        ):
            continue
        series = line[len(prefix) :].split("{", 1)[0]
        key = line.split('le="', 1)[1].split('"', 1)[0] if series == "bucket" else series
        out[key] = out.get(key, 0) + float(line.rsplit(" ", 1)[1])
    return out


def wait_registered(kubeconfig: str, port: int, timeout: float = 60) -> None:
    """Until the webhook configuration points at this operator (Kopf patches it after start)."""
    print(f"waiting for the webhook configuration to point at 127.0.0.1:{port} ...", file=sys.stderr)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = kubectl(
            kubeconfig,
            "get",
            "validatingwebhookconfiguration",
            CONFIGURATION,
            "-o",
            "jsonpath={.webhooks[*].clientConfig.url}",
            check=False,
        ).stdout
        if got and all(f":{port}/" in url for url in got.split()):
            return
        time.sleep(0.5)
    raise SystemExit(f"the webhook configuration {CONFIGURATION} never pointed at port {port}")


def ensure_namespace(kubeconfig: str) -> bool:
    """The team namespace the creates go to; True when this run created it (and deletes it)."""
    phase = kubectl(kubeconfig, "get", "namespace", NAMESPACE, "-o", "jsonpath={.status.phase}", check=False)
    if phase.returncode == 0 and phase.stdout.strip() == "Terminating":  # a previous run's, going away
        print(f"waiting for namespace {NAMESPACE} to finish terminating ...", file=sys.stderr)
        kubectl(kubeconfig, "wait", "--for=delete", f"namespace/{NAMESPACE}", "--timeout=120s", check=False)
    elif phase.returncode == 0:
        return False
    kubectl(kubeconfig, "create", "namespace", NAMESPACE)
    return True


def api_server_pass(binary: Path, kubeconfig: str, n: int, concurrency: int) -> dict:
    """Dry-run MicroApp creates through kube-apiserver, the webhook's real client; the latency
    of the webhook calls as the API server measured them (its histogram's buckets)."""
    config = yaml.safe_load(Path(kubeconfig).read_text())
    user, cluster = config["users"][0]["user"], config["clusters"][0]["cluster"]
    created_ns = ensure_namespace(kubeconfig)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        key.chmod(0o600)
        url = f"{cluster['server']}/apis/microapp.dev/v1alpha1/namespaces/{NAMESPACE}/microapps?dryRun=All"
        before = webhook_histogram(kubeconfig)
        client = load(
            binary,
            url,
            n,
            concurrency,
            [review(i)["request"]["object"] for i in range(n + WARMUP)],
            extra=[
                "-cert",
                str(cert),
                "-key",
                str(key),
                "-status",
                "201",
                "-review=false",
                "-warning",
                "estimated cost",
            ],
        )
        after = webhook_histogram(kubeconfig)
    if created_ns:
        kubectl(kubeconfig, "delete", "namespace", NAMESPACE, "--wait=false", check=False)
    calls = {le: after.get(le, 0) - before.get(le, 0) for le in after}
    total = calls.get("+Inf", 0)
    mean = calls.get("sum", 0) / total if total else 0
    return {
        "api_requests": n,
        "api_p50_ms": client["p50_ms"],
        "api_p99_ms": client["p99_ms"],
        "api_webhook_calls": int(total),
        "api_webhook_mean_ms": round(1000 * mean, 2),
        # Little's law: how many webhook calls the API server had in flight on average
        "api_webhook_in_flight": round(client["requests_per_second"] * mean, 1),
        "api_webhook_calls_under_5ms": round(calls.get("0.005", 0) / total, 4) if total else None,
        "api_webhook_calls_under_25ms": round(calls.get("0.025", 0) / total, 4) if total else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG", str(ROOT / ".cluster" / "kubeconfig"))
    binary = loadgen()
    before = registration(kubeconfig)
    register = before != "live"  # another operator's registration (a make demo) is left alone
    if not register:
        print(
            "a running operator serves the webhook configuration: skipping the pass through "
            "kube-apiserver (make down first to include it)",
            file=sys.stderr,
        )
    live, hook, prom = free_port(), free_port(), free_port()
    log = Path(tempfile.mkdtemp(prefix="microapp-bench-")) / "operator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "microapp_operator",
                "run",
                "--liveness",
                f"http://127.0.0.1:{live}/healthz",
                "--webhook-port",
                str(hook),
                *([] if register else ["--webhook-no-register"]),
                "--namespace",
                "microapp-bench-none",  # reconcile nothing
                "--metrics-port",
                str(prom),
            ],
            env={**os.environ, "KUBECONFIG": kubeconfig},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "initial sync done" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"operator did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        webhook = f"https://127.0.0.1:{hook}/admission"
        distinct = load(
            binary,
            webhook,
            args.requests,
            args.concurrency,  # + the warm-up's own
            [review(i) for i in range(args.requests + WARMUP)],
        )
        repeated = load(
            binary, webhook, args.requests, args.concurrency, [review(i, distinct=False) for i in range(20)]
        )
        live = load(binary, f"http://127.0.0.1:{live}/healthz", args.requests, args.concurrency, None)
        api = {}
        if register:
            wait_registered(kubeconfig, hook)
            api = api_server_pass(binary, kubeconfig, args.requests, args.concurrency)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if register and before == "absent":  # persistent (fails closed): do not leave ours behind
            kubectl(kubeconfig, "delete", "validatingwebhookconfiguration", CONFIGURATION, check=False)
    result = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "webhook_p50_ms": distinct["p50_ms"],
        "webhook_p99_ms": distinct["p99_ms"],
        "webhook_mean_ms": round(distinct["mean_ms"], 2),
        "webhook_per_second": round(distinct["requests_per_second"]),
        "repeated_specs_p50_ms": repeated["p50_ms"],
        "repeated_specs_p99_ms": repeated["p99_ms"],
        "liveness_p50_ms": live["p50_ms"],
        "liveness_p99_ms": live["p99_ms"],
        "webhook_over_liveness_p99": round(distinct["p99_ms"] / live["p99_ms"], 2),
        "goal_p99_under_25ms_distinct": distinct["p99_ms"] < 25,
        "goal_p99_under_25ms_repeated": repeated["p99_ms"] < 25,
        **api,
    }
    print(f"admission webhook latency ({args.concurrency} concurrent, {args.requests} dry-run reviews):")
    for k, v in result.items():
        print(f"  {k:28} {v}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
