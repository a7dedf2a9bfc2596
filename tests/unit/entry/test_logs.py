"""JSON log lines carry the fields log pipelines filter on."""

from __future__ import annotations

import json
import logging

from microapp_operator.entry.logs import JsonFormatter


def test_json_line_with_fields() -> None:
    record = logging.LogRecord("microapp_operator.controller", logging.INFO, __file__, 1, "reconciled", None, None)
    record.__dict__.update(namespace="team-a", app="shop", generation=3, reconcile_id=17, applied=2)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "reconciled" and line["level"] == "info"
    assert (line["namespace"], line["name"], line["generation"], line["reconcile_id"], line["applied"]) == (
        "team-a",
        "shop",
        3,
        17,
        2,
    )
    assert line["time"].endswith("+00:00") and line["logger"] == "microapp_operator.controller"


def test_kopf_object_context() -> None:
    record = logging.LogRecord("kopf.objects", logging.WARNING, __file__, 1, "Handler failed", None, None)
    record.__dict__["k8s_ref"] = {"namespace": "ns", "name": "app", "uid": "u"}
    line = json.loads(JsonFormatter().format(record))
    assert (line["namespace"], line["name"], line["level"]) == ("ns", "app", "warning")
