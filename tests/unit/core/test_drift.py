"""Drift detection: apply only when a field we own differs from the live object."""

from __future__ import annotations

import pytest

from microapp_operator.core import drift

DESIRED = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "a", "labels": {"x": "1"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [{"name": "app", "image": "r/x:1", "env": [], "resources": {"requests": {"cpu": 1}}}]
            }
        },
    },
}
LIVE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "a", "labels": {"x": "1", "extra": "y"}, "resourceVersion": "7"},
    "spec": {
        "replicas": 2,
        "strategy": {"type": "RollingUpdate"},
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "r/x:1",
                        "resources": {"requests": {"cpu": "1"}},
                        "terminationMessagePath": "/dev/termination-log",
                    }
                ]
            }
        },
    },
    "status": {"replicas": 2},
}


def test_server_defaults_and_extra_labels_are_not_drift() -> None:
    assert drift.in_sync(LIVE, DESIRED)


CHANGED = {
    "image": ("spec", "template", "spec", "containers", 0, "image", "r/x:2"),
    "replicas": ("spec", "replicas", 3),
    "label": ("metadata", "labels", "x", "2"),
}


@pytest.mark.parametrize("path", CHANGED.values(), ids=CHANGED.keys())
def test_changed_field_is_drift(path: tuple) -> None:
    import copy

    desired = copy.deepcopy(DESIRED)
    node = desired
    for key in path[:-2]:
        node = node[key]
    node[path[-2]] = path[-1]
    assert not drift.in_sync(LIVE, desired)


def test_missing_object_is_drift() -> None:
    assert not drift.in_sync(None, DESIRED)


def test_list_length_matters() -> None:
    assert not drift.contains([1, 2], [1])
    assert drift.contains([{"a": 1, "b": 2}], [{"a": 1}])


def test_bool_is_not_int() -> None:
    assert not drift.contains(1, True)
    assert not drift.contains(0, False)


def test_hash_sees_a_removed_field() -> None:
    with_ann = {"metadata": {"name": "a", "annotations": {"prometheus.io/scrape": "true"}}, "spec": {}}
    without = {"metadata": {"name": "a"}, "spec": {}}
    live = drift.with_hash(with_ann)
    assert drift.in_sync(live, drift.with_hash(with_ann))
    assert drift.contains(live, without)  # containment alone misses the removal
    assert not drift.in_sync(live, drift.with_hash(without))  # the hash does not
