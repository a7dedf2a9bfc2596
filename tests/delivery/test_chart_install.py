"""The chart as a platform team uses it: rendered and dry-run applied over its toggles, installed
with Helm, run (the image, the chart's ServiceAccount, admission through the chart's webhook
Service), upgraded and uninstalled. The tests run in order and share one release."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.delivery.conftest import CHART, NS, RELEASE, Replicas, helm, host_values, operator_pods, record
from tests.helpers import AUDIT_LOG, eventually, get_json, kubectl, microapp
from tests.unit.test_chart import FLIPPED

SA_USER = f"system:serviceaccount:{NS}:{RELEASE}"
SINGLE_TOGGLES = {
    "crds.enabled": {"crds": {"enabled": False}},
    "crds.keep": {"crds": {"keep": False}},
    "leaderElection.enabled": {"leaderElection": {"enabled": False}},
    "webhook.enabled": {"webhook": {"enabled": False}},
    "webhook.certManager.enabled": {"webhook": {"certManager": {"enabled": True}}},
    "defaultPolicy.enabled": {"defaultPolicy": {"enabled": False}},
    "builtinTemplates.enabled": {"builtinTemplates": {"enabled": False}},
    "dashboards.enabled": {"dashboards": {"enabled": False}},
    "metrics.podMonitor.enabled": {"metrics": {"podMonitor": {"enabled": True}}},
    "metrics.serviceMonitor.enabled": {"metrics": {"serviceMonitor": {"enabled": True}}},
    "networkPolicy.enabled": {"networkPolicy": {"enabled": True}},
    "podDisruptionBudget.enabled": {"podDisruptionBudget": {"enabled": False}},
    "hostNetwork": {"hostNetwork": True},
    "serviceAccount.create": {"serviceAccount": {"create": False, "name": "x"}},
    "shards": {"shards": ["a", "b"]},  # not in FLIPPED: shards need leader election, which FLIPPED turns off
}


@pytest.fixture(scope="module")
def pods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    r = Replicas(tmp_path_factory.mktemp("pods"))
    yield r
    print(r.logs())
    r.remove_all()


@pytest.fixture(scope="module")
def app_ns(cluster: Path) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"  # team qa owns t-* in the tests' policy
    kubectl("create", "namespace", name)
    yield name
    # waited for: the next test's ledger must not count these apps
    kubectl("delete", "namespace", name, "--timeout=120s", check=False, timeout=150)


@pytest.mark.parametrize("toggle", ["defaults", "every-toggle", *SINGLE_TOGGLES])
def test_template_applies_with_a_server_side_dry_run(cluster: Path, helm_bin: str, tmp_path: Path, toggle: str) -> None:
    values = {} if toggle == "defaults" else FLIPPED if toggle == "every-toggle" else SINGLE_TOGGLES[toggle]
    (tmp_path / "v.yaml").write_text(yaml.safe_dump(values))
    rendered = helm(helm_bin, "template", RELEASE, str(CHART), "-n", NS, "-f", str(tmp_path / "v.yaml")).stdout
    kubectl("create", "namespace", NS, check=False)
    proc = kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=helm-dry-run",
        "-f",
        "-",
        input=rendered,
        check=False,
    )
    assert proc.returncode == 0, f"{toggle}: the API server refused the rendered chart:\n{proc.stderr}"
    assert proc.stdout.count("(server dry run)") == len([d for d in yaml.safe_load_all(rendered) if d])


def test_kustomize_build_is_helm_template_and_applies(cluster: Path, helm_bin: str) -> None:
    """`kubectl apply -k manifests/install` installs what `helm template` renders (plus the Namespace)."""
    built = [
        d for d in yaml.safe_load_all(kubectl("kustomize", str(CHART.parents[1] / "manifests" / "install")).stdout) if d
    ]
    rendered = [d for d in yaml.safe_load_all(helm(helm_bin, "template", RELEASE, str(CHART), "-n", NS).stdout) if d]
    key = lambda d: (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])  # noqa: E731
    assert sorted((d for d in built if d["kind"] != "Namespace"), key=key) == sorted(rendered, key=key)
    proc = kubectl(
        "apply", "--server-side", "--dry-run=server", "-k", str(CHART.parents[1] / "manifests" / "install"), check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_install(
    cluster: Path, helm_bin: str, image: str, tmp_path_factory: pytest.TempPathFactory, pods: Replicas
) -> None:
    values = host_values(tmp_path_factory.mktemp("values"))
    t0 = time.monotonic()
    out = helm(
        helm_bin,
        "install",
        RELEASE,
        str(CHART),
        "-n",
        NS,
        "--create-namespace",
        "-f",
        str(values),
        "--wait",
        "--timeout",
        "3m",
    ).stdout
    assert "STATUS: deployed" in out and f"kubectl -n {NS} rollout status deployment/{RELEASE}" in out  # NOTES
    deployment = get_json("deployment", RELEASE, "-n", NS)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    started = pods.start_all(2)
    leader = pods.leader()
    # The leader wears the label, so the webhook Service's EndpointSlice holds its address alone.
    leader_ip = get_json("pod", leader.pod, "-n", NS)["status"]["podIP"]
    eventually(
        lambda: (
            [
                a
                for s in get_json("endpointslices", "-n", NS, "-l", f"kubernetes.io/service-name={RELEASE}-webhook")[
                    "items"
                ]
                for e in s.get("endpoints") or []
                for a in e["addresses"]
            ]
            == [leader_ip]
        ),
        timeout=30,
        what="the webhook Service's endpoints to be the leader's address alone",
    )
    eventually(lambda: len(get_json("apptemplates")["items"]) >= 5, what="the built-in AppTemplates created")
    assert get_json("platformpolicy", "default")["spec"]["teams"][2]["name"] == "qa"
    record("install", seconds=round(time.monotonic() - t0, 1), replicas=len(started), leader=leader.pod)


def test_serviceaccount_has_no_wildcards_secrets_or_escalation(cluster: Path) -> None:
    rows = {}
    for ns in ("default", NS):
        out = kubectl("auth", "can-i", "--list", "--as", SA_USER, "-n", ns).stdout
        rows[ns] = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()[1:] if line.strip()]
    for ns, table in rows.items():
        for resource, _urls, names, verbs in (r + [""] * (4 - len(r)) for r in table):
            assert "*" not in verbs.strip("[]").split(), (ns, resource, verbs)
            assert not {"escalate", "bind", "impersonate"} & set(verbs.strip("[]").split()), (ns, resource, verbs)
            if resource.startswith("secrets"):
                assert ns == NS and (names == f"[{RELEASE}-webhook-ca]" or verbs == "[create]"), (ns, names, verbs)
    assert kubectl("auth", "can-i", "list", "secrets", "--as", SA_USER, "-A", check=False).stdout.strip() == "no"
    assert (
        kubectl("auth", "can-i", "get", "secrets", "--as", SA_USER, "-n", "default", check=False).stdout.strip() == "no"
    )


def _ready(namespace: str, name: str) -> bool:
    app = get_json("mapp", name, "-n", namespace)
    status = app.get("status") or {}
    return status.get("observedGeneration") == app["metadata"]["generation"] and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])
    )


def test_microapp_cycle_with_the_chart_identity(cluster: Path, pods: Replicas, app_ns: str) -> None:
    since = datetime.now(UTC)
    created = kubectl("apply", "-f", "-", input=microapp("shop", app_ns))
    assert "estimated cost" in created.stderr  # the leader's webhook answered through the Service
    eventually(lambda: _ready(app_ns, "shop"), timeout=60, what="shop Ready")
    deployment = get_json("deployment", "shop", "-n", app_ns)
    assert deployment["metadata"]["ownerReferences"][0]["name"] == "shop"
    kubectl("apply", "-f", "-", input=microapp("shop", app_ns, replicas=2))
    eventually(lambda: get_json("deployment", "shop", "-n", app_ns)["spec"]["replicas"] == 2, what="scaled to 2")
    refused = kubectl("apply", "-f", "-", input=microapp("shop", app_ns, image="docker.io/evil/miner:1"), check=False)
    assert refused.returncode != 0 and 'admission webhook "admission.microapp.dev" denied the request' in refused.stderr
    assert "spec.image 'docker.io/evil/miner:1' is not from an allowed registry (registry.internal/)" in refused.stderr
    kubectl("delete", "mapp", "shop", "-n", app_ns)
    eventually(
        lambda: kubectl("get", "deployment", "shop", "-n", app_ns, check=False).returncode != 0,
        timeout=60,
        what="the children garbage-collected with their MicroApp",
    )
    # Every write in the app's namespace came from the chart's ServiceAccount.
    users = {
        e["user"]["username"]
        for e in _audit(since)
        if (e.get("objectRef") or {}).get("namespace") == app_ns
        and str(e.get("userAgent", "")).startswith("microapp-operator/")
    }
    assert users == {SA_USER}


def _audit(since: datetime) -> list[dict[str, Any]]:
    events = []
    for line in AUDIT_LOG.read_text().splitlines():
        event = json.loads(line)
        if (
            event.get("stage") == "ResponseComplete"
            and datetime.fromisoformat(event["requestReceivedTimestamp"].replace("Z", "+00:00")) >= since
        ):
            events.append(event)
    return events


def test_upgrade_rolls_the_pods_and_keeps_admission(cluster: Path, helm_bin: str, pods: Replicas, app_ns: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("kept", app_ns))
    eventually(lambda: _ready(app_ns, "kept"), timeout=60, what="kept Ready")
    before = {p["metadata"]["name"] for p in operator_pods()}
    helm(
        helm_bin,
        "upgrade",
        RELEASE,
        str(CHART),
        "-n",
        NS,
        "--reuse-values",
        "--set",
        "operator.workers=2",
        "--wait",
        "--timeout",
        "3m",
    )
    after = eventually(
        lambda: (lambda names: names if names and not names & before and len(names) == 2 else None)(
            {p["metadata"]["name"] for p in operator_pods()}
        ),
        timeout=90,
        what="the rolled Pods",
    )
    for name, container in list(pods.containers.items()):  # the kubelet stops the old Pods' containers
        if name not in after:
            container.stop()
    pods.start_all(2)
    assert (
        "--workers=2" in get_json("deployment", RELEASE, "-n", NS)["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    changed = kubectl("apply", "-f", "-", input=microapp("kept", app_ns, replicas=2), check=False)
    for _ in range(30):  # while the new leader takes over, the webhook may have no endpoint for a moment
        if changed.returncode == 0:
            break
        time.sleep(1)
        changed = kubectl("apply", "-f", "-", input=microapp("kept", app_ns, replicas=2), check=False)
    assert changed.returncode == 0, changed.stderr
    eventually(
        lambda: get_json("deployment", "kept", "-n", app_ns)["spec"]["replicas"] == 2,
        timeout=60,
        what="a change reconciled by the upgraded operator",
    )
    config = get_json("validatingwebhookconfiguration", "microapp.dev")
    assert all(w["clientConfig"].get("caBundle") for w in config["webhooks"]), "helm upgrade dropped the caBundle"


def test_uninstall_keeps_crds_and_microapps(cluster: Path, helm_bin: str, pods: Replicas, app_ns: str) -> None:
    for kind, name in (("lease", RELEASE), ("secret", f"{RELEASE}-webhook-ca")):
        refs = get_json(kind, name, "-n", NS)["metadata"].get("ownerReferences") or []
        assert [(r["kind"], r["name"]) for r in refs] == [("ServiceAccount", RELEASE)], (kind, refs)
    out = helm(helm_bin, "uninstall", RELEASE, "-n", NS)
    assert "kept due to the resource policy" in out.stdout + out.stderr
    pods.remove_all()
    assert len(get_json("crds", "-l", "app.kubernetes.io/part-of=microapp-operator")["items"]) == 4
    assert get_json("mapp", "kept", "-n", app_ns)["spec"]["replicas"] == 2
    assert kubectl("get", "validatingwebhookconfiguration", "microapp.dev", check=False).returncode != 0
    assert kubectl("get", "deployment", RELEASE, "-n", NS, check=False).returncode != 0
    # What the operator made beside the release (its Lease, the CA Secret with the private key)
    # is owned by the release's ServiceAccount: the garbage collector takes it with the release.
    eventually(
        lambda: (
            kubectl("get", "lease", RELEASE, "-n", NS, check=False).returncode != 0
            and kubectl("get", "secret", f"{RELEASE}-webhook-ca", "-n", NS, check=False).returncode != 0
        ),
        timeout=60,
        what="the Lease and the webhook CA Secret deleted with the release",
    )
    # Without the operator, MicroApps stay editable (no webhook left behind to fail closed).
    kubectl("annotate", "mapp", "kept", "-n", app_ns, "example.com/after-uninstall=yes")
