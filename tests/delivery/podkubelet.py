"""A kubelet for one Node, played on this machine with podman: it runs the Pods scheduled to that
Node for real, every container of a Pod in one podman pod (one network namespace), and is the
only one writing their status.

kwok manages only the Nodes annotated ``kwok.x-k8s.io/node=fake`` (hack/kwok.yaml); this Node has
no such annotation, so kwok's Pod stages never touch its Pods and nothing marks them Running but
this module. Like a kubelet it:

- registers its Node (Ready, with an InternalIP) and keeps it alive: a Lease in kube-node-lease
  renewed every few seconds and the Ready condition's heartbeat, so the node lifecycle
  controller never taints it;
- runs each Pod bound to it: a podman pod (an infra container from a pause image holds the
  network namespace on podman's bridge, whose address becomes the podIP; the host routes to it
  and the Pod reaches the host's addresses, hack/pod-network.sh's among them), then the native
  sidecars (initContainers with restartPolicy Always) and the containers, each with the Pod's
  image, command, args and env (values, ``fieldRef`` metadata.name/namespace/status.podIP and
  ``$(VAR)`` expansion), emptyDir volumes (tmpfs, sizeLimit), ConfigMap and Secret volumes
  (read-only files), the security contexts (runAsUser/runAsGroup, runAsNonRoot checked against
  the image's user as the kubelet checks it, readOnlyRootFilesystem with nothing writable but the
  volumes, dropped and added capabilities, no privilege escalation, podman's default seccomp
  profile for RuntimeDefault), memory limits and CPU (cgroup: the CPU request as cpu.shares, a CPU
  limit as a CFS quota, as the kubelet sets them);
- writes the Pod's status from the containers' real state: phase, podIP, containerStatuses
  (running, waiting with CrashLoopBackOff or CreateContainerConfigError, terminated with the exit
  code and OOMKilled), restart counts, and the Ready/ContainersReady conditions from the running
  containers and their httpGet/tcpSocket readiness probes: an app whose container exits is not
  Ready; a container that exits is restarted with the kubelet's back-off (10 s doubling to 300 s)
  when the Pod's restartPolicy says so;
- on deletion stops the containers (SIGTERM, SIGKILL after the grace period), removes the podman
  pod and then deletes the Pod object (grace period 0), as a kubelet confirms a deletion.

Where it differs from a real kubelet: no CRI or image pulls (images are in local podman storage,
imagePullPolicy is ignored); no Pod-level cgroup (each container has its own); emptyDir is always
tmpfs; no liveness or startup probes, no exec readiness probes, and a readiness probe runs every
2 s until the container is first Ready (then every periodSeconds); regular (run-to-completion)
initContainers, projected ServiceAccount tokens, downward-API volumes, env from
Secrets/ConfigMaps and hostPath are reported as CreateContainerConfigError naming them (the
rendered Pods use none); status is polled about once a second, not driven by PLEG events; the
Pod's network is podman's bridge, not a CNI plugin chain of the cluster's choosing (no
NetworkPolicy, no Service ClusterIP routing: clients reach the podIP, e.g. from the Service's
EndpointSlice).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.helpers import get_json, kubectl

NODE = "microapp-podman-1"
LABEL = "microapp.dev/kubelet"
PAUSE = "localhost/microapp-pause:bookworm"
NODE_IP = "10.88.0.1"  # the host's address on podman's bridge: the Node as its Pods see it
PODMAN = ["podman", "--runtime", "runc"]
LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]  # what this sandbox allows
BACKOFF_START, BACKOFF_MAX = 10.0, 300.0
# podman's configuration for these pods: the sandbox's ulimits for every container, the pod's infra
# container included (`podman pod create` has no --ulimit of its own).
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
"""
_ENV: dict[str, str] = dict(os.environ)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout, env=_ENV)
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {shlex.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity in bytes (binary and decimal suffixes)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGTE]i?|k)?", str(quantity))
    if not m:
        raise ValueError(f"memory quantity {quantity!r} is not understood")
    number, suffix = float(m.group(1)), m.group(2) or ""
    powers = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "E": 1e18}
    powers |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Ei": 2**60}
    return int(number * powers[suffix])


def millicores(quantity: str) -> int:
    """A Kubernetes CPU quantity in millicores ("250m", "0.5", "2")."""
    q = str(quantity)
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


class NotEmulated(RuntimeError):
    """Something of the Pod spec this stand-in does not reproduce (see the module docstring)."""


