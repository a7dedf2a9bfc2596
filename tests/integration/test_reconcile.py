"""MicroApps become real, server-side-applied workloads on the local control plane."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from tests.helpers import ROOT, audit_writes, eventually, get_json, kubectl, microapp

WAIT = "--timeout=90s"


def ready(namespace: str, name: str) -> None:
    kubectl("wait", "--for=condition=Ready", WAIT, "-n", namespace, f"mapp/{name}", timeout=100)


def status(namespace: str, name: str) -> dict:
    return get_json("mapp", name, "-n", namespace).get("status") or {}


def condition(namespace: str, name: str, type_: str) -> dict:
    return next((c for c in status(namespace, name).get("conditions") or [] if c["type"] == type_), {})


def names(kind: str, namespace: str, app: str) -> list[str]:
    items = get_json(kind, "-n", namespace, "-l", f"microapp.dev/name={app}")["items"]
    return sorted(i["metadata"]["name"] for i in items)


def events(namespace: str, app: str) -> list[str]:
    items = get_json("events", "-n", namespace, "--field-selector", f"involvedObject.name={app}")["items"]
    return [e["reason"] for e in items]


def test_web_service_becomes_ready_with_pods_on_kwok_nodes(operator: object, namespace: str) -> None:
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    kubectl("apply", "-f", "-", input=microapp("shop", namespace, replicas=2))
    ready(namespace, "shop")
    st = status(namespace, "shop")
    assert st["phase"] == "Running" and st["replicas"] == 2
    assert st["url"] == f"http://shop.{namespace}.svc.cluster.local"
    assert st["template"] == {"name": "web-service", "version": "1.1.0", "latest": "1.1.0"}
    assert st["inventory"] == [
        {"apiVersion": "v1", "kind": "ServiceAccount", "name": "shop"},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "name": "shop"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"},
        {"apiVersion": "v1", "kind": "Service", "name": "shop"},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "name": "shop"},
    ]
    assert all(
        p["spec"]["serviceAccountName"] == "shop"
        for p in get_json("pods", "-n", namespace, "-l", "microapp.dev/name=shop")["items"]
    )
    pods = get_json("pods", "-n", namespace, "-l", "microapp.dev/name=shop")["items"]
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)
    dep = get_json("deployment", "shop", "-n", namespace, "--show-managed-fields")
    owner = dep["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("MicroApp", "shop", True)
    assert {m["manager"] for m in dep["metadata"]["managedFields"] if m["operation"] == "Apply"} == {
        "microapp-operator"
    }
    assert "argocd.argoproj.io/instance" not in dep["metadata"].get("labels", {})
    assert {"Applied", "Ready"} <= set(events(namespace, "shop"))


def test_image_change_rolls_and_kubectl_scale_scales(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("roll", namespace))
    ready(namespace, "roll")
    kubectl(
        "patch",
        "mapp",
        "roll",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"image":"registry.internal/finance/app:2.0.0"}}',
    )
    eventually(lambda: status(namespace, "roll").get("observedGeneration") == 2, what="generation 2 observed")
    ready(namespace, "roll")
    dep = get_json("deployment", "roll", "-n", namespace)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.internal/finance/app:2.0.0"
    assert len(get_json("replicasets", "-n", namespace, "-l", "microapp.dev/name=roll")["items"]) == 2

    kubectl("scale", "mapp/roll", "-n", namespace, "--replicas=3")
    eventually(lambda: status(namespace, "roll").get("observedGeneration") == 3, what="generation 3 observed")
    ready(namespace, "roll")
    pods = get_json("pods", "-n", namespace, "-l", "microapp.dev/name=roll")["items"]
    ready_pods = [p for p in pods if p["status"]["phase"] == "Running" and not p["metadata"].get("deletionTimestamp")]
    assert len(ready_pods) == 3
    assert status(namespace, "roll")["replicas"] == 3
    scale = json.loads(
        kubectl("get", "--raw", f"/apis/microapp.dev/v1alpha1/namespaces/{namespace}/microapps/roll/scale").stdout
    )
    assert scale["status"] == {"replicas": 3, "selector": "microapp.dev/name=roll"}


def make_knative_ready(namespace: str, name: str) -> None:
    """No Knative controller runs here: set the status the way Knative Serving would."""
    gen = get_json("ksvc", name, "-n", namespace)["metadata"]["generation"]
    body = {
        "status": {
            "observedGeneration": gen,
            "url": f"http://{name}.{namespace}.example.com",
            "latestReadyRevisionName": f"{name}-00001",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
                for t in ("ConfigurationsReady", "Ready", "RoutesReady")
            ],
        }
    }
    kubectl("patch", "ksvc", name, "-n", namespace, "--subresource=status", "--type=merge", "-p", json.dumps(body))


def test_switch_to_serverless_prunes_and_delete_collects_everything(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("fn", namespace, expose="public", host="fn.example.com"))
    ready(namespace, "fn")
    assert names("ingress", namespace, "fn") == ["fn"]

    kubectl(
        "apply", "-f", "-", input=microapp("fn", namespace, template="serverless-function", parameters={"maxScale": 4})
    )
    eventually(lambda: names("ksvc", namespace, "fn") == ["fn"], what="the Knative Service")
    eventually(
        lambda: (
            names("deployment", namespace, "fn") == []
            and names("service", namespace, "fn") == []
            and names("ingress", namespace, "fn") == []
        ),
        what="the container objects to be pruned",
    )
    assert condition(namespace, "fn", "Ready")["status"] == "False"
    make_knative_ready(namespace, "fn")
    ready(namespace, "fn")
    st = status(namespace, "fn")
    assert st["url"] == f"http://fn.{namespace}.example.com"
    assert st["inventory"][-1] == {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "fn"}
    assert [e["kind"] for e in st["inventory"]] == ["ServiceAccount", "NetworkPolicy", "Service"]
    assert "Pruned" in events(namespace, "fn")

    kubectl("delete", "mapp", "fn", "-n", namespace)
    eventually(lambda: names("ksvc", namespace, "fn") == [], timeout=60, what="garbage collection of the ksvc")


def test_public_exposure_turned_off_prunes_the_ingress(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("pub", namespace, expose="public", host="pub.example.com"))
    ready(namespace, "pub")
    assert status(namespace, "pub")["url"] == "https://pub.example.com"
    kubectl("apply", "-f", "-", input=microapp("pub", namespace, expose="internal"))
    eventually(lambda: names("ingress", namespace, "pub") == [], what="the Ingress to be pruned")
    assert names("service", namespace, "pub") == ["pub"]


def test_garbage_collection_of_all_children(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("gone", namespace, replicas=2, expose="public", host="g.example.com"))
    ready(namespace, "gone")
    assert names("pdb", namespace, "gone") == ["gone"]
    kubectl("delete", "mapp", "gone", "-n", namespace)
    for kind in ("deployment", "service", "ingress", "pdb", "pods"):
        eventually(lambda kind=kind: names(kind, namespace, "gone") == [], timeout=60, what=f"{kind} garbage-collected")


def test_suspend_scales_to_zero_and_resume_restores(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("nap", namespace, replicas=2))
    ready(namespace, "nap")
    kubectl("patch", "mapp", "nap", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}')
    eventually(
        lambda: (
            status(namespace, "nap").get("phase") == "Suspended"
            and condition(namespace, "nap", "Ready").get("status") == "True"
        ),
        what="phase Suspended",
    )
    assert get_json("deployment", "nap", "-n", namespace)["spec"]["replicas"] == 0
    assert names("pdb", namespace, "nap") == []
    eventually(lambda: names("pods", namespace, "nap") == [], timeout=60, what="pods gone")
    kubectl("patch", "mapp", "nap", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":false}}')
    eventually(
        lambda: (
            status(namespace, "nap").get("phase") == "Running"
            and condition(namespace, "nap", "Ready").get("status") == "True"
        ),
        what="running again",
    )
    assert get_json("deployment", "nap", "-n", namespace)["spec"]["replicas"] == 2


def test_scheduled_job_renders_a_cronjob(operator: object, namespace: str) -> None:
    kubectl(
        "apply",
        "-f",
        "-",
        input=microapp("nightly", namespace, template="scheduled-job", parameters={"schedule": "0 3 * * *"}),
    )
    ready(namespace, "nightly")
    cron = get_json("cronjob", "nightly", "-n", namespace)
    assert cron["spec"]["schedule"] == "0 3 * * *" and cron["spec"]["suspend"] is False
    assert status(namespace, "nightly")["phase"] == "Running"


def _template_version(version: str) -> dict:
    import yaml

    doc = yaml.safe_load((ROOT / "operator/microapp_operator/templates/worker-1.0.0.yaml").read_text())
    doc["metadata"]["name"] = f"worker-{version}"
    doc["spec"]["version"] = version
    return doc


@pytest.fixture
def worker_1_1() -> object:
    kubectl("delete", "apptemplate", "worker-1.1.0", "--ignore-not-found")
    yield lambda: kubectl("apply", "-f", "-", input=_template_version("1.1.0"))
    kubectl("delete", "apptemplate", "worker-1.1.0", "--ignore-not-found")


def test_missing_template_stalls_then_recovers(operator: object, namespace: str, worker_1_1: object) -> None:
    kubectl("apply", "-f", "-", input=microapp("later", namespace, template="worker@~1.1"))
    eventually(lambda: condition(namespace, "later", "Stalled").get("status") == "True", what="Stalled")
    stalled = condition(namespace, "later", "Stalled")
    assert stalled["reason"] == "TemplateNotFound"
    assert "no non-deprecated version of 'worker' matches; available: 1.0.1, 1.0.0" in stalled["message"]
    assert status(namespace, "later")["phase"] == "Failed"
    assert names("deployment", namespace, "later") == []
    assert "TemplateNotFound" in events(namespace, "later")
    worker_1_1()  # publishing the version un-stalls the app without touching it
    ready(namespace, "later")
    assert condition(namespace, "later", "Stalled") == {}
    assert status(namespace, "later")["template"]["version"] == "1.1.0"


def test_resolved_version_is_kept_until_the_spec_changes(operator: object, namespace: str, worker_1_1: object) -> None:
    kubectl("apply", "-f", "-", input=microapp("pinned", namespace, template="worker@^1"))
    ready(namespace, "pinned")
    assert status(namespace, "pinned")["template"] == {"name": "worker", "version": "1.0.1", "latest": "1.0.1"}
    worker_1_1()
    eventually(lambda: status(namespace, "pinned")["template"]["latest"] == "1.1.0", what="latest shows 1.1.0")
    assert status(namespace, "pinned")["template"]["version"] == "1.0.1"  # no surprise upgrade
    kubectl("patch", "mapp", "pinned", "-n", namespace, "--type=merge", "-p", '{"spec":{"replicas":2}}')
    eventually(lambda: status(namespace, "pinned")["template"]["version"] == "1.1.0", what="upgrade on spec change")


def test_invalid_parameters_are_refused_with_field_path(operator: object, namespace: str) -> None:
    proc = kubectl(
        "apply", "-f", "-", input=microapp("params", namespace, parameters={"autoscale": {"max": 500}}), check=False
    )
    assert proc.returncode != 0
    assert (
        'admission webhook "admission.microapp.dev" denied the request: the MicroApp was refused:\n'
        "- spec.parameters.autoscale.max: 500 is greater than the maximum of 100"
    ) in proc.stderr
    assert get_json("mapp", "-n", namespace)["items"] == []


HOSTILE_ENV = {
    "yaml-injection": "x\nkind: ClusterRole\nmetadata: {name: pwned}",
    "document-injection": (
        "x\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: pwned}"
    ),
    "jinja-expression": "{{ 7*7 }}",
    "jinja-lookup": "{{ app.__class__ }}",
}


@pytest.mark.parametrize("value", HOSTILE_ENV.values(), ids=HOSTILE_ENV.keys())
def test_hostile_values_never_produce_unexpected_objects(operator: object, namespace: str, value: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("evil", namespace, env=[{"name": "X", "value": value}]))
    ready(namespace, "evil")
    assert [(e["apiVersion"], e["kind"]) for e in status(namespace, "evil")["inventory"]] == [
        ("v1", "ServiceAccount"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
    ]
    env = get_json("deployment", "evil", "-n", namespace)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "X", "value": value}]
    assert kubectl("get", "clusterrole", "pwned", check=False).returncode != 0


HOSTILE_PARAMS = {
    "yaml-in-parameter": {"healthPath": "/\nkind: ClusterRole"},
    "privileged-parameter": {"privileged": True},
    "hostpath-parameter": {"volumes": [{"hostPath": {"path": "/"}}]},
}


@pytest.mark.parametrize("params", HOSTILE_PARAMS.values(), ids=HOSTILE_PARAMS.keys())
def test_hostile_parameters_are_refused(operator: object, namespace: str, params: dict) -> None:
    proc = kubectl("apply", "-f", "-", input=microapp("evilp", namespace, parameters=params), check=False)
    assert proc.returncode != 0 and "- spec.parameters" in proc.stderr
    assert get_json("mapp", "-n", namespace)["items"] == []


HOSTILE_NAMES = {
    "path-traversal": ("../etc", "invalid resource name \"../etc\": [may not contain '/']"),
    "dot-dot": ("a..b", "a MicroApp name starts with a letter"),
    "300-characters": ("a" * 300, "must be no more than 253 characters"),
    "60-characters": ("a" * 60, "a MicroApp name is at most 53 characters"),
    "leading-digit": ("1app", "a MicroApp name starts with a letter"),
}


@pytest.mark.parametrize("name,message", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_hostile_names_are_refused_by_the_api_server(crds: None, namespace: str, name: str, message: str) -> None:
    proc = kubectl("apply", "-f", "-", input=microapp(name, namespace), check=False)
    assert proc.returncode != 0 and message in proc.stderr
    assert get_json("mapp", "-n", namespace)["items"] == []


def test_noop_resync_makes_zero_writes(operator: object, namespace: str) -> None:
    """Every kind the operator renders (workload, RBAC, NetworkPolicy, telemetry) stays unwritten
    across an operator restart. Counted from the API server's audit log in this test's own
    namespace, so other apps in the cluster, stalled ones included, do not matter."""
    steady = microapp(
        "steady", namespace, replicas=2, expose="public", host="s.example.com", telemetry={"enabled": True}
    )
    steady["metadata"]["annotations"]["microapp.dev/editors"] = "user:bob@example.com"
    kubectl("apply", "-f", "-", input=steady)
    kubectl(
        "apply",
        "-f",
        "-",
        input=microapp("steady-job", namespace, template="scheduled-job", parameters={"schedule": "@daily"}),
    )
    ready(namespace, "steady")
    ready(namespace, "steady-job")
    lived_in = f"{namespace}-x"  # a lived-in cluster: stalled apps elsewhere
    kubectl("create", "namespace", lived_in)
    try:
        kubectl("apply", "-f", "-", input=microapp("stalled", lived_in, template="no-such-template"))
        kubectl("apply", "-f", "-", input=microapp("ok", lived_in, expose="none"))
        eventually(lambda: condition(lived_in, "stalled", "Stalled").get("status") == "True", what="a stalled app")
        since = datetime.now(UTC)
        offset = operator.restart()  # type: ignore[attr-defined]
        line = eventually(
            lambda: re.search(r"initial sync done reconciles=(\d+) writes=(\d+)", operator.text(offset)),
            timeout=60,
            what="the restarted operator's initial sync",
        )
        assert int(line.group(1)) >= 3, line.group(0)
        assert audit_writes(since=since, namespaces={namespace}) == []
        kubectl("scale", "mapp/steady", "-n", namespace, "--replicas=3")  # the counting itself can fail
        eventually(lambda: audit_writes(since=since, namespaces={namespace}), what="the scale to be written")
    finally:
        kubectl("delete", "namespace", lived_in, "--wait=false", check=False)


POD_CASES = {
    "web-service": {},
    "worker": {"template": "worker"},
    "scheduled-job": {"template": "scheduled-job", "parameters": {"schedule": "@hourly"}},
    "serverless-function": {"template": "serverless-function"},
    "webhook-handler": {"template": "webhook-handler"},
}


@pytest.mark.parametrize("spec", POD_CASES.values(), ids=POD_CASES.keys())
def test_builtin_template_pods_pass_pod_security_restricted(cluster: object, namespace: str, spec: dict) -> None:
    """A Pod built from each template's Pod spec passes a server-side dry run under `restricted`."""
    from microapp_operator.core import catalog, plan, rendered

    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    objects = plan.desired(plan.parse(microapp("podcheck", namespace, **spec)), catalog.builtin()).objects
    [(_, revision)] = [p for o in objects for p in rendered.pod_specs(o)]
    kubectl("create", "serviceaccount", "podcheck", "-n", namespace)  # the app's own, as the operator renders it
    knative_only = {"timeoutSeconds", "containerConcurrency", "responseStartTimeoutSeconds", "idleTimeoutSeconds"}
    pod_spec = {k: v for k, v in revision.items() if k not in knative_only}
    pod_spec["containers"] = [{"name": f"c{i}", **c} for i, c in enumerate(pod_spec["containers"])]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "podcheck", "namespace": namespace},
        "spec": pod_spec,
    }
    proc = kubectl("apply", "--dry-run=server", "-f", "-", input=pod, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "podcheck created (server dry run)" in proc.stdout
