"""Guardrails: one pure function for the webhook, the reconciler and the CLI."""

from __future__ import annotations

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import catalog, guardrails, plan
from tests.factories import COST_CENTER, microapp

POLICY = api.PlatformPolicySpec.model_validate(
    {
        "teams": [{"name": "finance", "groups": ["finance-devs"], "namespaces": ["team-finance", "finance-*"]}],
        "guardrails": {
            "allowedRegistries": ["registry.internal/"],
            "maxReplicas": 10,
            "maxCpu": "2",
            "maxMemory": "4Gi",
            "requireCostCenter": True,
            "publicExposureApprovers": ["platform-admins"],
        },
        "telemetry": {"sidecarImage": "otel/opentelemetry-collector:0.148.0"},
    }
)


def app(namespace: str = "team-finance", annotations: dict | None = None, **spec: object) -> dict:
    ann = {COST_CENTER: "CC-1", **(annotations or {})}
    return microapp(
        "a", namespace, uid="u", typed=False, annotations=ann, **{"template": "web-service", "image": IMAGE, **spec}
    )


IMAGE = "registry.internal/a:1.0"


def violations(body: dict) -> list[str]:
    objects = plan.desired(plan.parse(body), catalog.builtin(), policy=POLICY).objects
    return guardrails.evaluate(plan.AppMeta.of(body), plan.parse(body).spec, objects, POLICY)


def test_compliant_app() -> None:
    assert violations(app()) == []
    assert violations(app(namespace="finance-reports")) == []  # namespace patterns


CASES = {
    "missing-owner": (
        app(annotations={"microapp.dev/owner": ""}),
        "metadata.annotations.microapp.dev/owner is required",
    ),
    "missing-cost-center": (
        app(annotations={"microapp.dev/cost-center": ""}),
        "metadata.annotations.microapp.dev/cost-center is required by the platform",
    ),
    "unknown-team": (
        app(annotations={"microapp.dev/team": "sales"}),
        "team 'sales' is not in the PlatformPolicy (teams: finance)",
    ),
    "wrong-namespace": (app(namespace="team-hr"), "namespace 'team-hr' is not one of team finance's namespaces"),
    "registry": (
        app(image="docker.io/x/y:1"),
        "spec.image 'docker.io/x/y:1' is not from an allowed registry (registry.internal/)",
    ),
    "untagged": (app(image="registry.internal/a"), "spec.image 'registry.internal/a' has no fixed tag"),
    "latest": (app(image="registry.internal/a:latest"), "has no fixed tag"),
    "replicas": (app(replicas=11), "spec.replicas is 11; the platform allows at most 10 replicas"),
    "hpa": (app(parameters={"autoscale": {"max": 12}}), "the autoscaler's maximum (spec.parameters) is 12"),
    "knative": (app(template="serverless-function", parameters={"maxScale": 20}), "max-scale (spec.parameters) is 20"),
    "cpu": (app(resources={"cpu": "2500m"}), "spec.resources.cpu: 2500m is more than the platform's maximum of 2"),
    "memory": (
        app(resources={"memory": "5Gi"}),
        "spec.resources.memory: 5Gi is more than the platform's maximum of 4Gi",
    ),
    "public-unapproved": (app(expose="public", host="a.example.com"), "spec.expose: public needs approval"),
    "bad-editor": (
        app(annotations={"microapp.dev/viewers": "group:system:authenticated"}),
        "system: users and groups cannot be granted access",
    ),
}


@pytest.mark.parametrize("body,message", CASES.values(), ids=CASES.keys())
def test_violation(body: dict, message: str) -> None:
    found = violations(body)
    assert any(message in v for v in found), found


def test_the_default_telemetry_sidecar_is_not_judged_as_the_apps_image() -> None:
    """A policy that restricts registries but leaves telemetry.sidecarImage unset gets the
    default collector injected: the operator must not refuse its own sidecar."""
    policy = api.PlatformPolicySpec.model_validate({"guardrails": {"allowedRegistries": ["registry.internal/"]}})
    objects = plan.desired(plan.parse(app()), catalog.builtin(), policy=policy).objects
    assert guardrails.evaluate_workload(plan.parse(app()).spec, objects, policy) == []


def test_digest_pinned_images_are_fine() -> None:
    assert violations(app(image="registry.internal/a@sha256:" + "0" * 64)) == []


def test_without_objects_still_checks_the_spec() -> None:
    body = app(image="docker.io/x:1")
    assert guardrails.evaluate(plan.AppMeta.of(body), plan.parse(body).spec, None, POLICY) == [
        "spec.image 'docker.io/x:1' is not from an allowed registry (registry.internal/)"
    ]


def test_an_image_the_template_renders_is_named_as_such_not_as_spec_image() -> None:
    """The message names the field to fix: spec.image for the app's own image; an image only
    the template renders (here an init container) is not something spec.image can change."""
    body = app()
    objects = list(plan.desired(plan.parse(body), catalog.builtin(), policy=POLICY).objects)
    deploy = next(o for o in objects if o["kind"] == "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    objects[objects.index(deploy)] = {
        **deploy,
        "spec": {
            **deploy["spec"],
            "template": {
                **deploy["spec"]["template"],
                "spec": {**pod, "initContainers": [{"name": "init", "image": "docker.io/busybox:1"}]},
            },
        },
    }
    assert guardrails.evaluate(plan.AppMeta.of(body), plan.parse(body).spec, objects, POLICY) == [
        "image 'docker.io/busybox:1' is not from an allowed registry (registry.internal/)"
    ]
