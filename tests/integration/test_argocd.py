"""Argo CD on the real control plane: the health check's fixtures captured from the live operator
in every state (committed under manifests/argocd/.../testdata; this test fails when they drift;
MICROAPP_UPDATE_FIXTURES=1 rewrites them), and a GitOps sync loop that never fights the operator.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argocd import TESTDATA, argocd_binary, health, normalize, write_action_expectations
from tests.helpers import KUBECONFIG, KUBECTL, ROOT, VERSIONS, eventually, get_json, kubectl, microapp

LIFE = {"idleAfter": "6s", "retireAfter": "24s", "notifyBefore": "10s"}
UPDATE = os.environ.get("MICROAPP_UPDATE_FIXTURES") == "1"


@pytest.fixture(scope="module")
def argocd() -> str:
    return argocd_binary()


def app(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return microapp(name, namespace, resources={"cpu": "250m", "memory": "256Mi"}, **spec)


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions", [])}


def live(namespace: str, name: str) -> dict[str, Any]:
    return get_json("mapp", name, "-n", namespace)


def until(
    namespace: str, name: str, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30
) -> dict[str, Any]:
    """The live app once the operator has seen its latest spec and ``predicate`` holds."""

    def check() -> dict[str, Any] | None:
        obj = live(namespace, name)
        return obj if current(obj) and predicate(obj) else None

    return eventually(check, timeout=timeout, what=what)


def settled(obj: dict[str, Any]) -> bool:
    """Nothing rolling out any more (Reconciling exists only while true)."""
    return "Reconciling" not in conditions(obj)


def current(obj: dict[str, Any]) -> bool:
    return (obj.get("status") or {}).get("observedGeneration") == obj["metadata"]["generation"]


class Watch:
    """A raw watch on one MicroApp (line-delimited events from the API server): catches states
    that last milliseconds, such as the moment a new spec is stored and not yet seen."""

    def __init__(self, namespace: str, name: str) -> None:
        path = (
            f"/apis/microapp.dev/v1alpha1/namespaces/{namespace}/microapps?watch=1&fieldSelector=metadata.name%3D{name}"
        )
        self.proc = subprocess.Popen(
            [KUBECTL, "--kubeconfig", str(KUBECONFIG), "get", "--raw", path], stdout=subprocess.PIPE, text=True
        )
        self.events: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.events.append(json.loads(line)["object"])

    def first(self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30) -> dict[str, Any]:
        return eventually(
            lambda: next((o for o in list(self.events) if predicate(o)), None),
            timeout=timeout,
            interval=0.05,
            what=what,
        )

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def capture(namespace: str) -> dict[str, dict[str, Any]]:
    """One live MicroApp per state the health check tells apart."""
    got: dict[str, dict[str, Any]] = {}
    # A new app: the stored object before the operator wrote any status, then rolling out, then Ready.
    watch = Watch(namespace, "healthy")
    try:
        kubectl("apply", "-f", "-", input=app("healthy", namespace))
        got["no-status"] = watch.first(lambda o: "status" not in o, "the app stored without a status")
        got["healthy"] = watch.first(
            lambda o: current(o) and conditions(o).get("Ready", {}).get("status") == "True", "the app Ready"
        )
        # A spec change: the stored object whose observedGeneration lags, before the operator saw it.
        seen = len(watch.events)
        kubectl("apply", "-f", "-", input=app("healthy", namespace, replicas=2))
        got["progressing-generation"] = watch.first(
            lambda o: watch.events.index(o) >= seen and not current(o) and "status" in o,
            "the lagging observedGeneration",
        )
        got["reconciling"] = watch.first(
            lambda o: current(o) and conditions(o).get("Reconciling", {}).get("status") == "True",
            "the app rolling out its second replica",
        )
        until(namespace, "healthy", lambda o: conditions(o)["Ready"]["status"] == "True", "healthy Ready again")
    finally:
        watch.close()
    # Stalled: the app would take over a Deployment it does not own.
    kubectl("create", "deployment", "stalled", "--image=registry.internal/other:1", "-n", namespace)
    kubectl("apply", "-f", "-", input=app("stalled", namespace))
    got["stalled"] = until(
        namespace,
        "stalled",
        lambda o: conditions(o).get("Stalled", {}).get("status") == "True",
        "stalled on the foreign Deployment",
    )
    # Suspended by its spec.
    kubectl("apply", "-f", "-", input=app("suspended", namespace, suspend=True))
    got["suspended"] = until(
        namespace,
        "suspended",
        lambda o: (
            o["status"].get("phase") == "Suspended"
            and conditions(o).get("Ready", {}).get("status") == "True"
            and settled(o)
        ),
        "suspended, settled",
    )
    # Over its team's budget (Warn): still runs, flagged.
    got.update(_over_budget(namespace))
    # Being deleted, held by a finalizer.
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            **app("deleting", namespace),
            "metadata": {**app("deleting", namespace)["metadata"], "finalizers": ["example.com/keep-until-backed-up"]},
        },
    )
    until(namespace, "deleting", settled, "deleting reconciled")
    kubectl("delete", "mapp", "deleting", "-n", namespace, "--wait=false")
    got["deleting"] = live(namespace, "deleting")
    kubectl("patch", "mapp", "deleting", "-n", namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    # The lifecycle, in seconds: Idle, Retiring, Retired.
    kubectl("apply", "-f", "-", input=app("sleepy", namespace, lifecycle=LIFE))
    for phase in ("Idle", "Retiring", "Retired"):
        got[phase.lower()] = until(
            namespace,
            "sleepy",
            lambda o, phase=phase: o["status"].get("phase") == phase and settled(o),
            f"sleepy {phase}",
            timeout=60,
        )
    return {name: normalize(obj) for name, obj in got.items()}


def _over_budget(namespace: str) -> dict[str, dict[str, Any]]:
    """An app of a team over its (Warn) budget: it runs, flagged. The team is added to the policy
    for the capture (its own field manager, removed afterwards)."""
    team = "argo-budget"
    policy = {"apiVersion": "microapp.dev/v1alpha1", "kind": "PlatformPolicy", "metadata": {"name": "default"}}
    kubectl(
        "apply",
        "--server-side",
        f"--field-manager=test-{team}",
        "-f",
        "-",
        input={**policy, "spec": {"teams": [{"name": team, "groups": [f"{team}-devs"], "namespaces": [namespace]}]}},
    )
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "TeamBudget",
            "metadata": {"name": team},
            "spec": {"team": team, "monthlyLimit": "5", "enforcement": "Warn"},
        },
    )
    try:
        body = app("over-budget", namespace, team=team)
        kubectl("apply", "-f", "-", input=body)
        return {
            "over-budget": until(
                namespace,
                "over-budget",
                lambda o: (
                    conditions(o).get("WithinBudget", {}).get("status") == "False"
                    and conditions(o).get("Ready", {}).get("status") == "True"
                    and settled(o)
                ),
                "over budget, flagged",
            )
        }
    finally:
        kubectl("delete", "teambudget", team, check=False)
        kubectl(
            "apply",
            "--server-side",
            f"--field-manager=test-{team}",
            "-f",
            "-",
            input={**policy, "spec": {}},
            check=False,
        )


@pytest.fixture(scope="module")
def captured(operator: object, cluster: Path) -> Iterator[dict[str, dict[str, Any]]]:
    namespace = f"t-argo{os.getpid() % 10000}"
    kubectl("create", "namespace", namespace)
    try:
        yield capture(namespace)
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """What must not drift: everything but the wording of a rollout in progress (which children
    are still pending when the status is written depends on timing)."""
    out = json.loads(json.dumps(obj))
    for c in (out.get("status") or {}).get("conditions", []):
        if c.get("reason") == "Progressing":
            c["message"] = "(children rolling out)"
    return out


def test_fixtures_are_what_the_live_operator_writes(captured: dict[str, dict[str, Any]]) -> None:
    stale = []
    for name, obj in captured.items():
        path = TESTDATA / f"{name}.yaml"
        if UPDATE:
            path.write_text(
                f"# Captured from the operator on the local control plane by "
                f"tests/integration/test_argocd.py (state: {name}).\n" + yaml.safe_dump(obj, sort_keys=False)
            )
        elif not path.exists() or comparable(yaml.safe_load(path.read_text())) != comparable(obj):
            stale.append(name)
    if UPDATE:
        write_action_expectations()
    assert not stale, (
        f"fixtures differ from what the operator writes now: {stale}; rerun with "
        "MICROAPP_UPDATE_FIXTURES=1 and review the diff"
    )


def test_health_of_each_captured_state(argocd: str, captured: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """The live objects (not only the committed copies) through Argo CD's code."""
    expected = {
        "no-status": "Progressing",
        "healthy": "Healthy",
        "progressing-generation": "Progressing",
        "reconciling": "Progressing",
        "stalled": "Degraded",
        "suspended": "Suspended",
        "over-budget": "Healthy",
        "deleting": "Progressing",
        "idle": "Suspended",
        "retiring": "Suspended",
        "retired": "Suspended",
    }
    for name, obj in captured.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(obj))
        assert health(argocd, tmp_path / f"{name}.yaml")[0] == expected[name], name


