"""The pipeline from a MicroApp to the objects to apply, over the built-in templates."""

from __future__ import annotations

import copy

import pytest

from microapp_operator.api.conditions import Reason
from microapp_operator.core import catalog, plan, rendered
from tests.factories import microapp

CATALOG = catalog.builtin()


def app(**spec: object) -> dict:
    return microapp(  # telemetry has tests of its own
        "shop",
        "team-a",
        uid="u-1",
        generation=1,
        typed=False,
        **{"image": "registry.internal/shop:1", "telemetry": {"enabled": False}, **spec},
    )


ACCESS = {"ServiceAccount", "Role", "RoleBinding", "NetworkPolicy"}  # added by the operator to every app


def workload(p: plan.Plan) -> list[dict]:
    return [o for o in p.objects if o["kind"] not in ACCESS]


def kinds(p: plan.Plan) -> list[str]:
    return [o["kind"] for o in workload(p)]


def test_every_app_gets_its_service_account_and_network_policy() -> None:
    p = plan.desired(plan.parse(app()), CATALOG)
    assert [o["kind"] for o in p.objects[:2]] == ["ServiceAccount", "NetworkPolicy"]
    sa = p.objects[0]
    assert sa["automountServiceAccountToken"] is False
    assert sa["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert workload(p)[0]["spec"]["template"]["spec"]["serviceAccountName"] == "shop"


CASES = {
    "web-internal": ({}, ["Deployment", "Service"], "http://shop.team-a.svc.cluster.local"),
    "web-none": ({"expose": "none"}, ["Deployment"], None),
    "web-public": (
        {"expose": "public", "host": "shop.example.com"},
        ["Deployment", "Service", "Ingress"],
        "https://shop.example.com",
    ),
    "web-pdb": (
        {"replicas": 3},
        ["Deployment", "Service", "PodDisruptionBudget"],
        "http://shop.team-a.svc.cluster.local",
    ),
    "web-hpa": (
        {"parameters": {"autoscale": {"min": 2, "max": 5}}},
        ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"],
        "http://shop.team-a.svc.cluster.local",
    ),
    "worker": ({"template": "worker", "parameters": {"args": ["--queue", "orders"]}}, ["Deployment"], None),
    "scheduled-job": ({"template": "scheduled-job", "parameters": {"schedule": "0 6 * * 1-5"}}, ["CronJob"], None),
    "serverless": ({"template": "serverless-function"}, ["Service"], "http://shop.team-a.svc.cluster.local"),
    "webhook-handler": (
        {"template": "webhook-handler", "parameters": {"concurrencyTarget": 5}},
        ["Service"],
        "http://shop.team-a.svc.cluster.local",
    ),
}


@pytest.mark.parametrize("spec,expected,url", CASES.values(), ids=CASES.keys())
def test_builtin_templates_render_safe_objects(spec: dict, expected: list[str], url: str | None) -> None:
    p = plan.desired(plan.parse(app(**spec)), CATALOG)
    assert kinds(p) == expected
    assert p.url == url
    for obj in p.objects:
        assert obj["metadata"]["namespace"] == "team-a"
        assert obj["metadata"]["labels"]["microapp.dev/name"] == "shop"
        assert obj["metadata"]["ownerReferences"][0]["uid"] == "u-1"
        for _, pod in rendered.pod_specs(obj):
            assert pod["securityContext"]["runAsNonRoot"] is True
            for c in pod["containers"]:
                assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_defaults_come_from_the_template() -> None:
    [dep, _] = workload(plan.desired(plan.parse(app()), CATALOG))
    assert dep["spec"]["replicas"] == 1
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}}
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]


