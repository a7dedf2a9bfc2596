"""The telemetry loop a platform team runs, with real parts: the demo app (samples/demo-app: the
OpenTelemetry SDK and its standard WSGI instrumentation, configured only by the OTEL_* environment
the operator rendered into the app container) -> the sidecar (the real collector,
hack/build-otelcol.sh, with the ConfigMap the operator rendered) -> the gateway (the same
collector with manifests/telemetry/gateway.yaml) -> Prometheus (Debian's) -> the operator's
activity sweep with the DEFAULT query. Real HTTP requests to the app keep it awake past a short
idleAfter; an app without requests goes Idle and is scaled to zero. Over gRPC (the rendered
default) and OTLP/HTTP (an app that sets OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf).

The processes run on this machine's loopback, not in Pods (kwok runs the Pods here; the same
loop with real Pods, run by a podman kubelet, is tests/delivery/test_app_pods.py). Two apps'
sidecars share one loopback, so
the test overlays, and only these: the sidecars' receiver ports (and the app's endpoint port with
them), the app's PORT, the gateway's listen addresses, and each collector's own telemetry off
(it would listen on 8888 in each). The rendered files themselves are loaded unchanged.

A second test: a query that meets no telemetry (the shape of the old default) answers no series
for any app while apps with telemetry have run past its window: activity unknown, nothing idles,
and the PlatformPolicy's ActivityKnown condition and an Event say why.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from microapp_operator.core import activity
from tests.helpers import ROOT, eventually, get_json, kubectl, microapp, policy_fields
from tests.integration.test_activity import Prometheus, free_port

LIFE = {"idleAfter": "15s", "retireAfter": "1h", "notifyBefore": "10m"}
NO_OWN_TELEMETRY = "yaml:service::telemetry::metrics::level: none"


def built(script: str) -> str:
    proc = subprocess.run([str(ROOT / "hack" / script)], capture_output=True, text=True)
    assert proc.returncode == 0, f"hack/{script} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def otelcol() -> str:
    return built("build-otelcol.sh")


@pytest.fixture(scope="module")
def instrument() -> str:
    return built("demoapp.sh")


class Processes:
    """Processes started by one test, each with its log; all stopped at the end."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        return (self.dir / f"{name}.log").read_text(errors="replace")

    def alive(self) -> None:
        for name, proc in self.procs:
            assert proc.poll() is None, f"{name} exited {proc.returncode}:\n{self.log(name)[-3000:]}"

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def apply_policy(spec: dict[str, Any]) -> None:
    policy_fields("test-telemetry-loop", spec, force=True)


def restore_policy() -> None:
    policy_fields("test-telemetry-loop", check=False)
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=microapp-install",
        "--force-conflicts",
        "-f",
        str(ROOT / "tests" / "fixtures" / "platformpolicy.yaml"),
        check=False,
    )


def status(namespace: str, name: str) -> dict[str, Any]:
    return get_json("mapp", name, "-n", namespace).get("status", {})


