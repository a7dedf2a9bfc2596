"""The CRDs on the real API server: columns, explain, scale, categories and refusals."""

from __future__ import annotations

import pytest
import yaml

from tests.helpers import ROOT, get_json, kubectl, microapp


def _sample(namespace: str) -> dict:
    doc = yaml.safe_load((ROOT / "samples" / "expense-approvals.yaml").read_text())
    doc["metadata"]["namespace"] = namespace
    doc["metadata"]["annotations"]["microapp.dev/team"] = "qa"  # the tests' team for t-* namespaces
    return doc


def test_sample_applies_and_shows_printer_columns(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=_sample(namespace))
    out = kubectl("get", "mapp", "-n", namespace).stdout
    header = out.splitlines()[0].split()
    assert header == ["NAME", "TEMPLATE", "PHASE", "READY", "COST/MO", "OWNER", "AGE"]
    row = out.splitlines()[1].split()
    assert row[:2] == ["expense-approvals", "web-service@^1"]
    assert "alice@example.com" in row


def test_category_lists_all_kinds(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=_sample(namespace))
    out = kubectl("get", "microapp-platform", "-A", "-o", "name").stdout.split()
    assert "microapp.microapp.dev/expense-approvals" in out
    assert "platformpolicy.microapp.dev/default" in out
    assert any(name.startswith("apptemplate.microapp.dev/") for name in out)


@pytest.mark.parametrize("resource", ["microapp", "microapps", "mapp", "mapps"])
def test_every_name_of_microapp_gets_one_app(operator: object, namespace: str, resource: str) -> None:
    """The category must not shadow a name: `kubectl get microapp NAME` is what users type first."""
    kubectl("apply", "-f", "-", input=_sample(namespace))
    out = kubectl("get", resource, "expense-approvals", "-n", namespace, "-o", "name").stdout.split()
    assert out == ["microapp.microapp.dev/expense-approvals"]


def test_no_category_equals_a_name_of_our_kinds(crds: None) -> None:
    names = set()
    categories = set()
    for crd in [c for c in get_json("crd")["items"] if c["spec"]["group"] == "microapp.dev"]:
        n = crd["spec"]["names"]
        names |= {n["plural"], n["singular"], n["kind"].lower(), *n.get("shortNames", [])}
        categories |= set(n.get("categories", []))
    assert len(names) >= 12 and categories == {"microapp-platform"} and not categories & names


def test_explain_documents_fields(crds: None) -> None:
    spec = kubectl("explain", "microapp.spec").stdout
    for field in ("template", "image", "replicas", "resources", "expose", "lifecycle", "budget"):
        assert f"{field}\t" in spec or f"  {field}" in spec, field
    assert "NAME@SEMVER-RANGE" in spec
    resources = kubectl("explain", "microapp.spec.resources").stdout
    assert "Resource requests of the app container" in resources
    assert "CPU request, e.g. 250m" in resources


def test_kubectl_scale_changes_spec_replicas(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("scaled", namespace, replicas=1))
    kubectl("scale", "microapp/scaled", "-n", namespace, "--replicas=3")
    assert get_json("mapp", "scaled", "-n", namespace)["spec"]["replicas"] == 3


INVALID = {
    "host-without-public": (
        {"host": "x.example.com", "expose": "internal"},
        "spec.host is only used with spec.expose: public",
    ),
    "public-without-host": ({"expose": "public"}, "spec.expose: public needs spec.host"),
    "replicas-too-high": ({"replicas": 5000}, "should be less than or equal to 1000"),
    "bad-template-ref": ({"template": "Web Service"}, "spec.template must be NAME or NAME@RANGE"),
    "bad-cpu-quantity": ({"resources": {"cpu": "lots"}}, "spec.resources.cpu in body should match"),
    "bad-on-retire": ({"lifecycle": {"onRetire": "Shred"}}, 'supported values: "Archive", "Delete"'),
    "duplicate-env": (
        {"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]},
        'spec.env[1]: Duplicate value: {"name":"A"}',
    ),
    "bad-budget": ({"budget": {"monthlyLimit": "forty"}}, "spec.budget.monthlyLimit in body should match"),
    "bad-duration": (
        {"lifecycle": {"idleAfter": "a week"}},
        'spec.lifecycle.idleAfter: Invalid value: "string": '
        "must be a number and s, m, h, d or w, e.g. 30m, 12h, 7d or 2w",
    ),
    "image-with-space": ({"image": "registry.internal/a b:1"}, "spec.image must be an image reference without spaces"),
}


@pytest.mark.parametrize("override,message", INVALID.values(), ids=INVALID.keys())
def test_invalid_microapp_is_refused_with_message(crds: None, namespace: str, override: dict, message: str) -> None:
    proc = kubectl("apply", "-f", "-", input=microapp("bad", namespace, **override), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert kubectl("get", "mapp", "bad", "-n", namespace, check=False).returncode != 0


def test_missing_image_is_refused(crds: None, namespace: str) -> None:
    body = microapp("noimage", namespace)
    del body["spec"]["image"]
    proc = kubectl("apply", "-f", "-", input=body, check=False)
    assert proc.returncode != 0 and "spec.image: Required value" in proc.stderr


def test_platform_policy_must_be_named_default(crds: None) -> None:
    body = {"apiVersion": "microapp.dev/v1alpha1", "kind": "PlatformPolicy", "metadata": {"name": "other"}, "spec": {}}
    proc = kubectl("apply", "-f", "-", input=body, check=False)
    assert proc.returncode != 0 and "the PlatformPolicy must be named default" in proc.stderr


def _template(name: str, **spec: object) -> dict:
    body = {
        "apiVersion": "microapp.dev/v1alpha1",
        "kind": "AppTemplate",
        "metadata": {"name": name},
        "spec": {
            "templateName": "probe",
            "version": "1.0.0",
            "runtime": "container",
            "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
            "manifests": "kind: ConfigMap\n",
        },
    }
    body["spec"].update(spec)
    return body


def test_app_template_is_immutable_except_deprecated(crds: None) -> None:
    name = "probe-immutable-1.0.0"
    kubectl("delete", "apptemplate", name, "--ignore-not-found")
    kubectl("apply", "-f", "-", input=_template(name))
    try:
        edited = kubectl("apply", "-f", "-", input=_template(name, manifests="kind: Secret\n"), check=False)
        assert edited.returncode != 0 and "AppTemplate is immutable except spec.deprecated" in edited.stderr
        schema = kubectl("apply", "-f", "-", input=_template(name, parameters={"type": "object"}), check=False)
        assert schema.returncode != 0 and "AppTemplate is immutable" in schema.stderr
        kubectl("apply", "-f", "-", input=_template(name, deprecated=True))
        assert get_json("apptemplate", name)["spec"]["deprecated"] is True
    finally:
        kubectl("delete", "apptemplate", name, "--ignore-not-found")
