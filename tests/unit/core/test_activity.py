"""What a Prometheus answer means for activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_default_query_keeps_namespace_and_microapp_from_the_sidecars_attributes() -> None:
    q = activity.DEFAULT_QUERY
    assert q.startswith("sum by (namespace, microapp) (")
    assert "increase(http_server_request_duration_seconds_count[1h])" in q
    assert '"namespace", "$1", "k8s_namespace_name", "(.+)"' in q and '"microapp", "$1", "service_name", "(.+)"' in q
    assert activity.window(q) == timedelta(hours=1)


@pytest.mark.parametrize(
    "promql,expected",
    [
        ("sum(increase(x[15s]))", timedelta(seconds=15)),
        ("sum(rate(x[5m])) + sum(increase(y[2h]))", timedelta(hours=2)),
        ("sum(x)", None),
    ],
    ids=["seconds", "longest-wins", "no-range"],
)
def test_window_is_the_longest_range(promql: str, expected: timedelta | None) -> None:
    assert activity.window(promql) == expected


@pytest.mark.parametrize(
    "found,running_for,promql,says",
    [
        ({("ns", "a"): 0.0}, timedelta(days=3), activity.OLD_DEFAULT_QUERY, None),
        ({}, None, activity.OLD_DEFAULT_QUERY, None),
        ({}, timedelta(minutes=30), activity.OLD_DEFAULT_QUERY, None),
        ({}, timedelta(hours=2), activity.OLD_DEFAULT_QUERY, "old default (http_server_requests_total)"),
        ({}, timedelta(hours=2), activity.DEFAULT_QUERY, "returned no series for any app"),
        ({}, timedelta(days=30), "sum(up)", None),
    ],
    ids=[
        "a-series-even-zero-is-trusted",
        "no-app-running-with-telemetry",
        "not-yet-longer-than-the-window",
        "old-query-named",
        "any-query-meeting-nothing",
        "no-window-to-judge-by",
    ],
)
def test_an_answer_without_any_series_is_not_trusted_once_apps_have_run_past_the_window(
    found: dict, running_for: timedelta | None, promql: str, says: str | None
) -> None:
    since = NOW - running_for if running_for else None
    why = activity.silent(promql=promql, found=found, running_since=since, now=NOW)
    assert (why is None) if says is None else (says in (why or ""))


def test_zero_valued_series_count_as_series_but_not_as_traffic() -> None:
    answer = vector(({"namespace": "ns", "microapp": "quiet"}, "0"), ({"namespace": "ns", "microapp": "busy"}, "2"))
    assert activity.series(answer) == {("ns", "quiet"): 0.0, ("ns", "busy"): 2.0}
    assert activity.active(answer) == {("ns", "busy")}


@pytest.mark.parametrize(
    "failure,silence,status,reason",
    [
        (None, None, "True", "TrafficSourceAnswers"),
        ("connection refused", None, "False", "TrafficSourceFailing"),
        (None, "the activity query is the old default", "False", "QueryMeetsNoTelemetry"),
    ],
    ids=["answers", "failing", "meets-no-telemetry"],
)
def test_policy_status_says_whether_activity_is_known_and_why(
    failure: str | None, silence: str | None, status: str, reason: str
) -> None:
    out = activity.policy_status(failure=failure, silence=silence, generation=4, old={}, now=NOW)
    [cond] = out["conditions"]
    assert (cond["type"], cond["status"], cond["reason"], cond["observedGeneration"]) == (
        "ActivityKnown",
        status,
        reason,
        4,
    )
    assert (failure or silence or "answers") in cond["message"]
    if status == "False":
        assert cond["message"].startswith("activity unknown, no app is idled: ")


def test_policy_status_without_a_traffic_source() -> None:
    out = activity.policy_status(failure="", silence=None, generation=1, old={}, now=NOW, source=False)
    [cond] = out["conditions"]
    assert (cond["status"], cond["reason"]) == ("True", "NoTrafficSource")