def promql(url: str, query: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': query})}", timeout=5) as r:
        answer = json.loads(r.read())
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def activity_condition() -> dict[str, Any]:
    conds = get_json("platformpolicy", "default").get("status", {}).get("conditions") or []
    return next((c for c in conds if c["type"] == "ActivityKnown"), {})


def run_app(
    procs: Processes, otelcol: str, instrument: str, namespace: str, name: str, workdir: Path
) -> tuple[int, str]:
    """The app's Pod as processes: its sidecar with the rendered ConfigMap, then the demo app with the
    rendered env. Returns the app's port and the protocol it sends with."""
    config = get_json("configmap", f"{name}-otel", "-n", namespace)["data"]["config.yaml"]
    (workdir / f"{name}-otel.yaml").write_text(config)
    grpc, http = free_port(), free_port()
    procs.start(
        f"{name}-sidecar",
        [
            otelcol,
            f"--config={workdir / f'{name}-otel.yaml'}",
            f"--config=yaml:receivers::otlp::protocols::grpc::endpoint: 127.0.0.1:{grpc}",
            f"--config=yaml:receivers::otlp::protocols::http::endpoint: 127.0.0.1:{http}",
            f"--config={NO_OWN_TELEMETRY}",
        ],
    )
    eventually(lambda: listening(grpc) and listening(http), timeout=30, what=f"{name}'s sidecar to listen")
    container = get_json("deployment", name, "-n", namespace)["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] in ("http://127.0.0.1:4317", "http://127.0.0.1:4318"), env
    protocol = env["OTEL_EXPORTER_OTLP_PROTOCOL"]
    port = grpc if env["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(":4317") else http
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{port}"
    app_port = free_port()
    env |= {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "HOST": "127.0.0.1"}
    env["PORT"] = str(app_port)
    procs.start(name, [instrument, str(Path(instrument).parent / "python"), str(ROOT / "samples/demo-app/app.py")], env)
    eventually(lambda: listening(app_port), timeout=60, what=f"the {name} app to listen")
    return app_port, protocol


@pytest.fixture
def loop(crds: None, tmp_path: Path, otelcol: str) -> Iterator[tuple[Processes, Prometheus, int]]:
    """The gateway (manifests/telemetry/gateway.yaml), Prometheus scraping it, and the policy pointing
    the sidecars at the gateway and the sweep at Prometheus (default query)."""
    procs = Processes(tmp_path)
    grpc, http, metrics = free_port(), free_port(), free_port()
    procs.start(
        "gateway",
        [
            otelcol,
            f"--config={ROOT / 'manifests' / 'telemetry' / 'gateway.yaml'}",
            f"--config=yaml:receivers::otlp::protocols::grpc::endpoint: 127.0.0.1:{grpc}",
            f"--config=yaml:receivers::otlp::protocols::http::endpoint: 127.0.0.1:{http}",
            f"--config=yaml:exporters::prometheus::endpoint: 127.0.0.1:{metrics}",
            f"--config={NO_OWN_TELEMETRY}",
        ],
    )
    prom = None
    try:
        eventually(lambda: listening(grpc) and listening(metrics), timeout=30, what="the gateway to listen")
        prom = Prometheus(tmp_path, f"127.0.0.1:{metrics}")
        apply_policy(
            {
                "telemetry": {"endpoint": f"http://127.0.0.1:{grpc}"},
                "activity": {"prometheusUrl": prom.url},
                "lifecycle": {"sweepInterval": "2s"},
            }
        )
        yield procs, prom, grpc
    finally:
        restore_policy()
        procs.stop()
        if prom is not None:
            prom.stop()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_real_requests_through_real_telemetry_keep_an_app_awake(
    operator: object,
    namespace: str,
    loop: tuple[Processes, Prometheus, int],
    otelcol: str,
    instrument: str,
    tmp_path: Path,
    protocol: str,
) -> None:
    procs, prom, _ = loop
    env = [{"name": "OTEL_METRIC_EXPORT_INTERVAL", "value": "1000"}]  # the SDK's default is 60 s
    if protocol != "grpc":
        env.append({"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": protocol})
    apps = [microapp(n, namespace, lifecycle=LIFE, telemetry={"enabled": True}, env=env) for n in ("busy", "quiet")]
    kubectl("apply", "-f", "-", input=apps)
    created = time.monotonic()
    for name in ("busy", "quiet"):
        eventually(
            lambda n=name: kubectl("get", "configmap", f"{n}-otel", "-n", namespace, check=False).returncode == 0
        )
    busy_port, sent_with = run_app(procs, otelcol, instrument, namespace, "busy", tmp_path)
    run_app(procs, otelcol, instrument, namespace, "quiet", tmp_path)
    assert sent_with == protocol

    stop = threading.Event()
    served = [0]

    def traffic() -> None:  # bounded: until the test ends, at most 10 minutes
        deadline = time.monotonic() + 600
        while not stop.is_set() and time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{busy_port}/", timeout=5) as r:
                served[0] += r.status == 200
            stop.wait(0.3)

    threading.Thread(target=traffic, daemon=True).start()
    try:
        series = eventually(
            lambda: [
                s
                for s in promql(prom.url, activity.DEFAULT_QUERY)
                if s["metric"].get("namespace") == namespace and float(s["value"][1]) > 0
            ],
            timeout=90,
            what="the default activity query to return the busy app",
        )
        assert [s["metric"] for s in series] == [{"namespace": namespace, "microapp": "busy"}]
        raw = promql(prom.url, f'http_server_request_duration_seconds_count{{k8s_namespace_name="{namespace}"}}')
        assert {s["metric"]["service_name"] for s in raw} == {"busy"}  # quiet served nothing: no series
        eventually(lambda: status(namespace, "quiet").get("phase") == "Idle", timeout=90, what="quiet to go Idle")
        assert get_json("deployment", "quiet", "-n", namespace)["spec"]["replicas"] == 0
        time.sleep(max(0.0, 2 * 15 - (time.monotonic() - created)))  # past busy's idleAfter, twice over
        procs.alive()
        busy = status(namespace, "busy")
        assert busy["phase"] == "Running" and busy["lifecycle"]["activitySource"] == "traffic", busy
        assert get_json("deployment", "busy", "-n", namespace)["spec"]["replicas"] == 1
        cond = activity_condition()
        assert (cond.get("status"), cond.get("reason")) == ("True", "TrafficSourceAnswers"), cond
        assert served[0] > 20
        for name in ("gateway", "busy-sidecar", "quiet-sidecar"):  # the names the pinned collector names
            assert "deprecated" not in procs.log(name), procs.log(name)
        print(f"{protocol}: {served[0]} requests; series {raw[0]['metric']}")
    finally:
        stop.set()


def test_a_query_meeting_no_telemetry_idles_nothing_and_says_why(
    operator: object, namespace: str, tmp_path: Path
) -> None:
    """The old default's shape, with a 10 s window so the test need not wait an hour (idleAfter is
    longer than the window, as 14d is longer than 1h by default: within the window an empty answer
    is still trusted)."""
    target = free_port()  # nothing listens: Prometheus answers an empty vector, well-formed
    prom = Prometheus(tmp_path, f"127.0.0.1:{target}")
    old = "sum by (namespace, microapp) (increase(http_server_requests_total[10s]))"
    try:
        apps = [microapp(n, namespace, lifecycle=LIFE, telemetry={"enabled": True}) for n in "ab"]
        kubectl("apply", "-f", "-", input=apps)
        kubectl("wait", "--for=condition=Ready", "--timeout=90s", "-n", namespace, "mapp/a", "mapp/b", timeout=100)
        apply_policy({"activity": {"prometheusUrl": prom.url, "query": old}, "lifecycle": {"sweepInterval": "2s"}})
        cond = eventually(
            lambda: (c := activity_condition()).get("reason") == "QueryMeetsNoTelemetry" and c,
            timeout=60,
            what="ActivityKnown=False with reason QueryMeetsNoTelemetry",
        )
        assert cond["status"] == "False" and "returned no series for any app" in cond["message"], cond
        events = get_json("events", "-n", "default", "--field-selector", "involvedObject.kind=PlatformPolicy")["items"]
        assert any(e["reason"] == "QueryMeetsNoTelemetry" and e["type"] == "Warning" for e in events), events
        time.sleep(20)  # past idleAfter (15s) since the apps were created, several sweeps
        for name in "ab":
            st = status(namespace, name)
            assert st["phase"] == "Running", st
            assert "activity unknown" in st["lifecycle"].get("message", ""), st
    finally:
        restore_policy()
        prom.stop()