@dataclass
class Container:
    name: str
    spec: dict[str, Any]
    sidecar: bool = False
    id: str = ""
    restarts: int = 0
    next_start: float = 0.0
    backoff: float = BACKOFF_START
    error: tuple[str, str] | None = None  # (reason, message) when it could not be created
    last: dict[str, Any] | None = None  # lastState.terminated
    ready_since: float | None = None
    probe_failures: int = 0
    probe_at: float = 0.0  # monotonic time of its next readiness probe


@dataclass
class RunningPod:
    namespace: str
    name: str
    uid: str
    podman_pod: str
    ip: str = ""
    started: str = ""
    containers: list[Container] = field(default_factory=list)
    restart_policy: str = "Always"
    last_status: str = ""
    started_at: float = 0.0  # monotonic, when its containers were started
    events: list[str] = field(default_factory=list)


class Kubelet:
    """The kubelet of Node ``node``: ``start()`` registers it and runs its loop in a thread;
    ``stop()`` removes every podman pod it made and the Node."""

    def __init__(self, workdir: Path, node: str = NODE) -> None:
        self.node, self.dir = node, workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "containers.conf").write_text(CONTAINERS_CONF)
        _ENV["CONTAINERS_CONF"] = str(self.dir / "containers.conf")
        self.pods: dict[str, RunningPod] = {}  # by Pod uid
        self.stopped_at: dict[str, float] = {}  # Pod name -> monotonic time its containers stopped
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lease_at = 0.0
        self._node_at = 0.0

    # ---- the Node ---------------------------------------------------------------------------
    def register(self) -> None:
        kubectl(
            "apply",
            "--server-side",
            "--field-manager=microapp-podkubelet",
            "-f",
            "-",
            input={
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": self.node,
                    "labels": {"kubernetes.io/hostname": self.node, "kubernetes.io/os": "linux", LABEL: "podman"},
                },
            },
        )
        self._node_status()
        self._lease()

    def _node_status(self) -> None:
        stamp = now()
        ready = {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "podman stand-in (tests/delivery/podkubelet.py) is posting ready status",
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
        }
        status = {
            "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": self.node}],
            "allocatable": {"cpu": "2", "memory": "8Gi", "pods": "20"},
            "capacity": {"cpu": "2", "memory": "8Gi", "pods": "20"},
            "conditions": [ready],
            "nodeInfo": {"kubeletVersion": "podman-stand-in", "containerRuntimeVersion": "podman://4"},
        }
        kubectl(
            "patch", "node", self.node, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status})
        )
        self._node_at = time.monotonic()

    def _lease(self) -> None:
        renew = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.node, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": self.node, "leaseDurationSeconds": 40, "renewTime": renew},
        }
        kubectl(
            "apply", "--server-side", "--force-conflicts", "--field-manager=microapp-podkubelet", "-f", "-", input=lease
        )
        self._lease_at = time.monotonic()

    # ---- the loop ---------------------------------------------------------------------------
    def start(self) -> None:
        self.register()
        self._thread = threading.Thread(target=self._run, name=f"kubelet-{self.node}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        for pod in list(self.pods.values()):
            podman("pod", "rm", "-f", "-t", "2", pod.podman_pod, check=False)
        for name in self._podman_pods():
            podman("pod", "rm", "-f", "-t", "2", name, check=False)
        kubectl("delete", "node", self.node, "--ignore-not-found", check=False)
        kubectl("delete", "lease", self.node, "-n", "kube-node-lease", "--ignore-not-found", check=False)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._lease_at > 5:
                    self._lease()
                if time.monotonic() - self._node_at > 30:
                    self._node_status()
                self.sync()
            except Exception as exc:  # keep playing the kubelet; the test reads self.errors
                self.errors.append(f"{now()} {type(exc).__name__}: {str(exc)[:500]}")
            self._stop.wait(1.0)

    def _podman_pods(self) -> list[str]:
        proc = podman("pod", "ps", "--filter", f"label={LABEL}={self.node}", "--format", "{{.Name}}", check=False)
        return [line for line in proc.stdout.split() if line]

    def sync(self) -> None:
        """One pass: start new Pods, stop deleted ones, write every Pod's status from its containers."""
        pods = get_json("pods", "-A", "--field-selector", f"spec.nodeName={self.node}")["items"]
        seen = set()
        for pod in pods:
            uid = pod["metadata"]["uid"]
            seen.add(uid)
            if pod["metadata"].get("deletionTimestamp"):
                self._delete(pod)
            elif uid not in self.pods:
                self._create(pod)
            else:
                self._update(pod, self.pods[uid])
        for uid in [u for u in self.pods if u not in seen]:  # gone from the API (e.g. its Node deleted)
            gone = self.pods.pop(uid)
            podman("pod", "rm", "-f", "-t", "2", gone.podman_pod, check=False)
            self.stopped_at.setdefault(gone.name, time.monotonic())

    # ---- one Pod ----------------------------------------------------------------------------
    def _create(self, pod: dict[str, Any]) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        run = RunningPod(
            meta["namespace"],
            meta["name"],
            meta["uid"],
            f"k8s_{meta['namespace']}_{meta['name']}"[:63],
            restart_policy=spec.get("restartPolicy", "Always"),
        )
        for c in spec.get("initContainers") or []:
            if c.get("restartPolicy") != "Always":
                raise NotEmulated(f"pod {run.name}: init container {c['name']!r} (run to completion) is not emulated")
            run.containers.append(Container(c["name"], c, sidecar=True))
        run.containers += [Container(c["name"], c) for c in spec["containers"]]
        podman("pod", "rm", "-f", "-t", "0", run.podman_pod, check=False)  # a leftover of an earlier run
        podman(
            "pod",
            "create",
            "--name",
            run.podman_pod,
            "--infra-image",
            PAUSE,
            "--label",
            f"{LABEL}={self.node}",
            "--label",
            f"io.kubernetes.pod.uid={run.uid}",
            "--hostname",
            meta["name"][:63],
        )
        podman("pod", "start", run.podman_pod)
        infra = podman("pod", "inspect", run.podman_pod, "--format", "{{.InfraContainerID}}").stdout.strip()
        run.ip = podman("inspect", infra, "--format", "{{.NetworkSettings.Networks.podman.IPAddress}}").stdout.strip()
        run.started = now()
        self.pods[run.uid] = run
        live = {**pod, "status": {**pod.get("status", {}), "podIP": run.ip}}
        for c in run.containers:
            try:
                c.id = podman(*self._create_args(live, c)).stdout.strip().splitlines()[-1]
            except NotEmulated as exc:
                c.error = ("CreateContainerConfigError", f"not emulated by the podman kubelet: {exc}")
            except (ValueError, RuntimeError) as exc:
                c.error = ("CreateContainerConfigError", str(exc))
        for c in run.containers:  # native sidecars first, then the containers, in spec order
            if c.id:
                podman("start", c.id)
        run.started_at = time.monotonic()
        run.events.append(f"{now()} started {[c.name for c in run.containers if c.id]} at {run.ip}")
        self._update(pod, run)

    def _delete(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        run = self.pods.pop(meta["uid"], None)
        if run is not None:
            grace = int(meta.get("deletionGracePeriodSeconds") or pod["spec"].get("terminationGracePeriodSeconds", 30))
            podman("pod", "stop", "-t", str(grace), run.podman_pod, check=False, timeout=grace + 60)
            podman("pod", "rm", "-f", run.podman_pod, check=False)
            self.stopped_at[run.name] = time.monotonic()
        kubectl(
            "delete", "pod", meta["name"], "-n", meta["namespace"], "--grace-period=0", "--force", "--wait=false",
            check=False,
        )  # fmt: skip

    def _update(self, pod: dict[str, Any], run: RunningPod) -> None:
        states = self._states(run)
        statuses: dict[str, list[dict[str, Any]]] = {"initContainerStatuses": [], "containerStatuses": []}
        for c in run.containers:
            cs = self._container_status(pod, run, c, states.get(c.id))
            statuses["initContainerStatuses" if c.sidecar else "containerStatuses"].append(cs)
        main = statuses["containerStatuses"]
        every = main + statuses["initContainerStatuses"]
        ready = all(cs["ready"] for cs in every)
        running = any("running" in cs["state"] for cs in main)
        terminated = [cs["state"]["terminated"] for cs in main if "terminated" in cs["state"]]
        if run.restart_policy != "Always" and len(terminated) == len(main):
            phase = "Succeeded" if all(t["exitCode"] == 0 for t in terminated) else "Failed"
            if phase == "Failed" and run.restart_policy == "OnFailure":
                phase = "Running"
        elif running or any(cs["restartCount"] for cs in main):
            phase = "Running"
        else:
            phase = "Pending"
        stamp = now()
        old = {c["type"]: c for c in (pod.get("status") or {}).get("conditions") or []}

        def cond(kind: str, status: bool, reason: str = "") -> dict[str, Any]:
            value = "True" if status else "False"
            prev = old.get(kind) or {}
            out = {"type": kind, "status": value, "lastProbeTime": None}
            out["lastTransitionTime"] = prev["lastTransitionTime"] if prev.get("status") == value else stamp
            if reason and not status:
                out["reason"] = reason
            return out

        conditions = [
            old.get("PodScheduled") or cond("PodScheduled", True),
            cond("PodReadyToStartContainers", True),
            cond("Initialized", True),
            cond("ContainersReady", ready, "ContainersNotReady"),
            cond("Ready", ready, "ContainersNotReady"),
        ]
        status = {
            "phase": phase,
            "hostIP": NODE_IP,
            "hostIPs": [{"ip": NODE_IP}],
            "podIP": run.ip,
            "podIPs": [{"ip": run.ip}],
            "startTime": run.started,
            "conditions": conditions,
            **{k: v for k, v in statuses.items() if v},
        }
        fingerprint = json.dumps(
            [phase, ready, [(cs["name"], cs["ready"], cs["restartCount"], list(cs["state"])) for cs in every]]
        )
        if fingerprint == run.last_status:
            return
        kubectl(
            "patch", "pod", run.name, "-n", run.namespace, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": status}),
        )  # fmt: skip
        run.last_status = fingerprint

    def _states(self, run: RunningPod) -> dict[str, dict[str, Any]]:
        ids = [c.id for c in run.containers if c.id]
        if not ids:
            return {}
        proc = podman("inspect", *ids, check=False)
        return {s["Id"]: s["State"] for s in json.loads(proc.stdout or "[]")}

    def _container_status(
        self, pod: dict[str, Any], run: RunningPod, c: Container, state: dict[str, Any] | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": c.name,
            "image": c.spec["image"],
            "imageID": "",
            "containerID": f"podman://{c.id}" if c.id else "",
            "restartCount": c.restarts,
            "ready": False,
            "started": False,
        }
        if c.error is not None or state is None:
            reason, message = c.error or ("ContainerCreating", "")
            out["state"] = {"waiting": {"reason": reason, "message": message}}
            return out
        if state.get("Running"):
            out["state"] = {"running": {"startedAt": state["StartedAt"][:19] + "Z"}}
            out["started"] = True
            out["ready"] = self._ready(run, c)
        else:
            term = {
                "exitCode": state.get("ExitCode", 0),
                "reason": "OOMKilled"
                if state.get("OOMKilled")
                else ("Completed" if not state.get("ExitCode") else "Error"),
                "startedAt": state["StartedAt"][:19] + "Z",
                "finishedAt": state["FinishedAt"][:19] + "Z",
                "containerID": f"podman://{c.id}",
            }
            c.ready_since = None
            restart = (
                c.sidecar
                or run.restart_policy == "Always"
                or (run.restart_policy == "OnFailure" and term["exitCode"] != 0)
            )
            if not restart:
                out["state"] = {"terminated": term}
            else:
                if c.next_start == 0.0:  # just seen exiting: back off, then start it again
                    c.last, c.next_start = term, time.monotonic() + c.backoff
                    c.backoff = min(c.backoff * 2, BACKOFF_MAX)
                if time.monotonic() >= c.next_start:
                    podman("start", c.id, check=False)
                    c.restarts, c.next_start = c.restarts + 1, 0.0
                    out["restartCount"] = c.restarts
                    out["state"] = {"waiting": {"reason": "ContainerCreating"}}
                else:
                    wait = int(c.backoff / 2)
                    message = f"back-off {wait}s restarting failed container={c.name} pod={run.name}"
                    out["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
        if c.last is not None:
            out["lastState"] = {"terminated": c.last}
        return out

    def _ready(self, run: RunningPod, c: Container) -> bool:
        probe = c.spec.get("readinessProbe")
        if not probe:
            return True
        period = probe.get("periodSeconds", 10)
        if time.monotonic() < c.probe_at:
            return c.ready_since is not None
        # every periodSeconds once Ready; every 2 s until then (a kubelet probes at the period from
        # the start: this only makes the tests' Pods Ready sooner)
        c.probe_at = time.monotonic() + (period if c.ready_since is not None else min(period, 2))
        if time.monotonic() - run.started_at < probe.get("initialDelaySeconds", 0):
            return False
        ok = self._probe(run, c, probe)
        if ok:
            c.probe_failures = 0
            c.ready_since = c.ready_since or time.monotonic()
        else:
            c.probe_failures += 1
            if c.ready_since is None or c.probe_failures >= probe.get("failureThreshold", 3):
                c.ready_since = None
        return c.ready_since is not None

    def _probe(self, run: RunningPod, c: Container, probe: dict[str, Any]) -> bool:
        ports = {p.get("name"): p["containerPort"] for p in c.spec.get("ports") or []}
        timeout = probe.get("timeoutSeconds", 1)
        if "httpGet" in probe:
            port = probe["httpGet"]["port"]
            port = ports.get(port, port) if isinstance(port, str) else port
            url = f"http://{run.ip}:{port}{probe['httpGet'].get('path', '/')}"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    return 200 <= resp.status < 400
            except (OSError, urllib.error.URLError):
                return False
        if "tcpSocket" in probe:
            port = probe["tcpSocket"]["port"]
            port = ports.get(port, port) if isinstance(port, str) else port
            with socket.socket() as s:
                s.settimeout(timeout)
                return s.connect_ex((run.ip, int(port))) == 0
        raise NotEmulated(f"pod {run.name}: readiness probe {list(probe)} is not emulated")

    # ---- one container's podman command line -------------------------------------------------
    def _create_args(self, pod: dict[str, Any], c: Container) -> list[str]:
        spec, container = pod["spec"], c.spec
        env = self._env(pod, container)
        expand = lambda s: re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), s)  # noqa: E731
        args = ["create", "--pod", f"k8s_{pod['metadata']['namespace']}_{pod['metadata']['name']}"[:63]]
        args += ["--name", f"{args[-1]}_{c.name}"[:120], *LIMITS]
        args += self._security(spec, container)
        args += self._volumes(pod, container)
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        if container.get("workingDir"):
            args += ["--workdir", container["workingDir"]]
        command = [expand(a) for a in container.get("command") or []]
        if command:
            args += ["--entrypoint", json.dumps(command)]
        args += [container["image"], *(expand(a) for a in container.get("args") or [])]
        return args

    def _env(self, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
        fields = {
            "metadata.name": pod["metadata"]["name"],
            "metadata.namespace": pod["metadata"]["namespace"],
            "metadata.uid": pod["metadata"]["uid"],
            "spec.nodeName": self.node,
            "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
            "status.podIP": pod["status"].get("podIP", ""),
            "status.hostIP": NODE_IP,
        }
        if container.get("envFrom"):
            raise NotEmulated(f"container {container['name']!r}: envFrom is not emulated")
        env: dict[str, str] = {}
        for item in container.get("env") or []:
            source = item.get("valueFrom")
            if source and "fieldRef" not in source:
                raise NotEmulated(f"container {container['name']!r}: env {item['name']} from {list(source)}")
            value = fields[source["fieldRef"]["fieldPath"]] if source else str(item.get("value", ""))
            env[item["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), value)
        return env

    def _security(self, spec: dict[str, Any], container: dict[str, Any]) -> list[str]:
        psc, sc = spec.get("securityContext") or {}, container.get("securityContext") or {}
        if sc.get("privileged"):
            raise NotEmulated(f"container {container['name']!r}: privileged")
        out: list[str] = []
        user = sc.get("runAsUser", psc.get("runAsUser"))
        group = sc.get("runAsGroup", psc.get("runAsGroup"))
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")):
            self._check_non_root(container, user)
        if user is not None:
            out += ["--user", f"{user}:{group}" if group is not None else str(user)]
        elif group is not None:
            raise NotEmulated(f"container {container['name']!r}: runAsGroup without runAsUser")
        for gid in [psc["fsGroup"]] if psc.get("fsGroup") is not None else []:
            out += ["--group-add", str(gid)]
        for gid in psc.get("supplementalGroups") or []:
            out += ["--group-add", str(gid)]
        if sc.get("readOnlyRootFilesystem"):
            out += ["--read-only", "--read-only-tmpfs=false"]  # podman would add a writable /tmp, /run
        caps = sc.get("capabilities") or {}
        for cap in caps.get("drop") or []:
            out += ["--cap-drop", cap]
        for cap in caps.get("add") or []:
            out += ["--cap-add", cap]
        if sc.get("allowPrivilegeEscalation") is False:
            out += ["--security-opt", "no-new-privileges"]
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type", "RuntimeDefault")
        if seccomp == "Unconfined":
            out += ["--security-opt", "seccomp=unconfined"]
        elif seccomp != "RuntimeDefault":
            raise NotEmulated(f"container {container['name']!r}: seccompProfile {seccomp}")
        resources = container.get("resources") or {}
        cpu_request = (resources.get("requests") or {}).get("cpu")
        if cpu_request:  # the kubelet's cpu.shares: 1024 per core, at least 2
            out += ["--cpu-shares", str(max(2, millicores(cpu_request) * 1024 // 1000))]
        cpu_limit = (resources.get("limits") or {}).get("cpu")
        if cpu_limit:  # a CFS quota, as the kubelet sets it
            out += ["--cpus", f"{millicores(cpu_limit) / 1000:g}"]
        memory = (resources.get("limits") or {}).get("memory")
        if memory:
            out += ["--memory", f"{memory_bytes(memory)}b", "--memory-swap", f"{memory_bytes(memory)}b"]
        return out

    def _check_non_root(self, container: dict[str, Any], user: int | None) -> None:
        """The kubelet's check of runAsNonRoot (kuberuntime's verifyRunAsNonRoot), same messages."""
        if user is not None:
            if int(user) == 0:
                raise ValueError("container's runAsUser breaks non-root policy")
            return
        image_user = podman("image", "inspect", container["image"], "--format", "{{.Config.User}}").stdout.strip()
        uid = image_user.split(":", 1)[0]
        if not uid.isdigit():
            if uid in ("", "root"):
                raise ValueError("container has runAsNonRoot and image will run as root")
            raise ValueError(
                f"container has runAsNonRoot and image has non-numeric user ({uid}), cannot verify user is non-root"
            )
        if int(uid) == 0:
            raise ValueError("container has runAsNonRoot and image will run as root")

    def _volumes(self, pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        out = []
        for mount in container.get("volumeMounts") or []:
            volume = volumes[mount["name"]]
            target = mount["mountPath"]
            if mount.get("subPath"):
                raise NotEmulated(f"volumeMount {mount['name']!r}: subPath")
            if "emptyDir" in volume:
                size = (volume["emptyDir"] or {}).get("sizeLimit")
                opts = "rw,mode=1777" + (f",size={memory_bytes(size)}" if size else "")
                out += ["--tmpfs", f"{target}:{opts}"]
            elif "configMap" in volume or "secret" in volume:
                out += ["-v", f"{self._files(pod, volume)}:{target}:ro"]
            else:
                kinds = sorted(set(volume) - {"name"})
                raise NotEmulated(f"volume {mount['name']!r} of type {', '.join(kinds)} is not emulated")
        return out

    def _files(self, pod: dict[str, Any], volume: dict[str, Any]) -> Path:
        namespace = pod["metadata"]["namespace"]
        kind, ref = (
            ("configmap", volume["configMap"]["name"])
            if "configMap" in volume
            else ("secret", volume["secret"]["secretName"])
        )
        obj = get_json(kind, ref, "-n", namespace)
        target = self.dir / pod["metadata"]["uid"] / f"{kind}-{ref}"
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o755)
        target.parent.chmod(0o755)
        items = (volume.get("configMap") or volume.get("secret") or {}).get("items")
        data = obj.get("data") or {}
        for key, value in data.items():
            path = target / next((i["path"] for i in items or [] if i["key"] == key), key)
            if items and not any(i["key"] == key for i in items):
                continue
            path.write_bytes(base64.b64decode(value) if kind == "secret" else value.encode())
            path.chmod(0o644)
        return target

    # ---- for tests ----------------------------------------------------------------------------
    def podman_pod(self, namespace: str, name: str) -> str:
        return f"k8s_{namespace}_{name}"[:63]

    def container_states(self, namespace: str, name: str) -> dict[str, str]:
        """The real state of a Pod's containers by name (podman's view), {} when it has none."""
        pod = self.podman_pod(namespace, name)
        proc = podman("ps", "-a", "--filter", f"pod={pod}", "--format", "json", check=False)
        prefix = f"{pod}_"
        return {
            n[len(prefix) :]: c["State"]
            for c in json.loads(proc.stdout or "[]")
            for n in c.get("Names") or []
            if n.startswith(prefix)
        }

    def logs(self, namespace: str, name: str, container: str) -> str:
        proc = podman("logs", f"{self.podman_pod(namespace, name)}_{container}"[:120], check=False)
        return proc.stdout + proc.stderr

    def report(self) -> str:
        lines = [f"kubelet {self.node}: errors {self.errors[-5:]}"]
        for run in self.pods.values():
            lines.append(f"  {run.namespace}/{run.name} {run.ip}: {run.events[-3:]}")
        return "\n".join(lines)
