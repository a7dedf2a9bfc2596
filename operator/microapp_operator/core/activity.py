"""Traffic as activity (pure): the PromQL the sweep sends, and what its answer means.

One batched query per sweep for all apps, grouped by namespace and app; an app with a positive
value had traffic in the query's window. Anything but a well-formed vector answer is an error:
the sweep then marks activity unknown, and no app is idled on that basis.

The default query meets what OpenTelemetry reports through the rendered sidecar and the shipped
gateway (``manifests/telemetry/gateway.yaml``): the HTTP server metric
``http.server.request.duration`` reaches Prometheus as ``http_server_request_duration_seconds_count``
with the sidecar's resource attributes as the labels ``k8s_namespace_name`` and ``service_name``
(the MicroApp's name); ``label_replace`` names them ``namespace`` and ``microapp``.

A query that names nothing real (the earlier default, ``http_server_requests_total``, against
OpenTelemetry telemetry) answers a well-formed empty vector: every app would look idle. So an
answer with no series for any app, while apps with telemetry have run for longer than the query's
window, is not trusted either (``silent``): activity unknown, with the reason. An app without a
series while others have one simply had no traffic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..api import types as api
from ..api.conditions import ConditionType, Reason
from . import status

DEFAULT_QUERY = (
    "sum by (namespace, microapp) (label_replace(label_replace("
    "increase(http_server_request_duration_seconds_count[1h]), "
    '"namespace", "$1", "k8s_namespace_name", "(.+)"), "microapp", "$1", "service_name", "(.+)"))'
)
# The default before OpenTelemetry's names were met: policies installed then still hold it.
OLD_DEFAULT_QUERY = "sum by (namespace, microapp) (increase(http_server_requests_total[1h]))"
DEFAULT_SWEEP = "60s"


class ActivityError(ValueError):
    """The traffic source did not answer usefully."""


def query(policy: api.PlatformPolicySpec) -> tuple[str | None, str]:
    """(Prometheus base URL or None, PromQL)."""
    activity = policy.activity or api.Activity()
    return (activity.prometheus_url or None), (activity.query or DEFAULT_QUERY)


def active(answer: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(namespace, app) with traffic, from a Prometheus /api/v1/query answer."""
    return {key for key, value in series(answer).items() if value > 0}


def series(answer: Mapping[str, Any]) -> dict[tuple[str, str], float]:
    """(namespace, app) -> value of every series the answer has for an app (zero or not)."""
    if answer.get("status") != "success":
        raise ActivityError(f"Prometheus answered {answer.get('status')!r}: {answer.get('error', 'no error given')}")
    data = answer.get("data") or {}
    if data.get("resultType") != "vector":
        raise ActivityError(f"the activity query must return a vector, not {data.get('resultType')!r}")
    found: dict[tuple[str, str], float] = {}
    for sample in data.get("result") or []:
        labels = sample.get("metric") or {}
        try:
            value = float((sample.get("value") or [0, "0"])[1])
        except (TypeError, ValueError, IndexError):
            continue
        if labels.get("namespace") and labels.get("microapp") and not math.isnan(value):
            found[(str(labels["namespace"]), str(labels["microapp"]))] = value
    return found


_RANGE = re.compile(r"\[(\d+)([smhdwy])\]")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def window(promql: str) -> timedelta | None:
    """The longest range selector of the query (``[1h]``), or None if it has none we can read."""
    ranges = [int(n) * _SECONDS[unit] for n, unit in _RANGE.findall(promql)]
    return timedelta(seconds=max(ranges)) if ranges else None


def silent(
    *, promql: str, found: Mapping[tuple[str, str], float], running_since: datetime | None, now: datetime
) -> str | None:
    """Why an answer cannot be trusted although well-formed, or None (no side effects).

    ``running_since``: when the app with telemetry that has run longest without a pause started
    (None: no such app). An answer with no series for any app while such an app has run for
    longer than the query's window means the query meets no telemetry at all.
    """
    if found:  # some app has a series: an app without one had no traffic
        return None
    span = window(promql)
    if span is None or running_since is None or now - running_since <= span:
        return None  # nothing to expect yet
    if promql.strip() == OLD_DEFAULT_QUERY:
        return (
            "the activity query is the old default (http_server_requests_total), which OpenTelemetry "
            "telemetry never produces: no app has a series although apps with telemetry have run for "
            f"longer than its window. Set spec.activity.query to the new default: {DEFAULT_QUERY}"
        )
    return (
        "the activity query returned no series for any app although apps with telemetry have run for "
        "longer than its window: it meets none of their telemetry (check the metric and label names "
        "against Prometheus, and that the gateway exports resource attributes as labels)"
    )


def policy_status(
    *,
    failure: str | None,
    silence: str | None,
    generation: int,
    old: Mapping[str, Any],
    now: datetime,
    source: bool = True,
) -> dict[str, Any]:
    """The PlatformPolicy's status after a sweep: ActivityKnown. No side effects.

    ``failure``: why Prometheus gave no usable answer; ``silence``: why a usable one is not trusted;
    ``source``: whether spec.activity.prometheusUrl is set at all.
    """
    if not source:
        cond = ("True", Reason.NO_TRAFFIC_SOURCE, "no spec.activity.prometheusUrl: activity is not taken from traffic")
    elif failure:
        cond = ("False", Reason.TRAFFIC_SOURCE_FAILING, f"activity unknown, no app is idled: {failure}")
    elif silence:
        cond = ("False", Reason.QUERY_MEETS_NO_TELEMETRY, f"activity unknown, no app is idled: {silence}")
    else:
        cond = ("True", Reason.TRAFFIC_SOURCE_ANSWERS, "the activity query answers with series for the apps")
    new = status.condition(ConditionType.ACTIVITY_KNOWN, *cond, generation=generation, now=now)
    return {"conditions": status.merge_conditions(old.get("conditions") or [], [new])}
