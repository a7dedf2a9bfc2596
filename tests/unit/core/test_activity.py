"""What a Prometheus answer means for activity."""

from __future__ import annotations

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import activity


def vector(*samples: tuple[dict, str]) -> dict:
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": m, "value": [1.0, v]} for m, v in samples]},
    }


def test_apps_with_positive_traffic_are_active() -> None:
    answer = vector(
        ({"namespace": "ns", "microapp": "busy"}, "3"),
        ({"namespace": "ns", "microapp": "quiet"}, "0"),
        ({"namespace": "ns", "microapp": "nan"}, "NaN"),
        ({"namespace": "ns"}, "9"),
        ({"namespace": "ns", "microapp": "odd"}, "not-a-number"),
    )
    assert activity.active(answer) == {("ns", "busy")}


@pytest.mark.parametrize(
    "answer,message",
    [
        ({"status": "error", "error": "parse error"}, "Prometheus answered 'error': parse error"),
        ({"status": "success", "data": {"resultType": "matrix", "result": []}}, "must return a vector, not 'matrix'"),
    ],
)
def test_anything_but_a_vector_is_an_error(answer: dict, message: str) -> None:
    with pytest.raises(activity.ActivityError, match=message):
        activity.active(answer)


def test_the_default_query_and_no_url_without_a_policy() -> None:
    assert activity.query(api.PlatformPolicySpec()) == (None, activity.DEFAULT_QUERY)
    policy = api.PlatformPolicySpec.model_validate({"activity": {"prometheusUrl": "http://p:9090", "query": "q"}})
    assert activity.query(policy) == ("http://p:9090", "q")
