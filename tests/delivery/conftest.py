"""Delivery tests on their own local control plane (`make delivery`, part of `make test`): the
chart installed by Helm, the operator image run by podman as the chart's Pods
(tests/delivery/kubelet.py), admission through the chart's webhook Service.

They need: the cluster (MICROAPP_TEST_KUBECONFIG), the Pod network (hack/pod-network.sh), the
image (hack/image.sh) and Helm (hack/build-tool.sh); `make delivery` makes all four and a test
fails loudly when one is missing.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.delivery.kubelet import PodContainer
from tests.helpers import KUBECONFIG, ROOT, eventually, get_json, kubectl, mark_suite, record_figures

RESULTS = KUBECONFIG.parent / "delivery-results.json"
NS = "microapp-system"
RELEASE = "microapp-operator"
CHART = ROOT / "charts" / "microapp-operator"
HOST_NODES = {"microapp-host-1", "microapp-host-2"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_suite(items, "delivery", pytest.mark.delivery)


def record(name: str, **figures: Any) -> None:
    """Keep a test's figures for the report `make delivery` prints."""
    record_figures(RESULTS, "delivery", name, figures)


@pytest.fixture(scope="session")
def cluster() -> Path:
    if subprocess.run([str(ROOT / "hack" / "cluster.sh"), "status"]).returncode != 0:
        pytest.fail(f"the delivery control plane is not running ({KUBECONFIG}); run `make delivery`", pytrace=False)
    nodes = {n["metadata"]["name"] for n in get_json("nodes")["items"]}
    if not HOST_NODES <= nodes:
        pytest.fail("the Pod network is not set up (hack/pod-network.sh up); run `make delivery`", pytrace=False)
    for crd_dir in (ROOT / "tests" / "delivery" / "crds",):
        kubectl("apply", "--server-side", "-f", str(crd_dir))
    kubectl(
        "apply",
        "--server-side",
        "-f",
        str(ROOT / "tests" / "fixtures" / "crds" / "monitoring.coreos.com_podmonitors.yaml"),
    )
    return KUBECONFIG


@pytest.fixture(scope="session")
def helm_bin() -> str:
    proc = subprocess.run([str(ROOT / "hack" / "build-tool.sh"), "helm"], capture_output=True, text=True)
    assert proc.returncode == 0, f"Helm did not build:\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def image() -> str:
    """The image `make image` built (make delivery builds it first)."""
    version = next(
        line.split('"')[1]
        for line in (ROOT / "pyproject.toml").read_text().splitlines()
        if line.startswith("version = ")
    )
    ref = f"localhost/microapp-operator:{version}"
    if subprocess.run(["podman", "image", "exists", ref]).returncode != 0:
        pytest.fail(f"the image {ref} is not built; run `make image` (or `make delivery`)", pytrace=False)
    return ref


def helm(helm_bin: str, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [helm_bin, "--kubeconfig", str(KUBECONFIG), *args], capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def host_values(tmp: Path, **extra: Any) -> Path:
    """Values that put the operator's Pods on the two Nodes whose addresses are this machine's
    (hostNetwork: the podIP is the node's address), with the tests' policy and teams."""
    policy = yaml.safe_load((ROOT / "tests" / "fixtures" / "platformpolicy.yaml").read_text())
    values = {
        "hostNetwork": True,
        "nodeSelector": {"microapp.dev/host-network": "true"},
        "tolerations": [{"key": "microapp.dev/host-network", "operator": "Exists", "effect": "NoSchedule"}],
        "operator": {"logFormat": "text", "resyncSeconds": 30},
        "defaultPolicy": {"spec": policy["spec"]},
        **extra,
    }
    path = tmp / f"values-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def operator_pods() -> list[dict[str, Any]]:
    pods = get_json("pods", "-n", NS, "-l", "app.kubernetes.io/name=microapp-operator")["items"]
    return [p for p in pods if p["status"].get("podIP") and not p["metadata"].get("deletionTimestamp")]


class Replicas:
    """The chart's Pods, each run as a container (see kubelet.py)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.containers: dict[str, PodContainer] = {}

    def start_all(self, count: int) -> list[PodContainer]:
        pods = eventually(
            lambda: (
                lambda ps: ps if len(ps) == count and all(p["status"].get("phase") == "Running" for p in ps) else None
            )(operator_pods()),
            timeout=90,
            what=f"{count} operator Pods scheduled and running (kwok)",
        )
        for pod in pods:
            name = pod["metadata"]["name"]
            if name not in self.containers:
                self.containers[name] = PodContainer(NS, name, self.workdir)
                self.containers[name].start()
        return [self.containers[p["metadata"]["name"]] for p in pods]

    def leader(self) -> PodContainer:
        """The replica holding the Lease (a former release's holder, killed without releasing it,
        keeps it until it expires)."""
        holder = eventually(
            lambda: (lambda h: h if h in self.containers else None)(
                (get_json("lease", RELEASE, "-n", NS).get("spec") or {}).get("holderIdentity")
            ),
            timeout=60,
            what="one of these replicas holding the Lease",
        )
        return self.containers[holder]

    def logs(self) -> str:
        return "\n".join(f"==== {n}\n{c.logs()[-6000:]}" for n, c in self.containers.items())

    def remove_all(self) -> None:
        for c in self.containers.values():
            c.remove()
        self.containers.clear()


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[Replicas]:
    r = Replicas(tmp_path / "pods")
    yield r
    print(r.logs())
    r.remove_all()
