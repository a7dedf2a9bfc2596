"""entry/diffcmd.py's document handling (the comparison itself: tests/unit/core/test_diff.py;
the command on the cluster: tests/integration/test_diff.py)."""

from __future__ import annotations

from microapp_operator.entry import diffcmd


def test_empty_yaml_keys_are_left_out_as_kubectl_does() -> None:
    doc = {
        "metadata": {"name": "a", "labels": None},
        "spec": {"parameters": None, "env": [{"name": "X", "value": None}], "replicas": 0, "host": ""},
    }
    assert diffcmd.without_nulls(doc) == {
        "metadata": {"name": "a"},
        "spec": {"env": [{"name": "X"}], "replicas": 0, "host": ""},
    }
