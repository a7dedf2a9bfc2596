"""Recovery from outside conditions, on the real control plane: a runtime that is missing and
then installed, and an admission policy that refuses an app's objects and is then relaxed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.helpers import ROOT, eventually, get_json, kubectl, microapp

KNATIVE_CRD = ROOT / "hack" / "crds" / "serving.knative.dev_services.yaml"


def condition(namespace: str, name: str, type_: str) -> dict:
    conds = get_json("mapp", name, "-n", namespace).get("status", {}).get("conditions", [])
    return next((c for c in conds if c["type"] == type_), {})


@pytest.fixture
def knative_removable(crds: None) -> Iterator[None]:
    """The test removes the Knative CRD; it is always put back (and Established) afterwards."""
    yield
    kubectl("apply", "--server-side", "--field-manager=microapp-install", "--force-conflicts", "-f", str(KNATIVE_CRD))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(KNATIVE_CRD))


def test_a_missing_runtime_is_refused_stalls_running_apps_and_recovers_when_installed(
    operator: object, namespace: str, knative_removable: None
) -> None:
    kubectl("apply", "-f", "-", input=microapp("fn", namespace, template="serverless-function"))
    eventually(
        lambda: kubectl("get", "ksvc", "fn", "-n", namespace, check=False).returncode == 0, what="the Knative Service"
    )

    kubectl("delete", "-f", str(KNATIVE_CRD), "--wait=true", "--timeout=60s")
    stalled = eventually(
        lambda: (
            condition(namespace, "fn", "Stalled").get("reason") == "RuntimeUnavailable"
            and condition(namespace, "fn", "Stalled")
        ),
        timeout=60,
        what="the running serverless app to stall with RuntimeUnavailable",
    )
    assert (
        "template serverless-function@1.0.1 renders a serving.knative.dev/v1 Service, which this cluster "
        "does not serve: the platform team must install Knative Serving"
    ) in stalled["message"]

    def refused() -> str | None:
        proc = kubectl(
            "apply", "-f", "-", input=microapp("fn2", namespace, template="serverless-function"), check=False
        )
        return proc.stderr if proc.returncode != 0 else None

    err = eventually(refused, timeout=30, what="a new serverless app to be refused")
    assert "renders a serving.knative.dev/v1 Service, which this cluster does not serve" in err
    assert "404 page not found" not in err

    kubectl("apply", "--server-side", "--field-manager=microapp-install", "--force-conflicts", "-f", str(KNATIVE_CRD))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(KNATIVE_CRD))
    eventually(
        lambda: (
            kubectl("get", "ksvc", "fn", "-n", namespace, check=False).returncode == 0
            and not condition(namespace, "fn", "Stalled")
        ),
        timeout=60,
        what="the app to proceed once Knative is back, without an operator restart",
    )
    eventually(lambda: refused() is None, timeout=30, what="new serverless apps to be accepted again")


@pytest.fixture
def frozen_deployments(namespace: str) -> Iterator[str]:
    """A ValidatingAdmissionPolicy (another admission control, not ours) refusing Deployments here."""
    name = f"freeze-{namespace}"
    kubectl(
        "apply",
        "-f",
        "-",
        input=[
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicy",
                "metadata": {"name": name},
                "spec": {
                    "failurePolicy": "Fail",
                    "matchConstraints": {
                        "resourceRules": [
                            {
                                "apiGroups": ["apps"],
                                "apiVersions": ["v1"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["deployments"],
                            }
                        ]
                    },
                    "validations": [{"expression": "false", "message": "deployments are frozen in this namespace"}],
                },
            },
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": {"name": name},
                "spec": {
                    "policyName": name,
                    "validationActions": ["Deny"],
                    "matchResources": {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
                    },
                },
            },
        ],
    )
    probe = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}},
        },
    }
    eventually(
        lambda: kubectl("apply", "--dry-run=server", "-f", "-", input=probe, check=False).returncode != 0,
        timeout=30,
        what="the admission policy to take effect",
    )
    yield name
    kubectl("delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", name, check=False)


def test_an_app_stalled_by_another_admission_policy_recovers_on_resync(
    operator: object, namespace: str, frozen_deployments: str
) -> None:
    """No event of the app's own changes anything here: only the periodic resync (15 s in the
    tests' operator) notices that the policy was lifted."""
    kubectl("apply", "-f", "-", input=microapp("frozen", namespace))
    cond = eventually(
        lambda: (
            condition(namespace, "frozen", "Stalled").get("reason") == "ApplyFailed"
            and condition(namespace, "frozen", "Stalled")
        ),
        timeout=30,
        what="the ApplyFailed stall",
    )
    assert "deployments are frozen in this namespace" in cond["message"]
    generation = get_json("mapp", "frozen", "-n", namespace)["metadata"]["generation"]
    kubectl("delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", frozen_deployments)
    kubectl("wait", "--for=condition=Ready", "--timeout=90s", "-n", namespace, "mapp/frozen")
    assert get_json("mapp", "frozen", "-n", namespace)["metadata"]["generation"] == generation
    assert json.loads(kubectl("get", "deploy", "frozen", "-n", namespace, "-o", "json").stdout)["metadata"]["name"]
