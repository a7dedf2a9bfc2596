"""Odd template output is named in plain words (TemplateFailed), never a crash or a repr."""

from __future__ import annotations

import pytest

from microapp_operator.core import cost, rendered
from microapp_operator.core.render import RenderError

POD = {"containers": [{"name": "app", "image": "registry.internal/a:1"}]}
ODD = {
    "invalid-quantity": (
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "shop"},
            "spec": {
                "template": {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "lots"}}}]}}
            },
        },
        "resources.requests.cpu: 'lots' is not a Kubernetes quantity",
    ),
    "absurd-quantity": (
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "shop"},
            "spec": {
                "template": {"spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "1e999999"}}}]}}
            },
        },
        "'1e999999' is out of range for a Kubernetes quantity",
    ),
    "non-integer-replicas": (
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "shop"},
            "spec": {"replicas": "two", "template": {"spec": POD}},
        },
        "spec.replicas must be a whole number, not 'two'",
    ),
    "non-integer-scale": (
        {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "shop"},
            "spec": {
                "template": {"metadata": {"annotations": {"autoscaling.knative.dev/max-scale": "1.5"}}, "spec": POD}
            },
        },
        "annotation autoscaling.knative.dev/max-scale must be a whole number, not '1.5'",
    ),
    "hpa-without-target": (
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "shop"},
            "spec": {"maxReplicas": 3},
        },
        "spec.scaleTargetRef must name the kind and name of what it scales",
    ),
    "labels-not-strings": (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop", "labels": [1]}},
        "metadata.labels must map strings to strings",
    ),
    "containers-not-a-list": (
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "shop"},
            "spec": {"template": {"spec": {"containers": "app"}}},
        },
        "containers must be a list of mappings",
    ),
}


@pytest.mark.parametrize("doc,message", ODD.values(), ids=ODD.keys())
def test_odd_output_is_refused_by_the_rules_with_the_field_named(doc: dict, message: str) -> None:
    runtime = "serverless" if doc["kind"] == "Service" else "container"
    with pytest.raises(RenderError) as err:
        rendered.complete([doc], app="shop", namespace="ns", team="t", runtime=runtime, security=None, uid="u")
    assert message in str(err.value)
    assert "Traceback" not in str(err.value) and "Error(" not in str(err.value)


def test_the_cost_model_raises_the_typed_error_for_what_slips_past() -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "shop"},
        "spec": {"maxReplicas": 2},
    }
    with pytest.raises(RenderError, match="HorizontalPodAutoscaler without spec.scaleTargetRef"):
        cost.estimate([hpa], cost.Prices())
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop"},
        "spec": {"replicas": [], "template": {"spec": POD}},
    }
    with pytest.raises(RenderError, match="the template rendered Deployment/shop, which the cost model cannot read"):
        cost.estimate([deployment], cost.Prices())
