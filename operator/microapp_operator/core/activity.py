"""Traffic as activity (pure): the PromQL the sweep sends, and what its answer means.

One batched query per sweep for all apps, grouped by namespace and app; an app with a positive
value had traffic in the query's window. Anything but a well-formed vector answer is an error:
the sweep then marks activity unknown, and no app is idled on that basis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..api import types as api

DEFAULT_QUERY = "sum by (namespace, microapp) (increase(http_server_requests_total[1h]))"
DEFAULT_SWEEP = "60s"


class ActivityError(ValueError):
    """The traffic source did not answer usefully."""


def query(policy: api.PlatformPolicySpec) -> tuple[str | None, str]:
    """(Prometheus base URL or None, PromQL)."""
    activity = policy.activity or api.Activity()
    return (activity.prometheus_url or None), (activity.query or DEFAULT_QUERY)


def active(answer: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(namespace, app) with traffic, from a Prometheus /api/v1/query answer."""
    if answer.get("status") != "success":
        raise ActivityError(f"Prometheus answered {answer.get('status')!r}: {answer.get('error', 'no error given')}")
    data = answer.get("data") or {}
    if data.get("resultType") != "vector":
        raise ActivityError(f"the activity query must return a vector, not {data.get('resultType')!r}")
    found = set()
    for sample in data.get("result") or []:
        labels = sample.get("metric") or {}
        try:
            value = float((sample.get("value") or [0, "0"])[1])
        except (TypeError, ValueError, IndexError):
            continue
        if labels.get("namespace") and labels.get("microapp") and not math.isnan(value) and value > 0:
            found.add((str(labels["namespace"]), str(labels["microapp"])))
    return found
