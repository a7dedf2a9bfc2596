"""Apps' Pods run for real: the Pods the operator renders, run by the podman kubelet of
tests/delivery/podkubelet.py on a Node kwok leaves alone, with the demo app's image and the
collector's image (hack/app-images.sh).

- Restricted Pods: every built-in template's Pod, with telemetry on and off, starts under its
  security context (non-root, read-only root filesystem, no capabilities, no privilege escalation,
  memory limit), and the restrictions hold inside the containers.
- A sidecar whose configuration was made invalid on purpose exits with the collector's own
  message; its Pod is not Ready.
- The whole loop with the operator running from its chart and image: real HTTP requests to an app's
  Pod go through its sidecar (the rendered ConfigMap, unchanged) to the gateway
  (manifests/telemetry/gateway.yaml, on an address of hack/pod-network.sh), Prometheus and the
  operator's sweep with the default query. Apps sending OTLP over gRPC and over HTTP stay awake
  past a short idleAfter; an app without traffic goes Idle, is scaled to zero and its containers
  stop; the wake annotation starts them again.
"""

from __future__ import annotations

import copy
import json
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from microapp_operator.api import types as api
from microapp_operator.core import activity, catalog, plan
from tests.delivery.conftest import CHART, NS, RELEASE, Replicas, helm, host_values, record
from tests.delivery.podkubelet import NODE, Kubelet, podman
from tests.helpers import ROOT, eventually, get_json, kubectl, microapp
from tests.integration.test_activity import Prometheus, free_port
from tests.integration.test_telemetry_loop import NO_OWN_TELEMETRY, Processes, listening, promql

GATEWAY_IP = "10.213.0.1"  # microapp-host-1's address (hack/pod-network.sh): where the platform's gateway runs
POLICY = yaml.safe_load((ROOT / "tests" / "fixtures" / "platformpolicy.yaml").read_text())["spec"]
IDLE_AFTER = 45  # seconds: longer than a Pod takes to start here (about 20 s on 2 loaded cores)
LIFE = {"idleAfter": f"{IDLE_AFTER}s", "retireAfter": "1h", "notifyBefore": "10m"}
FAST_EXPORT = {"name": "OTEL_METRIC_EXPORT_INTERVAL", "value": "1000"}  # the SDK's default is 60 s


