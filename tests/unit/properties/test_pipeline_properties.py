"""Property-based tests (hypothesis) over the pure pipeline: hostile specs, parameters and
template output never crash it, never escape the app's namespace or allowed kinds, never
change YAML structure, and never price below zero."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microapp_operator.api import types as api
from microapp_operator.core import catalog, cost, guardrails, plan, rendered
from microapp_operator.core.render import RenderError
from tests.factories import microapp

CATALOG = catalog.builtin()
POLICY = api.PlatformPolicySpec.model_validate(
    {
        "teams": [{"name": "finance", "groups": ["finance-devs"], "namespaces": ["ns"]}],
        "guardrails": {"allowedRegistries": ["registry.internal/"], "maxReplicas": 10, "maxCpu": "2"},
    }
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=True, allow_infinity=True), text
)
value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
quantity_like = st.one_of(
    st.sampled_from(
        ["250m", "1", "2Gi", "512Mi", "0.5", "1e3", "lots", "", "1.2.3", "-1", "1e999999", "9" * 40, "1Pi"]
    ),
    st.integers(-5, 10**6),
    text,
)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "template": draw(
            st.sampled_from(
                [
                    "web-service",
                    "worker",
                    "scheduled-job",
                    "serverless-function",
                    "webhook-handler",
                    "nope",
                    "web-service@^1",
                    "web-service@>=9",
                ]
            )
        ),
        "image": draw(st.one_of(st.just("registry.internal/a:1"), text)),
    }
    optional = {
        "replicas": st.one_of(st.integers(-2, 2000), value),
        "port": st.one_of(st.integers(-1, 70000), value),
        "resources": st.one_of(st.fixed_dictionaries({"cpu": quantity_like, "memory": quantity_like}), value),
        "env": st.one_of(
            st.lists(st.fixed_dictionaries({"name": st.sampled_from(["A", "B", "X_1"]), "value": text}), max_size=3),
            value,
        ),
        "expose": st.sampled_from(["none", "internal", "public", "everywhere"]),
        "host": st.one_of(st.just("a.example.com"), text),
        "parameters": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "autoscale": st.one_of(
                        st.fixed_dictionaries(
                            {"max": st.integers(-1, 200)},
                            optional={"min": st.integers(-1, 200), "cpuPercent": st.integers(0, 200)},
                        ),
                        value,
                    ),
                    "schedule": st.one_of(st.sampled_from(["@daily", "0 6 * * 1-5", "61 * * * *"]), text),
                    "args": st.one_of(st.lists(text, max_size=3), value),
                    "minScale": st.one_of(st.integers(-1, 50), value),
                    "maxScale": st.one_of(st.integers(-1, 50), value),
                    "healthPath": text,
                    "concurrencyTarget": st.one_of(st.integers(-1, 1000), value),
                },
            ),
            value,
        ),
        "telemetry": st.one_of(st.fixed_dictionaries({"enabled": st.booleans()}), value),
        "suspend": st.one_of(st.booleans(), value),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            spec[key] = draw(strategy)
    return spec


def body(spec: dict[str, Any]) -> dict[str, Any]:
    return microapp(uid="u1", generation=1, typed=False, spec=spec)


@SETTINGS
@given(specs())
def test_any_spec_either_renders_safe_objects_or_raises_a_plan_error(spec: dict[str, Any]) -> None:
    try:
        app = plan.parse(body(spec))
        desired = plan.desired(app, CATALOG, policy=POLICY)
        estimate = cost.estimate(desired.objects, cost.Prices())
        found = guardrails.evaluate(app.meta, app.spec, desired.objects, POLICY)
    except (plan.PlanError, RenderError):
        return
    allowed = rendered.ALLOWED_KINDS[desired.runtime] | {
        ("v1", "ServiceAccount"),
        ("v1", "ConfigMap"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("monitoring.coreos.com/v1", "PodMonitor"),
    }
    for obj in desired.objects:
        assert obj["metadata"]["namespace"] == "ns"
        assert (obj["apiVersion"], obj["kind"]) in allowed
        assert obj["metadata"]["name"] == "shop" or obj["metadata"]["name"].startswith("shop-")
    assert estimate.monthly >= 0 and not math.isnan(float(estimate.monthly))
    assert all(isinstance(v, str) for v in found)


@SETTINGS
@given(
    st.lists(st.fixed_dictionaries({"name": st.sampled_from(["A", "B"]), "value": text}), min_size=1, max_size=2),
    st.lists(text, max_size=3),
)
def test_user_values_never_change_yaml_structure(env: list[dict[str, str]], args: list[str]) -> None:
    """Whatever the strings, they come out as the same strings in the same places."""
    try:
        app = plan.parse(
            body(
                {
                    "template": "worker",
                    "image": "registry.internal/a:1",
                    "env": env,
                    "parameters": {"args": args},
                    "telemetry": {"enabled": False},
                }
            )
        )
    except plan.PlanError:
        return  # e.g. duplicate env names, refused by the schema
    [dep] = [o for o in plan.desired(app, CATALOG).objects if o["kind"] == "Deployment"]
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert [e for e in container["env"] if e["name"] in ("A", "B")] == env
    assert container.get("args", []) == args
    assert set(dep) == {"apiVersion", "kind", "metadata", "spec"}


documents = st.dictionaries(
    st.sampled_from(["apiVersion", "kind", "metadata", "spec", "data", "rules"]), value, max_size=5
)
kinds = st.sampled_from(
    [
        ("apps/v1", "Deployment"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("serving.knative.dev/v1", "Service"),
        ("batch/v1", "CronJob"),
        ("v1", "ConfigMap"),
        ("policy/v1", "PodDisruptionBudget"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ]
)


@st.composite
def hostile_output(draw: st.DrawFn) -> list[dict[str, Any]]:
    """What a hostile or broken template might render: right kinds, wrong shapes."""
    docs = []
    for _ in range(draw(st.integers(1, 3))):
        doc = draw(documents)
        api_version, kind = draw(kinds)
        if draw(st.booleans()):
            doc.update(apiVersion=api_version, kind=kind, metadata=draw(st.one_of(st.just({"name": "shop"}), value)))
        if draw(st.booleans()):
            doc["spec"] = {
                "replicas": draw(value),
                "scaleTargetRef": draw(value),
                "maxReplicas": draw(value),
                "schedule": draw(value),
                "template": {
                    "metadata": {"annotations": draw(value)},
                    "spec": {
                        "containers": [
                            {
                                "name": "c",
                                "resources": {"requests": {"cpu": draw(quantity_like)}, "limits": draw(value)},
                            }
                        ]
                    },
                },
            }
        docs.append(json.loads(json.dumps(doc, default=str)) if draw(st.booleans()) else doc)
    return docs


@SETTINGS
@given(hostile_output(), st.sampled_from(["container", "serverless", "job"]))
def test_hostile_template_output_raises_one_typed_error_or_passes_the_rules(
    docs: list[dict[str, Any]], runtime: str
) -> None:
    try:
        objects = rendered.complete(
            docs, app="shop", namespace="ns", team="t", runtime=runtime, security=None, uid="u1"
        )
        estimate = cost.estimate(objects, cost.Prices())
        spec = api.MicroAppSpec(template="worker", image="registry.internal/a:1")
        guardrails.evaluate_workload(spec, objects, POLICY)
    except RenderError as exc:
        assert "Traceback" not in str(exc) and str(exc)
        return
    assert estimate.monthly >= Decimal(0)
    for obj in objects:
        assert obj["metadata"]["namespace"] == "ns"
