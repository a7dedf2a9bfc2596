"""Monthly cost estimates from rendered objects (OpenCost's default prices)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import catalog, cost, plan
from tests.factories import microapp

PRICES = cost.Prices()
CATALOG = catalog.builtin()


def estimate(**spec: object) -> cost.Estimate:
    fields = {"template": "web-service", "image": "r/x:1", "telemetry": {"enabled": False}, **spec}
    app = microapp("a", "n", owner=None, team=None, uid="u", typed=False, **fields)
    return cost.estimate(plan.desired(plan.parse(app), CATALOG).objects, PRICES)


QUANTITIES = {
    "250m": Decimal("0.25"),
    "1": Decimal(1),
    "2": Decimal(2),
    "1.5": Decimal("1.5"),
    "256Mi": Decimal(256 * 2**20),
    "1Gi": Decimal(2**30),
    "500M": Decimal(500 * 10**6),
    "1e3": Decimal(1000),
}


@pytest.mark.parametrize("text,value", QUANTITIES.items(), ids=QUANTITIES.keys())
def test_quantity(text: str, value: Decimal) -> None:
    assert cost.quantity(text) == value


def test_bad_quantity() -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        cost.quantity("lots")


CASES = {
    # 2 x (0.25 core x 0.031611 + 0.25 GiB x 0.004237) x 730 h
    "web-2-replicas": ({"replicas": 2, "resources": {"cpu": "250m", "memory": "256Mi"}}, "13.08"),
    # the autoscaler's max (4) counts, not replicas
    "hpa-max": ({"replicas": 1, "parameters": {"autoscale": {"max": 4}}}, "10.78"),
    # scale to zero: 0 + one instance 25% of the month (100m, 128Mi)
    "serverless-zero": ({"template": "serverless-function"}, "0.67"),
    # min-scale 1: charged at max-scale 3
    "serverless-warm": ({"template": "serverless-function", "parameters": {"minScale": 1, "maxScale": 3}}, "8.08"),
    # 22 weekday runs in the reference month, up to 1 h each
    "cron-weekdays": ({"template": "scheduled-job", "parameters": {"schedule": "0 5 * * 1-5"}}, "0.08"),
    # every minute x 1 h deadline: capped at a full month
    "cron-saturated": ({"template": "scheduled-job", "parameters": {"schedule": "* * * * *"}}, "2.69"),
    "suspended": ({"replicas": 3, "suspend": True}, "0.00"),
}


@pytest.mark.parametrize("spec,monthly", CASES.values(), ids=CASES.keys())
def test_estimates(spec: dict, monthly: str) -> None:
    assert str(estimate(**spec).monthly) == monthly


def test_limit_counts_when_above_request() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "a"},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                            },
                        }
                    ]
                }
            },
        },
    }
    [line] = cost.estimate([obj], PRICES).lines
    assert (line.cpu_cores, line.memory_gib, line.gpus) == (Decimal(1), Decimal(1), Decimal(1))
    assert line.gpu == Decimal("0.95") * 730


def test_sidecars_and_storage_are_counted() -> None:
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "a"},
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "resources": {"requests": {"cpu": "1"}}},
                        {"name": "otel", "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}},
                    ]
                }
            },
        },
    }
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "a-data"},
        "spec": {"resources": {"requests": {"storage": "10Gi"}}},
    }
    est = cost.estimate([dep, pvc], PRICES)
    assert [(line.container, line.replicas) for line in est.lines] == [("app", 2), ("otel", 2), ("-", 1)]
    assert est.lines[2].storage == Decimal("0.40")


def test_prices_from_policy_with_defaults() -> None:
    prices = cost.Prices.from_policy(api.Pricing(currency="EUR", cpu_core_hour="0.05"))
    assert (prices.currency, prices.cpu_core_hour, prices.memory_gib_hour) == (
        "EUR",
        Decimal("0.05"),
        Decimal("0.004237"),
    )


def test_assumptions_are_explained() -> None:
    assert estimate(template="serverless-function").assumptions == (
        "Service/a: scales to zero: charged as one instance busy 25% of the month",
    )


def test_the_telemetry_sidecar_is_counted() -> None:
    est = estimate(replicas=2, resources={"cpu": "250m", "memory": "256Mi"}, telemetry={"enabled": True})
    assert [(line.container, line.cpu_cores) for line in est.lines] == [
        ("app", Decimal("0.25")),
        ("otel-collector", Decimal("0.05")),
    ]
    # 13.08 for the app + 2 x (0.05 core x 0.031611 + 64 MiB x 0.004237) x 730 h
    assert str(est.monthly) == "15.78"


def test_native_sidecars_are_counted_plain_init_containers_not() -> None:
    est = estimate(template="scheduled-job", parameters={"schedule": "* * * * *"}, telemetry={"enabled": True})
    assert [line.container for line in est.lines] == ["app", "otel-collector"]
    assert str(est.monthly) == "4.04"  # a full month of app (2.69) + sidecar (1.35)