# --- the sync loop --------------------------------------------------------------------------

ARGO_MANAGER = "argocd-controller"


def sync(directory: Path) -> subprocess.CompletedProcess[str]:
    """What Argo CD's self-heal does with ServerSideApply=true: apply the Git directory again."""
    return kubectl("apply", "--server-side", f"--field-manager={ARGO_MANAGER}", "-f", str(directory), check=False)


def git_app(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    body = app(name, namespace, **spec)
    body["metadata"].setdefault("labels", {})["app.kubernetes.io/instance"] = "team-apps"  # Argo CD's label tracking
    body["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = (
        f"team-apps:microapp.dev/MicroApp:{namespace}/{name}"
    )
    return body


def write(directory: Path, apps: list[dict[str, Any]]) -> None:
    """A commit: each file replaced atomically (self-heal may read the folder at any moment)."""
    names = {f"{a['metadata']['name']}.yaml" for a in apps}
    for a in apps:
        tmp = directory / f".{a['metadata']['name']}.tmp"
        tmp.write_text(yaml.safe_dump(a))
        os.replace(tmp, directory / f"{a['metadata']['name']}.yaml")
    for f in directory.glob("*.yaml"):
        if f.name not in names:
            f.unlink()


def test_sync_loop_never_fights_the_operator(operator: object, namespace: str, argocd: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    stop = threading.Event()
    refused: list[str] = []

    def self_heal() -> None:
        while not stop.is_set():
            proc = sync(repo)
            if proc.returncode != 0:
                refused.append(proc.stderr[-300:])
            time.sleep(0.5)

    def verdict(name: str) -> str:
        path = tmp_path / f"live-{name}.yaml"
        path.write_text(yaml.safe_dump(live(namespace, name)))
        return health(argocd, path)[0]

    write(repo, [git_app("web", namespace), git_app("nap", namespace, lifecycle=LIFE)])
    assert sync(repo).returncode == 0
    loop = threading.Thread(target=self_heal, daemon=True)
    loop.start()
    try:
        eventually(lambda: verdict("web") == "Healthy", timeout=60, what="web Healthy to Argo CD")
        # An update in Git.
        write(repo, [git_app("web", namespace, replicas=2), git_app("nap", namespace, lifecycle=LIFE)])
        eventually(
            lambda: get_json("deploy", "web", "-n", namespace)["spec"]["replicas"] == 2, what="web scaled by Git"
        )
        eventually(lambda: verdict("web") == "Healthy", timeout=60, what="web Healthy after the update")
        # Going idle and retiring while self-heal keeps applying: Suspended, and Git never wakes it.
        eventually(lambda: live(namespace, "nap")["status"].get("phase") == "Idle", timeout=60, what="nap Idle")
        assert verdict("nap") == "Suspended"
        eventually(lambda: live(namespace, "nap")["status"].get("phase") == "Retired", timeout=90, what="nap Retired")
        assert verdict("nap") == "Suspended"
        time.sleep(2)  # a few more self-heal rounds on a retired app
        assert live(namespace, "nap")["status"]["phase"] == "Retired"
        # Restored by annotation (the 'restore' action): Git does not hold that annotation, so self-heal keeps it.
        kubectl(
            "annotate",
            "--overwrite",
            "mapp",
            "nap",
            "-n",
            namespace,
            f"microapp.dev/restore={datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
        )
        eventually(lambda: live(namespace, "nap")["status"].get("phase") == "Running", timeout=60, what="nap restored")
        eventually(lambda: verdict("nap") == "Healthy", timeout=60, what="nap Healthy again")
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not refused, refused[:3]
    # Once reconciled, Git and the cluster agree: an empty server-side diff.
    diff = kubectl("diff", "--server-side", f"--field-manager={ARGO_MANAGER}", "-f", str(repo), check=False)
    assert diff.returncode == 0 and diff.stdout == "", diff.stdout[-2000:]
    for name in ("web", "nap"):
        obj = json.loads(kubectl("get", "mapp", name, "-n", namespace, "-o", "json", "--show-managed-fields").stdout)
        # The operator writes status only: never a MicroApp's spec or metadata.
        for entry in obj["metadata"]["managedFields"]:
            if entry["manager"] == "microapp-operator":
                assert entry.get("subresource") == "status", entry
        # Children carry their ownerReference and no Argo CD tracking key copied from the MicroApp.
        for kind in ("deployment", "service", "serviceaccount"):
            child = get_json(kind, name, "-n", namespace)
            assert [o["name"] for o in child["metadata"]["ownerReferences"]] == [name], (kind, name)
            keys = set(child["metadata"].get("labels") or {}) | set(child["metadata"].get("annotations") or {})
            assert not {k for k in keys if k.startswith("argocd.argoproj.io/") or k == "app.kubernetes.io/instance"}, (
                kind,
                name,
                keys,
            )


def test_customization_installs_into_argocd_cm_by_kustomize_or_chart(cluster: Path, tmp_path: Path) -> None:
    """Both ways put the two keys into an argocd-cm (server-side dry runs: no Argo CD here)."""
    kubectl("create", "namespace", "argocd", check=False)
    keys = {
        "resource.customizations.health.microapp.dev_MicroApp",
        "resource.customizations.actions.microapp.dev_MicroApp",
    }
    proc = kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=microapp-argocd",
        "-o",
        "json",
        "-k",
        str(ROOT / "manifests" / "argocd"),
    )
    assert keys <= set(json.loads(proc.stdout)["data"])
    helm = subprocess.run([str(ROOT / "hack" / "build-tool.sh"), "helm"], capture_output=True, text=True)
    assert helm.returncode == 0, helm.stderr
    rendered = subprocess.run(
        [
            helm.stdout.strip().splitlines()[-1],
            "template",
            "microapp-operator",
            str(ROOT / "charts" / "microapp-operator"),
            "-n",
            "microapp-system",
            "--set",
            "argocd.enabled=true",
            "-s",
            "templates/argocd.yaml",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    proc = kubectl(
        "apply", "--server-side", "--dry-run=server", "--field-manager=helm", "-o", "json", "-f", "-", input=rendered
    )
    cm = json.loads(proc.stdout)
    assert cm["metadata"]["namespace"] == "argocd" and keys <= set(cm["data"])
    # The chart's copy is the same customization as the kustomize file's.
    shipped = yaml.safe_load((ROOT / "manifests" / "argocd" / "argocd-cm.yaml").read_text())["data"]
    assert {k: cm["data"][k] for k in keys} == {k: shipped[k] for k in keys}


def test_example_applications_are_valid_argo_cd_applications(cluster: Path) -> None:
    """The examples against Argo CD's own Application and ApplicationSet CRDs (from the Argo CD
    module the CLI was built from), by a server-side dry run."""
    argocd_binary()  # downloads the module too
    source = subprocess.run(
        ["go", "mod", "download", "-json", f"github.com/argoproj/argo-cd/v2@{VERSIONS['ARGOCD_VERSION']}"],
        capture_output=True,
        text=True,
        check=True,
    )
    crds = Path(json.loads(source.stdout)["Dir"]) / "manifests" / "crds"
    for crd, name in (("application-crd.yaml", "applications"), ("applicationset-crd.yaml", "applicationsets")):
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crds / crd))
        eventually(
            lambda name=name: any(
                c["type"] == "Established" and c["status"] == "True"
                for c in get_json("crd", f"{name}.argoproj.io").get("status", {}).get("conditions") or []
            ),
            what=f"Argo CD's {name} CRD established",
        )
    kubectl("create", "namespace", "argocd", check=False)
    examples = ROOT / "manifests" / "argocd" / "examples"
    for path in sorted(examples.glob("*.yaml")):
        proc = kubectl("apply", "--server-side", "--dry-run=server", "-f", str(path), check=False)
        assert proc.returncode == 0, f"{path.name}: {proc.stderr}"
    body = yaml.safe_load((examples / "team-apps.yaml").read_text())
    assert {"ServerSideApply=true", "SkipDryRunOnMissingResource=true"} <= set(
        body["spec"]["syncPolicy"]["syncOptions"]
    )
