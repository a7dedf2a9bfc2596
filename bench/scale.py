"""make bench-scale: N MicroApps on a local control plane of their own, the operator's figures.

A realistic mix (40% web-service, 20% worker, 20% scheduled-job, 10% serverless-function, 10%
webhook-handler) over four teams of three namespaces each, created by a parallel client (20 in
flight) through admission. Kwok nodes are sized for the Pods (at most 110 per node). Measured
in one run:

- rollout: from the first create until every app has ``observedGeneration`` current (children
  applied, status written); the floor: a client server-side-applying the very same children
  (copied from the cluster into fresh namespaces) with the operator's concurrency; their ratio;
- API economy from the API server's audit log (the operator's user agent; the API server's
  ``apiserver_request_total`` cannot tell clients apart and kwok writes every Pod's status):
  writes per created app against children + 1 (split: children, status, Events), writes during
  a full no-op resync and after a restart (both must be 0; a restart in this local mode
  re-registers Kopf's webhook configurations with a new CA: counted apart);
- footprint: peak RSS (after the rollout and idle minute, and of the restarted operator 10 s
  after its start with N apps present), CPU seconds of the rollout, CPU per minute idle (one
  full resync inside);
- admission: p50/p99 of dry-run creates through kube-apiserver at 20 concurrent with N apps present.

Results: a row in BENCHMARKS.md (printed) and bench/results/scale-N.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "operator"))
sys.path.insert(0, str(ROOT / "bench"))
from common import free_port  # noqa: E402
from common import kubectl as _kubectl  # noqa: E402

STATE = ROOT / ".cluster-scale"
NAME = "microapp-scale"
ENV = {**os.environ, "MICROAPP_STATE_DIR": str(STATE), "MICROAPP_CLUSTER_NAME": NAME}
KUBECONFIG = STATE / "kubeconfig"
AUDIT = STATE / "kwok" / "clusters" / NAME / "logs" / "audit.log"
TEAMS = ["alpha", "beta", "gamma", "delta"]
NAMESPACES = [f"scale-{t}-{k}" for t in TEAMS for k in range(3)]
MIX = [
    ("web-service", 4, {}),
    ("worker", 2, {}),
    ("scheduled-job", 2, {"schedule": "0 3 * * *"}),
    ("serverless-function", 1, {}),
    ("webhook-handler", 1, {}),
]
PODS = {"web-service": 1, "worker": 1}


def log(msg: str) -> None:
    print(f"[bench-scale] {msg}", file=sys.stderr, flush=True)


def kubectl(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _kubectl(str(KUBECONFIG), *args, input=input, check=check)


def shard_of(namespace: str, shards: int) -> str | None:
    """Teams are spread over the shards whole (a team's budget needs one writer)."""
    return f"s{TEAMS.index(namespace.split('-')[1]) % shards}" if shards > 1 else None


def app(i: int) -> dict[str, Any]:
    slot = [name for name, weight, _ in MIX for _ in range(weight)][i % 10]
    params = next(p for name, _, p in MIX if name == slot)
    namespace = NAMESPACES[i % len(NAMESPACES)]
    team = namespace.split("-")[1]
    spec: dict[str, Any] = {
        "template": f"{slot}@^1",
        "image": f"registry.internal/{team}/app-{i % 50}:1.{i % 7}.0",
        "resources": {"cpu": f"{100 + 50 * (i % 4)}m", "memory": f"{128 * (1 + i % 3)}Mi"},
        "telemetry": {"enabled": False},
    }
    if params:
        spec["parameters"] = params
    if slot in ("web-service", "worker"):
        spec["replicas"] = 1
    return {
        "apiVersion": "microapp.dev/v1alpha1",
        "kind": "MicroApp",
        "metadata": {
            "name": f"app-{i:05d}",
            "namespace": namespace,
            "annotations": {
                "microapp.dev/owner": f"dev{i % 40}@example.com",
                "microapp.dev/team": team,
                "microapp.dev/cost-center": "CC-1234",
            },
        },
        "spec": spec,
    }


def setup(n: int, shards: int) -> None:
    pods = sum(PODS.get(app(i)["spec"]["template"].split("@")[0], 0) for i in range(n))
    nodes = max(2, math.ceil(pods / 100) + 1)
    log(f"control plane with {nodes} kwok nodes for {pods} Pods ...")
    subprocess.run([str(ROOT / "hack" / "cluster.sh"), "up"], env={**ENV, "MICROAPP_NODES": str(nodes)}, check=True)
    for d in (ROOT / "crds", ROOT / "hack" / "crds"):
        kubectl("apply", "--server-side", "-f", str(d))
        kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(d))
    policy = {
        "apiVersion": "microapp.dev/v1alpha1",
        "kind": "PlatformPolicy",
        "metadata": {"name": "default"},
        "spec": {
            "pricing": {
                "currency": "USD",
                "hoursPerMonth": 730,
                "cpuCoreHour": "0.031611",
                "memoryGiBHour": "0.004237",
            },
            "teams": [{"name": t, "groups": [f"{t}-devs"], "namespaces": [f"scale-{t}-*"]} for t in TEAMS],
            "guardrails": {"allowedRegistries": ["registry.internal/"], "maxReplicas": 10, "requireCostCenter": True},
        },
    }
    kubectl("apply", "--server-side", "-f", "-", input=json.dumps(policy))
    kubectl("apply", "--server-side", "-f", str(ROOT / "operator" / "microapp_operator" / "templates"))
    for ns in NAMESPACES:
        kubectl("create", "namespace", ns, check=False)
        if shard_of(ns, shards):
            kubectl("label", "namespace", ns, f"microapp.dev/shard={shard_of(ns, shards)}", "--overwrite")
    kubectl("create", "namespace", "microapp-system", check=False)  # the shards' Leases