def built(script: str) -> list[str]:
    t0 = time.monotonic()
    proc = subprocess.run([str(ROOT / "hack" / script)], capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"hack/{script} failed:\n{proc.stderr[-3000:]}"
    print(proc.stderr)
    record(f"build {script}", seconds=round(time.monotonic() - t0, 1))
    return proc.stdout.strip().splitlines()[-1].split()


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    demo, collector, _ = built("app-images.sh")
    sample = yaml.safe_load((ROOT / "samples" / "demo-app.yaml").read_text())
    assert sample["spec"]["image"] == demo, "samples/demo-app.yaml names the image hack/app-images.sh builds"
    sizes = {
        ref: int(podman("image", "inspect", ref, "--format", "{{.Size}}").stdout) // 1_000_000
        for ref in (demo, collector)
    }
    record("images", demo_mb=sizes[demo], collector_mb=sizes[collector])
    return {"demo": demo, "collector": collector}


@pytest.fixture(scope="module")
def otelcol() -> str:
    return built("build-otelcol.sh")[0]


@pytest.fixture(scope="module")
def kubelet(cluster: Path, images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubelet]:
    """The podman kubelet's Node, the only schedulable one for apps: the simulated Nodes are
    cordoned meanwhile (the chart's Nodes of hack/pod-network.sh take only Pods that tolerate
    their taint)."""
    k = Kubelet(tmp_path_factory.mktemp("kubelet"))
    simulated = [
        n["metadata"]["name"]
        for n in get_json("nodes")["items"]
        if (n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") == "fake"
        and "microapp.dev/host-network" not in (n["metadata"].get("labels") or {})
    ]
    k.start()
    for node in simulated:
        kubectl("cordon", node)
    try:
        eventually(
            lambda: any(
                c["type"] == "Ready" and c["status"] == "True" for c in get_json("node", NODE)["status"]["conditions"]
            ),
            timeout=30,
            what=f"node {NODE} Ready",
        )
        yield k
    finally:
        print(k.report())
        for node in simulated:
            kubectl("uncordon", node, check=False)
        k.stop()


@pytest.fixture
def team_ns(cluster: Path) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


# ---- restricted Pods ---------------------------------------------------------------------------
def rendered_pod(template: str, telemetry: bool, namespace: str, image: str) -> tuple[dict[str, Any], list[dict]]:
    """The Pod a controller would make of the app's rendered workload, bound to the podman Node,
    and the app's ServiceAccount and ConfigMaps it needs (rendered by the operator's own core)."""
    pinned = template.partition("@")[2].replace(".", "")  # web-service@1.0.0 -> web100-...
    name = f"{template.split('-')[0][:8]}{pinned}-{'otel' if telemetry else 'bare'}"
    params = {"schedule": "0 2 * * *"} if template == "scheduled-job" else {}
    body = microapp(
        name, namespace, template=template, image=image, parameters=params, telemetry={"enabled": telemetry}
    )
    policy = copy.deepcopy(POLICY)
    policy["telemetry"]["endpoint"] = f"http://{GATEWAY_IP}:4317"
    objs = plan.desired(
        plan.parse({**body, "metadata": {**body["metadata"], "uid": "u"}}),
        catalog.builtin(),
        policy=api.PlatformPolicySpec.model_validate(policy),
    ).objects
    workload = next(
        o for o in objs if o["kind"] in ("Deployment", "CronJob") or o["apiVersion"].startswith("serving.knative.dev")
    )
    if workload["kind"] == "CronJob":
        template_spec = workload["spec"]["jobTemplate"]["spec"]["template"]
    else:
        template_spec = workload["spec"]["template"]
    spec = copy.deepcopy(template_spec["spec"])
    if workload["apiVersion"].startswith("serving.knative.dev"):
        # Knative's webhook names the user container and its Revision adds queue-proxy (not run here).
        for c in spec["containers"]:
            c.setdefault("name", "user-container")
        for field in ("timeoutSeconds", "containerConcurrency", "responseStartTimeoutSeconds", "idleTimeoutSeconds"):
            spec.pop(field, None)
    spec["nodeName"] = NODE
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": template_spec["metadata"].get("labels", {})},
        "spec": spec,
    }
    needed = [
        o for o in objs if o["kind"] in ("ServiceAccount", "ConfigMap") and "-dashboard" not in o["metadata"]["name"]
    ]
    for o in needed:
        o["metadata"]["namespace"] = namespace
        o["metadata"].pop("ownerReferences", None)
    return pod, needed


def ready(namespace: str, name: str) -> dict[str, Any] | None:
    pod = get_json("pod", name, "-n", namespace)
    conds = {c["type"]: c["status"] for c in pod.get("status", {}).get("conditions") or []}
    return pod if conds.get("Ready") == "True" else None


def exec_in(kubelet: Kubelet, namespace: str, pod: str, container: str, script: str) -> subprocess.CompletedProcess:
    return podman("exec", f"{kubelet.podman_pod(namespace, pod)}_{container}", "sh", "-c", script, check=False)


TEMPLATES = ["web-service", "web-service@1.0.0", "worker", "scheduled-job", "serverless-function", "webhook-handler"]
SERVERLESS = {"serverless-function", "webhook-handler"}
# What the restrictions look like from inside the app's container.
INSIDE = (
    "id -u; touch /probe 2>&1; touch /tmp/probe && echo tmp-writable; grep -E 'CapEff|NoNewPrivs' /proc/self/status"
)


def test_every_builtin_templates_pod_starts_restricted(kubelet: Kubelet, images: dict[str, str], team_ns: str) -> None:
    cases = [(t, on) for t in TEMPLATES for on in (True, False)]
    pods = []
    t0 = time.monotonic()
    for template, on in cases:
        pod, needed = rendered_pod(template, on, team_ns, images["demo"])
        kubectl("apply", "--server-side", "-f", "-", input=needed)
        kubectl("create", "-f", "-", input=pod)
        pods.append((template, on, pod))
    failures = []
    for template, on, pod in pods:
        name = pod["metadata"]["name"]
        try:
            eventually(lambda n=name: ready(team_ns, n), timeout=180, interval=1, what=f"{template} Pod Ready")
        except AssertionError as exc:
            st = json.dumps(get_json("pod", name, "-n", team_ns).get("status"))[:1500]
            failures.append(f"{template} telemetry={on}: {exc}\n{st}")
            continue
        states = kubelet.container_states(team_ns, name)
        expected = {c["name"] for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", [])}
        assert set(states) == expected and set(states.values()) == {"running"}, (template, on, states)
        serverless = template in SERVERLESS  # Knative: the app sends to the gateway itself, no sidecar
        assert ("otel-collector" in states) == (on and not serverless), (template, on, states)
        app = next(c for c in pod["spec"]["containers"] if c["name"] in ("app", "user-container"))
        out = exec_in(kubelet, team_ns, name, app["name"], INSIDE).stdout
        assert out.splitlines()[0] == "65532", (template, out)  # the image's numeric user: runAsNonRoot holds
        assert "Read-only file system" in out, (template, out)
        assert ("tmp-writable" in out) == any(m["mountPath"] == "/tmp" for m in app.get("volumeMounts") or []), (
            template,
            out,
        )
        assert "CapEff:\t0000000000000000" in out and "NoNewPrivs:\t1" in out, (template, out)
        limits = podman(
            "inspect",
            f"{kubelet.podman_pod(team_ns, name)}_{app['name']}",
            "--format",
            "{{.HostConfig.Memory}} {{.HostConfig.CpuShares}}",
        ).stdout.split()
        # the template's defaults enforced by the cgroup: 128Mi memory limit, 100m CPU request as shares
        assert [int(x) for x in limits] == [128 * 2**20, 102], (template, limits)
        print(f"{template} telemetry={on}: {sorted(states)} running; {out.splitlines()}")
    assert not failures, "\n".join(failures)
    record("restricted pods", pods=len(pods), seconds_to_all_ready=round(time.monotonic() - t0, 1))


def test_an_invalid_sidecar_configuration_fails_with_the_collectors_message(
    kubelet: Kubelet, images: dict[str, str], team_ns: str
) -> None:
    pod, needed = rendered_pod("web-service", True, team_ns, images["demo"])
    for o in needed:
        if o["kind"] == "ConfigMap":  # a processor outside the core distribution (contrib only)
            config = json.loads(o["data"]["config.yaml"])
            config["processors"]["transform"] = {"metric_statements": []}
            config["service"]["pipelines"]["metrics"]["processors"].append("transform")
            o["data"]["config.yaml"] = json.dumps(config)
    kubectl("apply", "--server-side", "-f", "-", input=needed)
    kubectl("create", "-f", "-", input=pod)
    name = pod["metadata"]["name"]

    def crashed() -> dict[str, Any] | None:
        st = get_json("pod", name, "-n", team_ns).get("status") or {}
        sidecar = next((c for c in st.get("containerStatuses") or [] if c["name"] == "otel-collector"), None)
        return st if sidecar and sidecar.get("lastState", {}).get("terminated") else None

    st = eventually(crashed, timeout=120, interval=1, what="the sidecar to exit")
    sidecar = next(c for c in st["containerStatuses"] if c["name"] == "otel-collector")
    app = next(c for c in st["containerStatuses"] if c["name"] == "app")
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    assert conds["Ready"] == "False" and conds["ContainersReady"] == "False", st
    assert sidecar["ready"] is False and sidecar["lastState"]["terminated"]["exitCode"] != 0, sidecar
    assert app["ready"] is True and "running" in app["state"], app  # the app itself runs; the Pod is not Ready
    logs = kubelet.logs(team_ns, name, "otel-collector")
    assert "'processors' unknown type: \"transform\"" in logs, logs
    # kubectl get pod shows it as a crash loop once the back-off starts
    eventually(
        lambda: "CrashLoopBackOff" in json.dumps(get_json("pod", name, "-n", team_ns)["status"]["containerStatuses"]),
        timeout=60,
        what="CrashLoopBackOff",
    )


# ---- the whole loop ------------------------------------------------------------------------------
@pytest.fixture
def telemetry_backend(cluster: Path, otelcol: str, tmp_path: Path) -> Iterator[tuple[str, Prometheus, Processes]]:
    """The gateway on microapp-host-1's address (the Pods reach it over podman's bridge), and
    Prometheus scraping it."""
    procs = Processes(tmp_path)
    grpc, http, metrics = free_port(), free_port(), free_port()
    procs.start(
        "gateway",
        [
            otelcol,
            f"--config={ROOT / 'manifests' / 'telemetry' / 'gateway.yaml'}",
            f"--config=yaml:receivers::otlp::protocols::grpc::endpoint: {GATEWAY_IP}:{grpc}",
            f"--config=yaml:receivers::otlp::protocols::http::endpoint: {GATEWAY_IP}:{http}",
            f"--config=yaml:exporters::prometheus::endpoint: 127.0.0.1:{metrics}",
            f"--config={NO_OWN_TELEMETRY}",
        ],
    )
    prom = None
    try:
        eventually(lambda: listening(metrics), timeout=30, what="the gateway to listen")
        prom = Prometheus(tmp_path, f"127.0.0.1:{metrics}")
        yield f"http://{GATEWAY_IP}:{grpc}", prom, procs
    finally:
        procs.stop()
        if prom is not None:
            prom.stop()


@pytest.fixture
def operator_release(cluster: Path, helm_bin: str, image: str, tmp_path: Path) -> Iterator[Replicas]:
    helm(
        helm_bin, "install", RELEASE, str(CHART), "-n", NS, "--create-namespace",
        "-f", str(host_values(tmp_path, replicaCount=1)), "--wait", "--timeout", "3m",
    )  # fmt: skip
    replicas = Replicas(tmp_path / "operator")
    try:
        replicas.start_all(1)
        replicas.leader()
        yield replicas
    finally:
        print(replicas.logs())
        replicas.remove_all()
        helm(helm_bin, "uninstall", RELEASE, "-n", NS, check=False)


def apply_policy(spec: dict[str, Any]) -> None:
    kubectl(
        "apply", "--server-side", "--field-manager=test-app-pods", "--force-conflicts", "-f", "-",
        input={"apiVersion": "microapp.dev/v1alpha1", "kind": "PlatformPolicy", "metadata": {"name": "default"},
               "spec": spec},
    )  # fmt: skip


def endpoint(namespace: str, app: str) -> str:
    """The app's Pod address as the real EndpointSlice controller publishes it (Ready Pods only)."""
    slices = get_json("endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={app}")["items"]
    ready_addrs = [
        a
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready")
        for a in e["addresses"]
    ]
    port = next((p["port"] for s in slices for p in s.get("ports") or []), None)
    return f"http://{ready_addrs[0]}:{port}" if ready_addrs and port else ""


def waited(predicate: Any, *, namespace: str, **kwargs: Any) -> Any:
    """eventually(), and on a timeout what the namespace's workloads and events say."""
    try:
        return eventually(predicate, **kwargs)
    except AssertionError as exc:
        seen = kubectl("get", "deploy,rs,pods", "-n", namespace, "-o", "wide", check=False).stdout
        events = kubectl("get", "events", "-n", namespace, check=False).stdout[-3000:]
        raise AssertionError(f"{exc}\n{seen}\n{events}") from None


def app_pod(namespace: str, app: str) -> dict[str, Any] | None:
    pods = get_json("pods", "-n", namespace, "-l", f"microapp.dev/name={app}")["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    return live[0] if live else None


def status(namespace: str, name: str) -> dict[str, Any]:
    return get_json("mapp", name, "-n", namespace).get("status", {})


def test_real_traffic_keeps_real_pods_awake_and_idle_pods_really_stop(
    kubelet: Kubelet,
    images: dict[str, str],
    operator_release: Replicas,
    telemetry_backend: tuple[str, Prometheus, Processes],
    team_ns: str,
) -> None:
    gateway, prom, procs = telemetry_backend
    policy = copy.deepcopy(POLICY)  # the tests' policy (the chart's defaultPolicy) pointed at the loop
    policy["telemetry"]["endpoint"] = gateway
    policy["activity"] = {"prometheusUrl": prom.url}  # the default query
    policy["lifecycle"]["sweepInterval"] = "2s"
    apply_policy(policy)
    http = {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "http/protobuf"}
    # quiet is a worker: no readiness probe. probed is a web service that nobody visits: its
    # readiness probe (web-service 1.1.0: a TCP connect) must not count as traffic, as 1.0.0's
    # HTTP probe did (each one a request the app's instrumentation counted: it never went Idle).
    apps = {
        "busy-grpc": [FAST_EXPORT],
        "busy-http": [FAST_EXPORT, http],
        "quiet": [FAST_EXPORT],
        "probed": [FAST_EXPORT],
    }
    templates = {"quiet": "worker"}
    bodies = [
        microapp(
            n,
            team_ns,
            template=templates.get(n, "web-service"),
            image=images["demo"],
            lifecycle=LIFE,
            telemetry={"enabled": True},
            env=env,
            **({} if n == "quiet" else {"expose": "internal"}),
        )
        for n, env in apps.items()
    ]
    # The webhook answers once the operator's Pod is Ready and in the Service's EndpointSlice.
    eventually(
        lambda: kubectl("apply", "-f", "-", input=bodies),
        timeout=90,
        interval=2,
        what="the apps admitted by the operator's webhook",
    )
    created = time.monotonic()
    stop = threading.Event()
    served = {"busy-grpc": 0, "busy-http": 0}

    def traffic(app: str) -> None:  # bounded: until the test ends, at most 10 minutes
        deadline = time.monotonic() + 600
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                url = endpoint(team_ns, app)  # "" until the Pod is Ready
            except AssertionError:  # kubectl failed (a loaded API server): try again
                url = ""
            if not url:
                stop.wait(0.5)
                continue
            for _ in range(10):
                try:
                    with urllib.request.urlopen(f"{url}/", timeout=5) as r:
                        served[app] += r.status == 200
                except OSError:
                    pass
                stop.wait(0.3)

    for app in served:
        threading.Thread(target=traffic, args=(app,), daemon=True).start()
    try:
        run_loop(kubelet, team_ns, apps, served, prom, created)
    finally:
        stop.set()
        kubectl("delete", "mapp", "--all", "-n", team_ns, "--wait=false", check=False)
        apply_policy(copy.deepcopy(POLICY))  # the tests' policy again (this test's fields released)


def run_loop(
    kubelet: Kubelet, team_ns: str, apps: dict[str, Any], served: dict[str, int], prom: Prometheus, created: float
) -> None:
    for name in apps:
        pod = waited(
            lambda n=name: (p := app_pod(team_ns, n)) and ready(team_ns, p["metadata"]["name"]),
            timeout=240,
            interval=1,
            what=f"{name}'s Pod Ready on {NODE}",
            namespace=team_ns,
        )
        assert pod["spec"]["nodeName"] == NODE
        states = kubelet.container_states(team_ns, pod["metadata"]["name"])
        assert states == {"app": "running", "otel-collector": "running"}, (name, states)
    first_ready = round(time.monotonic() - created, 1)

    try:
        eventually(
            lambda: (
                {
                    s["metric"]["microapp"]
                    for s in promql(prom.url, activity.DEFAULT_QUERY)
                    if s["metric"].get("namespace") == team_ns and float(s["value"][1]) > 0
                }
                == set(served)
            ),
            timeout=120,
            interval=1,
            what="the default activity query to return both busy apps",
        )
    except AssertionError as exc:
        raw = promql(prom.url, f'{{k8s_namespace_name="{team_ns}"}}')
        logs = {
            a: kubelet.logs(team_ns, app_pod(team_ns, a)["metadata"]["name"], "otel-collector")[-1500:] for a in apps
        }
        app_logs = {a: kubelet.logs(team_ns, app_pod(team_ns, a)["metadata"]["name"], "app")[-1500:] for a in apps}
        raise AssertionError(
            f"{exc}\nseries: {[r['metric'] for r in raw][:10]}\nsidecars: {logs}\napps: {app_logs}\nserved: {served}"
        ) from None
    quiet_pod = app_pod(team_ns, "quiet")["metadata"]["name"]
    eventually(
        lambda: status(team_ns, "quiet").get("phase") == "Idle", timeout=120, interval=1, what="quiet to go Idle"
    )
    idle_at = time.monotonic()
    assert get_json("deployment", "quiet", "-n", team_ns)["spec"]["replicas"] == 0
    eventually(
        lambda: kubelet.container_states(team_ns, quiet_pod) == {},
        timeout=90,
        interval=1,
        what="quiet's containers to stop",
    )
    stopped_after = round(time.monotonic() - idle_at, 1)
    time.sleep(max(0.0, 2 * IDLE_AFTER - (time.monotonic() - created)))  # past idleAfter, twice over
    for app in served:
        st = status(team_ns, app)
        assert st["phase"] == "Running" and st["lifecycle"]["activitySource"] == "traffic", (app, st)
        pod = app_pod(team_ns, app)
        assert kubelet.container_states(team_ns, pod["metadata"]["name"]) == {
            "app": "running",
            "otel-collector": "running",
        }
    assert min(served.values()) > 20, served
    for app in served:
        assert "deprecated" not in kubelet.logs(team_ns, app_pod(team_ns, app)["metadata"]["name"], "otel-collector")

    # Wake: the annotation brings quiet back, its containers start again.
    woken = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kubectl("annotate", "mapp", "quiet", "-n", team_ns, f"microapp.dev/wake={stamp}", "--overwrite")
    pod = eventually(
        lambda: (p := app_pod(team_ns, "quiet")) and ready(team_ns, p["metadata"]["name"]),
        timeout=180,
        interval=0.5,
        what="quiet's new Pod Ready",
    )
    ready_after = round(time.monotonic() - woken, 1)
    assert kubelet.container_states(team_ns, pod["metadata"]["name"]) == {
        "app": "running",
        "otel-collector": "running",
    }
    assert pod["metadata"]["name"] != quiet_pod
    # A web service without a single user request goes Idle: its readiness probes are not traffic.
    probed = eventually(
        lambda: (st := status(team_ns, "probed")).get("phase") == "Idle" and st,
        timeout=120,
        interval=1,
        what="probed (a web service nobody visits, probed every 10 s) to go Idle",
    )
    assert probed["template"]["version"] == "1.1.0", probed["template"]
    probes = [
        float(s["value"][1])
        for s in promql(prom.url, activity.DEFAULT_QUERY)
        if s["metric"] == {"namespace": team_ns, "microapp": "probed"}
    ]
    assert not [v for v in probes if v > 0], probes
    print(f"probed (no user traffic, readiness probe every 10 s): phase {probed['phase']}, query {probes}")
    record(
        "app pods loop",
        first_ready_s=first_ready,
        idle_to_containers_stopped_s=stopped_after,
        wake_to_ready_s=ready_after,
        requests=served,
        probed_phase=probed["phase"],
        probed_query=probes,
    )
    print(f"served {served}; Idle -> stopped {stopped_after}s; wake -> Ready {ready_after}s")


def test_an_image_that_runs_as_root_is_refused_under_run_as_non_root(kubelet: Kubelet, team_ns: str) -> None:
    """The base image has no USER (root): the rendered Pod's runAsNonRoot refuses it, with the
    kubelet's own reason and message, and the Pod is not Ready."""
    pod, needed = rendered_pod("worker", False, team_ns, "localhost/microapp-base:bookworm")
    kubectl("apply", "--server-side", "-f", "-", input=needed)
    kubectl("create", "-f", "-", input=pod)
    name = pod["metadata"]["name"]

    def refused() -> dict[str, Any] | None:
        st = get_json("pod", name, "-n", team_ns).get("status") or {}
        waiting = next(iter(st.get("containerStatuses") or []), {}).get("state", {}).get("waiting") or {}
        return st if waiting.get("reason") == "CreateContainerConfigError" else None

    st = eventually(refused, timeout=60, interval=1, what="CreateContainerConfigError")
    waiting = st["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"] == "container has runAsNonRoot and image will run as root", waiting
    assert {c["type"]: c["status"] for c in st["conditions"]}["Ready"] == "False", st
    assert kubelet.container_states(team_ns, name) == {}  # nothing was started