def test_hpa_replaces_deployment_replicas() -> None:
    p = plan.desired(plan.parse(app(replicas=2, parameters={"autoscale": {"max": 4}})), CATALOG)
    assert "replicas" not in workload(p)[0]["spec"]
    hpa = next(o for o in p.objects if o["kind"] == "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 4)


def test_knative_scale_annotations() -> None:
    p = plan.desired(plan.parse(app(template="serverless-function", parameters={"maxScale": 7})), CATALOG)
    annotations = workload(p)[0]["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"autoscaling.knative.dev/min-scale": "0", "autoscaling.knative.dev/max-scale": "7"}


SUSPENDED = {
    "web": ({"replicas": 3}, ["Deployment", "Service"]),
    "job": ({"template": "scheduled-job", "parameters": {"schedule": "@daily"}}, ["CronJob"]),
    "serverless": ({"template": "serverless-function"}, []),
}


@pytest.mark.parametrize("spec,expected", SUSPENDED.values(), ids=SUSPENDED.keys())
def test_suspend_scales_to_zero(spec: dict, expected: list[str]) -> None:
    p = plan.desired(plan.parse(app(suspend=True, **spec)), CATALOG)
    assert kinds(p) == expected
    for obj in workload(p):
        if obj["kind"] == "Deployment":
            assert obj["spec"]["replicas"] == 0
        if obj["kind"] == "CronJob":
            assert obj["spec"]["suspend"] is True


def test_env_injection_stays_one_value() -> None:
    hostile = "x\nkind: ClusterRole\n---\napiVersion: v1"
    p = plan.desired(
        plan.parse(app(env=[{"name": "A", "value": hostile}, {"name": "B", "value": "{{ 7*7 }}"}])), CATALOG
    )
    assert kinds(p) == ["Deployment", "Service"]
    env = workload(p)[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": hostile}, {"name": "B", "value": "{{ 7*7 }}"}]


ERRORS = {
    "unknown-template": ({"template": "payroll"}, Reason.TEMPLATE_NOT_FOUND, "no template named 'payroll'"),
    "no-version": ({"template": "web-service@^9"}, Reason.TEMPLATE_NOT_FOUND, "available: 1.1.0, 1.0.0"),
    "bad-parameter": (
        {"parameters": {"healthPath": "/\nkind: ClusterRole"}},
        Reason.INVALID_PARAMETERS,
        "spec.parameters.healthPath: '/\\nkind: ClusterRole' does not match",
    ),
    "unknown-parameter": (
        {"parameters": {"privileged": True}},
        Reason.INVALID_PARAMETERS,
        "('privileged' was unexpected)",
    ),
    "bad-spec": ({"replicas": -1}, Reason.INVALID_SPEC, "spec.replicas: Input should be greater than or equal to 0"),
    "unknown-field": ({"replica": 2}, Reason.INVALID_SPEC, "spec.replica: unknown field"),
    "missing-schedule": (
        {"template": "scheduled-job"},
        Reason.INVALID_PARAMETERS,
        "spec.parameters: 'schedule' is a required property",
    ),
}


@pytest.mark.parametrize("spec,reason,message", ERRORS.values(), ids=ERRORS.keys())
def test_errors_stall_with_reason(spec: dict, reason: Reason, message: str) -> None:
    with pytest.raises(plan.PlanError) as err:
        plan.desired(plan.parse(app(**spec)), CATALOG)
    assert err.value.reason == reason
    assert message in err.value.message


def test_inventory_lists_objects() -> None:
    assert plan.desired(plan.parse(app()), CATALOG).inventory() == [
        {"apiVersion": "v1", "kind": "ServiceAccount", "name": "shop"},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "name": "shop"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"},
        {"apiVersion": "v1", "kind": "Service", "name": "shop"},
    ]


def test_plan_does_not_modify_the_app() -> None:
    body = app(env=[{"name": "A", "value": "1"}])
    before = copy.deepcopy(body)
    plan.desired(plan.parse(body), CATALOG)
    assert body == before


@pytest.mark.parametrize("spec", [c[0] for c in CASES.values()] + [{"suspend": True}], ids=[*CASES.keys(), "suspended"])
@pytest.mark.parametrize("telemetry", [True, False], ids=["telemetry", "no-telemetry"])
def test_workload_is_what_desired_adds_to(spec: dict, telemetry: bool) -> None:
    """Admission prices and judges plan.workload; it must be exactly desired's workload."""
    body = app(**spec, telemetry={"enabled": telemetry})
    work, full = plan.workload(plan.parse(body), CATALOG), plan.desired(plan.parse(body), CATALOG)
    added = {("ConfigMap", "shop-dashboard")} if telemetry else set()
    assert [
        o for o in full.objects if (o["kind"], o["metadata"]["name"]) not in added and o["kind"] not in ACCESS
    ] == list(work.objects)
    assert {(o["kind"], o["metadata"]["name"]) for o in full.objects} - {
        (o["kind"], o["metadata"]["name"]) for o in work.objects
    } == added | {(k, "shop") for k in ACCESS if any(o["kind"] == k for o in full.objects)}
    assert work.url == full.url


def test_a_template_cannot_take_the_dashboard_name() -> None:
    from microapp_operator.api import types as api

    squatter = api.AppTemplateSpec(
        template_name="squat",
        version="1.0.0",
        runtime="container",
        manifests=("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ app.name ~ '-dashboard' }}}\n"),
    )
    with pytest.raises(plan.PlanError, match="a second ConfigMap named 'shop-dashboard'") as err:
        plan.desired(plan.parse(app(template="squat", telemetry={"enabled": True})), [squatter])
    assert err.value.reason == Reason.TEMPLATE_FAILED
    assert plan.desired(plan.parse(app(template="squat")), [squatter]).objects  # without telemetry the name is free


def test_editors_may_read_the_dashboard_and_collector_config() -> None:
    body = app(telemetry={"enabled": True})
    body["metadata"]["annotations"]["microapp.dev/editors"] = "user:bob@example.com"
    role = next(o for o in plan.desired(plan.parse(body), CATALOG).objects if o["kind"] == "Role")
    configmaps = next(r for r in role["rules"] if r["resources"] == ["configmaps"])
    assert configmaps["resourceNames"] == ["shop-dashboard", "shop-otel"]