class Operator:
    def __init__(
        self, workers: int, resync: float, shard: str | None = None, shards: int = 1, extra: tuple[str, ...] = ()
    ) -> None:
        self.workers, self.resync, self.shard, self.shards, self.extra = workers, resync, shard, shards, extra
        self.log = STATE / (f"operator-{shard}.log" if shard else "operator.log")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.launch()
        self.wait()

    def launch(self) -> None:
        port, metrics = free_port(), free_port()
        self.liveness = f"http://127.0.0.1:{port}/healthz"
        self.metrics = f"http://127.0.0.1:{metrics}/metrics"
        self.offset = self.log.stat().st_size if self.log.exists() else 0
        sharding = (
            []
            if not self.shard
            else [
                "--shard",
                self.shard,
                "--shards",
                ",".join(f"s{i}" for i in range(self.shards)),
                "--leader-elect",
                "--leader-elect-identity",
                self.shard,
                "--shard-lease-prefix",
                "microapp-system/bench",
            ]
        )
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "microapp_operator",
                    "run",
                    "--workers",
                    str(self.workers),
                    "--resync-seconds",
                    str(self.resync),
                    "--liveness",
                    self.liveness,
                    "--metrics-port",
                    str(metrics),
                    "--webhook-port",
                    str(free_port()),
                    *sharding,
                    *self.extra,
                ],
                env={**os.environ, "KUBECONFIG": str(KUBECONFIG)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait(self) -> None:
        assert self.proc is not None
        offset = self.offset
        deadline = time.monotonic() + 300
        while "initial sync done" not in self.log.read_bytes()[offset:].decode(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the operator did not start; see {self.log}")
            time.sleep(0.5)

    def cpu(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reconciles(self) -> tuple[float, float]:
        """(reconciles run, reconciles skipped as settled) so far, from the operator's /metrics."""
        text = urllib.request.urlopen(self.metrics, timeout=10).read().decode()

        def total(name: str) -> float:
            return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))

        return total("microapp_reconcile_duration_seconds_count"), total("microapp_reconciles_skipped_total")

    def peak_rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
            self.proc = None


def audit_writes(since: datetime, until: datetime | None = None) -> list[dict[str, Any]]:
    """Write requests the API server logged from the operator (its client or Kopf's). The API
    server rotates its audit log every 100 MB (audit-<time>.log beside it): all are read."""
    out = []
    lines = (line for path in sorted(AUDIT.parent.glob("audit*.log")) for line in path.read_text().splitlines())
    for line in lines:
        e = json.loads(line)
        agent = str(e.get("userAgent", ""))
        if e.get("stage") != "ResponseComplete" or not (
            agent.startswith("microapp-operator/") or agent.startswith("kopf/")
        ):
            continue
        at = datetime.fromisoformat(e["requestReceivedTimestamp"].replace("Z", "+00:00"))
        if (
            at >= since
            and (until is None or at <= until)
            and e["verb"] in ("create", "update", "patch", "delete")
            and (e.get("objectRef") or {}).get("resource") != "leases"
        ):  # a shard's leader renews its Lease
            out.append(e)
    return out


async def parallel(items: list[Any], fn: Any, concurrency: int) -> list[float]:
    """Run ``fn(item)`` with at most ``concurrency`` in flight; the latency of each, in ms."""
    sem, latencies = asyncio.Semaphore(concurrency), []

    async def one(item: Any) -> None:
        async with sem:
            t0 = time.perf_counter()
            await fn(item)
            latencies.append(1000 * (time.perf_counter() - t0))

    await asyncio.gather(*(one(i) for i in items))
    return latencies


async def kube() -> Any:
    os.environ["KUBECONFIG"] = str(KUBECONFIG)
    from microapp_operator.runtime.kube import Kube

    return await Kube.connect(user_agent="bench-scale/1")  # the audit log tells the bench's requests apart


def _by_kind(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        ref = e.get("objectRef") or {}
        key = ref.get("resource", "?") + ("/" + ref["subresource"] if ref.get("subresource") else "")
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


class Progress:
    """Each app's state, followed with one list+watch. The bench used to list every MicroApp
    twice a second: at 10,000 apps that is 30 MB of JSON the API server serializes again and
    again while the operator needs it, a load the floor does not have."""

    def __init__(self, shards: int) -> None:
        self.shards = shards
        self.apps: dict[tuple[str, str], tuple[str, bool, bool, int]] = {}  # group, current, ready, children

    def take(self, obj: dict[str, Any], deleted: bool = False) -> None:
        meta, st = obj["metadata"], obj.get("status") or {}
        key = (meta["namespace"], meta["name"])
        if deleted:
            self.apps.pop(key, None)
            return
        knative = str(obj["spec"].get("template", "")).startswith(("serverless-function", "webhook-handler"))
        ready = knative or any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []
        )
        self.apps[key] = (
            shard_of(meta["namespace"], self.shards) or "all",
            st.get("observedGeneration") == meta.get("generation"),
            ready,
            len(st.get("inventory") or []),
        )

    async def follow(self, k: Any) -> None:
        from microapp_operator.api.kinds import MICROAPP

        while True:
            try:
                rv = ""
                async for items, rv in k.pages(MICROAPP):  # noqa: B007 - rv: the list's version, for the watch
                    for obj in items:
                        self.take(obj)
                async for event in k.watch(MICROAPP, label_selector="", resource_version=rv):
                    if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        self.take(event["object"], deleted=event["type"] == "DELETED")
                    elif event.get("type") == "ERROR":
                        break  # expired: list again
            except Exception as exc:  # noqa: BLE001 - a broken stream: list again
                print(f"[bench-scale] watch of MicroApps broke ({exc}); listing again", flush=True)
                await asyncio.sleep(1)

    def late(self) -> dict[str, int]:
        late: dict[str, int] = {}
        for group, current, _, _ in self.apps.values():
            late[group] = late.get(group, 0) + (not current)
        return late


async def rollout(n: int, shards: int) -> dict[str, Any]:
    k = await kube()
    progress = Progress(shards)
    follower = asyncio.create_task(progress.follow(k))
    since = datetime.now(UTC)
    t0 = time.monotonic()
    await parallel([app(i) for i in range(n)], lambda body: k.create(body), 20)
    created = time.monotonic() - t0
    per_shard: dict[str, float] = {}
    while True:
        late = progress.late()
        for group, count in late.items():
            if count == 0 and group not in per_shard:
                per_shard[group] = round(time.monotonic() - t0, 1)
        if len(progress.apps) >= n and not any(late.values()):
            break
        await asyncio.sleep(0.5)
    seconds = time.monotonic() - t0
    children = sum(c for _, _, _, c in progress.apps.values())
    # Then every app Ready (kwok's Pods running, the status written once more), but the Knative
    # ones: no Knative controller here, so their Services never report Ready.
    while not all(ready for _, _, ready, _ in progress.apps.values()):
        await asyncio.sleep(1)
    ready = time.monotonic() - t0
    follower.cancel()
    await asyncio.gather(follower, return_exceptions=True)
    await k.close()
    return {
        "since": since,
        "seconds": round(seconds, 1),
        "create_seconds": round(created, 1),
        "children": children,
        "ready_seconds": round(ready, 1),
        "per_shard_s": per_shard,
    }


async def floor(workers: int, prefix: str = "floor-") -> dict[str, Any]:
    """The same children, copied into fresh namespaces, server-side applied with `workers` in flight."""
    k = await kube()
    from microapp_operator.api.kinds import CHILDREN

    objects = []
    for res in CHILDREN:
        try:
            listing = await k.list(res, label_selector="app.kubernetes.io/managed-by=microapp-operator")
        except Exception:  # noqa: BLE001 - a kind this cluster lacks
            continue
        for o in listing.get("items") or []:
            meta = o["metadata"]
            if meta["namespace"] not in NAMESPACES:
                continue  # an earlier floor's copies
            if res.kind == "Service" and res.api_version == "v1":  # addresses are allocated, not copied
                for key in ("clusterIP", "clusterIPs"):
                    o["spec"].pop(key, None)
            objects.append(
                {
                    "apiVersion": res.api_version,
                    "kind": res.kind,
                    "metadata": {
                        "name": meta["name"],
                        "namespace": prefix + meta["namespace"],
                        "labels": meta.get("labels") or {},
                        "annotations": meta.get("annotations") or {},
                    },
                    **{key: v for key, v in o.items() if key not in ("apiVersion", "kind", "metadata", "status")},
                }
            )
    for ns in NAMESPACES:
        kubectl("create", "namespace", prefix + ns, check=False)
    t0 = time.monotonic()
    await parallel(objects, lambda obj: k.apply(obj, force=True), workers)
    seconds = time.monotonic() - t0
    await k.close()
    return {"seconds": round(seconds, 1), "objects": len(objects)}


async def admission(n: int) -> dict[str, Any]:
    k = await kube()
    bodies = [app(100000 + i) for i in range(n)]
    await parallel(
        bodies[:100],
        lambda b: k.request(
            "POST",
            f"/apis/microapp.dev/v1alpha1/namespaces/{b['metadata']['namespace']}/microapps",
            body=b,
            query={"dryRun": "All"},
        ),
        20,
    )
    lat = await parallel(
        bodies[100:],
        lambda b: k.request(
            "POST",
            f"/apis/microapp.dev/v1alpha1/namespaces/{b['metadata']['namespace']}/microapps",
            body=b,
            query={"dryRun": "All"},
        ),
        20,
    )
    await k.close()
    return {"requests": len(lat), "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99)}


class Profiler:
    """py-spy sampling the operator (``--profile``): where its CPU goes, by function."""

    def __init__(self, pid: int, name: str) -> None:
        self.out = STATE / f"profile-{name}.txt"
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--rate",
                "50",
                "--format",
                "raw",
                "--nonblocking",
                "-o",
                str(self.out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self, top: int = 12) -> dict[str, Any]:
        """The functions with the most samples on top of the stack (self) and anywhere in it
        (inclusive, our package and the libraries under it), as shares of all samples."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        own: dict[str, int] = {}
        inclusive: dict[str, int] = {}
        total = 0
        for line in self.out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [
                f.split(" (")[0] + " (" + f.split(" (")[-1].split("/")[-1] if " (" in f else f for f in stack.split(";")
            ]
            total += int(count)
            own[frames[-1]] = own.get(frames[-1], 0) + int(count)
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + int(count)

        def share(counts: dict[str, int]) -> list[str]:
            return [f"{100 * c / max(total, 1):.1f}% {f}" for f, c in sorted(counts.items(), key=lambda x: -x[1])[:top]]

        roots = (
            "<module>",
            "<frozen runpy>",
            "main (cli.py",
            "command (run.py",
            "run (uvloop",
            "Runner.run",
            "_run_once",
            "run_until_complete",
            "run_forever",
            "Thread.",
            "_worker (thread.py",
        )
        return {
            "samples": total,
            "self": share(own),
            "inclusive": share({f: c for f, c in inclusive.items() if not any(r in f for r in roots)}),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--resync", type=float, default=60, help="the operators' resync; the idle window is one resync")
    parser.add_argument("--shards", type=int, default=1, help="operators, each owning the namespaces of some teams")
    parser.add_argument("--no-routine-events", action="store_true", help="run the operator(s) with it")
    parser.add_argument("--profile", action="store_true", help="py-spy the (first) operator in the rollout and idle")
    parser.add_argument("--keep", action="store_true", help="leave the control plane running")
    args = parser.parse_args()
    t_all = time.monotonic()
    setup(args.apps, args.shards)
    names = [f"s{i}" for i in range(args.shards)] if args.shards > 1 else [None]
    ops = [
        Operator(
            args.workers,
            resync=args.resync,
            shard=name,
            shards=args.shards,
            extra=("--no-routine-events",) if args.no_routine_events else (),
        )
        for name in names
    ]
    for op in ops:
        op.launch()
    for op in ops:
        op.wait()
    log(
        f"rollout of {args.apps} apps (20 creates in flight, {args.workers} operator workers, "
        f"{len(ops)} operator(s)) ..."
    )
    cpu0 = [op.cpu() for op in ops]
    profiler = Profiler(ops[0].proc.pid, f"rollout-{args.apps}") if args.profile else None  # type: ignore[union-attr]
    roll = asyncio.run(rollout(args.apps, args.shards))
    profile = {"rollout": profiler.stop()} if profiler else {}
    rollout_cpu = [op.cpu() - c for op, c in zip(ops, cpu0)]
    reconciles = [op.reconciles() for op in ops]
    time.sleep(5)  # the last Events and status writes land
    writes = audit_writes(roll["since"])
    log(
        f"rolled out in {roll['seconds']}s, all Ready at {roll['ready_seconds']}s; {len(writes)} operator writes; "
        f"waiting one full resync ({args.resync:.0f} s) ..."
    )
    quiet_from, cpu1 = datetime.now(UTC), [op.cpu() for op in ops]
    profiler = Profiler(ops[0].proc.pid, f"idle-{args.apps}") if args.profile else None  # type: ignore[union-attr]
    idle_window = args.resync + 10
    time.sleep(idle_window)
    if profiler:
        profile["idle"] = profiler.stop()
    idle_cpu_per_min = [(op.cpu() - c) / (idle_window / 60) for op, c in zip(ops, cpu1)]
    resync_writes = audit_writes(quiet_from)
    peak = [op.peak_rss_mb() for op in ops]
    log("admission at 20 concurrent with the apps present ...")
    adm = asyncio.run(admission(1100))
    log("operator restart ...")
    for op in ops:
        op.stop()
    restart_from = datetime.now(UTC)
    for op in ops:
        op.launch()
    for op in ops:
        op.wait()
    time.sleep(10)
    restart_writes = audit_writes(restart_from)
    restart_peak = [op.peak_rss_mb() for op in ops]  # a start with N apps present: every list at once
    for op in ops:
        op.stop()
    in_flight = args.workers * len(ops)
    log(f"floor: the same children applied by a tight client with {in_flight} in flight ...")
    fl = asyncio.run(floor(in_flight))
    # The floor with 16 in flight shows how much concurrency alone would buy (at 1,000 apps; the
    # large runs skip it: it adds as long again as the floor itself).
    fl_wide = asyncio.run(floor(16, prefix="floor16-")) if args.apps <= 1000 else {"seconds": None}
    shards = {}
    for i, name in enumerate(names):
        mine = [
            e
            for e in writes
            if name is None or shard_of((e.get("objectRef") or {}).get("namespace", ""), args.shards) == name
        ]
        apps = sum(
            1
            for j in range(args.apps)
            if name is None or shard_of(app(j)["metadata"]["namespace"], args.shards) == name
        )
        shards[name or "all"] = {
            "apps": apps,
            "rollout_s": roll["per_shard_s"].get(name or "all"),
            "writes_per_app": round(len(mine) / max(apps, 1), 2),
            "peak_rss_mb": round(peak[i], 1),
            "rollout_cpu_s": round(rollout_cpu[i], 1),
            "idle_cpu_s_per_min": round(idle_cpu_per_min[i], 2),
        }
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "apps": args.apps,
        "workers": args.workers,
        "operators": len(ops),
        "routine_events": not args.no_routine_events,
        "rollout_s": roll["seconds"],
        "create_s": roll["create_seconds"],
        "all_ready_s": roll["ready_seconds"],
        "floor_s": fl["seconds"],
        "floor_objects": fl["objects"],
        "floor_in_flight": in_flight,
        "rollout_over_floor": round(roll["seconds"] / fl["seconds"], 2),
        "floor_16_in_flight_s": fl_wide["seconds"],
        "rollout_over_floor_16": round(roll["seconds"] / fl_wide["seconds"], 2) if fl_wide["seconds"] else None,
        "children": roll["children"],
        "writes_rollout": len(writes),
        "writes_per_app": round(len(writes) / args.apps, 2),
        "writes_per_app_without_events": round(
            sum(1 for e in writes if (e.get("objectRef") or {}).get("resource") != "events") / args.apps, 2
        ),
        "children_plus_one_per_app": round(roll["children"] / args.apps + 1, 2),
        "writes_by_kind": _by_kind(writes),
        "writes_noop_resync": len(resync_writes),
        "writes_restart": len(restart_writes),
        "writes_restart_by_kind": _by_kind(restart_writes),
        "peak_rss_mb": round(max(peak), 1),
        "peak_rss_restart_mb": round(max(restart_peak), 1),
        "status_writes_per_app": round(
            sum(
                1
                for e in writes
                if (e.get("objectRef") or {}).get("subresource") == "status"
                and (e.get("objectRef") or {}).get("resource") == "microapps"
            )
            / args.apps,
            2,
        ),
        "rollout_cpu_s": round(sum(rollout_cpu), 1),
        "reconciles_per_app": round(sum(r for r, _ in reconciles) / args.apps, 2),
        "reconciles_skipped_per_app": round(sum(k for _, k in reconciles) / args.apps, 2),
        "resync_s": args.resync,
        "idle_cpu_s_per_min": round(sum(idle_cpu_per_min), 2),
        "admission": adm,
        "shards": shards,
        "profile": profile,
        "total_s": round(time.monotonic() - t_all, 1),
    }
    suffix = (f"-shards-{len(ops)}" if len(ops) > 1 else "") + ("-no-routine-events" if args.no_routine_events else "")
    out = ROOT / "bench" / "results" / f"scale-{args.apps}{suffix}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(
        f"| {result['date']} | {args.apps} ({len(ops)} operator{'s' if len(ops) > 1 else ''}) | "
        f"{result['rollout_s']} / {result['floor_s']} = "
        f"{result['rollout_over_floor']} | {result['writes_per_app']} (children+1: "
        f"{result['children_plus_one_per_app']}) | {result['writes_noop_resync']} / {result['writes_restart']} | "
        f"{result['peak_rss_mb']} | {result['rollout_cpu_s']} | {result['idle_cpu_s_per_min']} | "
        f"{adm['p50_ms']} / {adm['p99_ms']} |"
    )
    if not args.keep:
        subprocess.run([str(ROOT / "hack" / "cluster.sh"), "down"], env=ENV, check=False)


if __name__ == "__main__":
    main()
