"""The kubelet's part, played on this machine: run a Pod of the chart's Deployment as a podman
container, exactly as its spec says.

kwok schedules the Pod onto a Node whose InternalIP is an address of this machine
(hack/pod-network.sh) and marks it Running; since the Pod uses hostNetwork, that address is its
podIP, the real EndpointSlice controller publishes it, and the API server dials it for
admission. This module starts the container a kubelet would start there:

- the image, args and env of the Pod spec, ``$(VAR)`` references expanded, ``fieldRef`` env
  (metadata.name, metadata.namespace, status.podIP) resolved from the live Pod;
- the ServiceAccount token from a TokenRequest bound to the Pod (as the kubelet projects it),
  with the cluster CA and namespace, at /var/run/secrets/kubernetes.io/serviceaccount, and
  KUBERNETES_SERVICE_HOST/PORT: the operator uses in-cluster config and the chart's RBAC only;
- emptyDir volumes as tmpfs, ConfigMap and Secret volumes as read-only files;
- the security contexts (user and group, read-only root filesystem, dropped capabilities, no
  privilege escalation) and the memory limit.

Not reproduced: the kubelet's probes (kwok reports the Pod Ready whatever the process does),
image pulls (the image is in local podman storage) and cgroup CPU limits.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.helpers import KUBECONFIG, get_json, kubectl

PODMAN = ["podman", "--runtime", "runc"]
LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]  # what this sandbox allows
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _server() -> tuple[str, str]:
    config = json.loads(kubectl("config", "view", "--raw", "-o", "json").stdout)
    server = config["clusters"][0]["cluster"]["server"]
    host, port = re.match(r"https://([^:/]+):(\d+)", server).groups()  # type: ignore[union-attr]
    return host, port


def _ca() -> bytes:
    config = json.loads(kubectl("config", "view", "--raw", "-o", "json").stdout)
    return base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])


class PodContainer:
    """One Pod's operator container under podman."""

    def __init__(self, namespace: str, pod: str, workdir: Path) -> None:
        self.namespace, self.pod = namespace, pod
        self.name = f"microapp-{pod}"
        self.dir = workdir / pod
        self.dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        """The podman command line that runs this Pod's first container."""
        pod = get_json("pod", self.pod, "-n", self.namespace)
        spec, container = pod["spec"], pod["spec"]["containers"][0]
        env = self._env(pod, container)
        host, port = _server()
        env |= {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
        args = [re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), a) for a in container.get("args", [])]
        cmd = [
            *PODMAN,
            "run",
            "-d",
            "--replace",
            "--name",
            self.name,
            *LIMITS,
            "--network",
            "host" if spec.get("hostNetwork") else "none",
        ]
        cmd += self._security(spec, container)
        cmd += ["-v", f"{self._token(pod)}:{SA_DIR}:ro"]
        cmd += self._volumes(spec, container)
        for key, value in env.items():
            cmd += ["-e", f"{key}={value}"]
        cmd += [container["image"], *args]
        return cmd

    def start(self) -> None:
        proc = subprocess.run(self.command(), capture_output=True, text=True)
        assert proc.returncode == 0, f"podman run failed for pod {self.pod}:\n{proc.stderr}"

    def kill(self) -> None:
        """SIGKILL, as when the node dies or the OOM killer strikes: no clean-up at all."""
        subprocess.run([*PODMAN, "kill", "-s", "KILL", self.name], capture_output=True)

    def terminate(self) -> None:
        """SIGTERM without waiting for the exit (the start of a Pod's deletion)."""
        subprocess.run([*PODMAN, "kill", "-s", "TERM", self.name], capture_output=True)

    def stop(self, grace: int = 20) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds: a Pod's deletion."""
        subprocess.run([*PODMAN, "stop", "-t", str(grace), self.name], capture_output=True)

    def remove(self) -> None:
        subprocess.run([*PODMAN, "rm", "-f", self.name], capture_output=True)

    def running(self) -> bool:
        proc = subprocess.run(
            [*PODMAN, "inspect", "-f", "{{.State.Running}}", self.name], capture_output=True, text=True
        )
        return proc.stdout.strip() == "true"

    def logs(self) -> str:
        proc = subprocess.run([*PODMAN, "logs", self.name], capture_output=True, text=True)
        return proc.stdout + proc.stderr

    def _env(self, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
        fields = {
            "metadata.name": pod["metadata"]["name"],
            "metadata.namespace": pod["metadata"]["namespace"],
            "status.podIP": pod["status"].get("podIP", ""),
        }
        env = {}
        for item in container.get("env", []):
            ref = ((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
            env[item["name"]] = fields[ref] if ref else str(item.get("value", ""))
        return env

    def _security(self, spec: dict[str, Any], container: dict[str, Any]) -> list[str]:
        pod_sc, sc = spec.get("securityContext") or {}, container.get("securityContext") or {}
        out = []
        user = sc.get("runAsUser", pod_sc.get("runAsUser"))
        if user is not None:
            out += ["--user", f"{user}:{sc.get('runAsGroup', pod_sc.get('runAsGroup', user))}"]
        if sc.get("readOnlyRootFilesystem"):
            out.append("--read-only")
        for cap in (sc.get("capabilities") or {}).get("drop", []):
            out += ["--cap-drop", cap]
        if sc.get("allowPrivilegeEscalation") is False:
            out += ["--security-opt", "no-new-privileges"]
        memory = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if memory:
            out += ["--memory", memory.replace("Mi", "m").replace("Gi", "g")]
        return out

    def _token(self, pod: dict[str, Any]) -> Path:
        """A TokenRequest bound to the Pod, as the kubelet's projected volume holds it."""
        sa = self.dir / "serviceaccount"
        sa.mkdir(exist_ok=True)
        token = kubectl(
            "create",
            "token",
            pod["spec"]["serviceAccountName"],
            "-n",
            self.namespace,
            "--bound-object-kind",
            "Pod",
            "--bound-object-name",
            self.pod,
            "--bound-object-uid",
            pod["metadata"]["uid"],
            "--duration",
            "1h",
        ).stdout.strip()
        (sa / "token").write_text(token)
        (sa / "ca.crt").write_bytes(_ca())
        (sa / "namespace").write_text(self.namespace)
        for f in sa.iterdir():
            f.chmod(0o644)
        sa.chmod(0o755)
        return sa

    def _volumes(self, spec: dict[str, Any], container: dict[str, Any]) -> list[str]:
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        out = []
        for mount in container.get("volumeMounts", []):
            if mount["mountPath"] == SA_DIR:
                continue  # the projected token volume the ServiceAccount admission added: see _token
            volume = volumes[mount["name"]]
            if "emptyDir" in volume:
                size = (volume["emptyDir"] or {}).get("sizeLimit", "64Mi").replace("Mi", "m")
                out += ["--tmpfs", f"{mount['mountPath']}:rw,size={size},mode=1777"]
            elif "configMap" in volume or "secret" in volume:
                out += ["-v", f"{self._files(volume)}:{mount['mountPath']}:ro"]
            else:
                raise AssertionError(f"volume {volume} is not emulated")
        return out

    def _files(self, volume: dict[str, Any]) -> Path:
        kind, ref = (
            ("configmap", volume["configMap"]["name"])
            if "configMap" in volume
            else ("secret", volume["secret"]["secretName"])
        )
        obj = get_json(kind, ref, "-n", self.namespace)
        target = self.dir / f"{kind}-{ref}"
        target.mkdir(exist_ok=True)
        target.chmod(0o755)
        for key, value in (obj.get("data") or {}).items():
            path = target / key
            path.write_bytes(base64.b64decode(value) if kind == "secret" else value.encode())
            path.chmod(0o644)
        return target


__all__ = ["PodContainer", "KUBECONFIG"]
