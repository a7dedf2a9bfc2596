"""Child health, the way kstatus and Argo CD read Deployments and Knative Services."""

from __future__ import annotations

import pytest

from microapp_operator.core import health
from microapp_operator.core.health import State


def dep(*, generation: int = 1, observed: int = 1, want: int = 2, replicas: int = 2, updated: int = 2,
        available: int = 2, conditions: list | None = None) -> dict:
    return {"metadata": {"name": "web", "generation": generation}, "spec": {"replicas": want},
            "status": {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": updated,
                       "availableReplicas": available, "conditions": conditions or []}}


DEPLOYMENTS = {
    "available": (dep(), State.READY, "2 of 2 Pods available"),
    "generation-lag": (dep(generation=2), State.PROGRESSING, "waiting for the rollout to start"),
    "updating": (dep(updated=1), State.PROGRESSING, "1 of 2 Pods updated"),
    "old-pods": (dep(replicas=3), State.PROGRESSING, "1 old Pods terminating"),
    "not-available": (dep(available=1), State.PROGRESSING, "1 of 2 Pods available"),
    "deadline": (dep(conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                  "message": "ReplicaSet has timed out progressing."}]),
                 State.FAILED, "ReplicaSet has timed out progressing."),
    "scaled-to-zero": (dep(want=0, replicas=0, updated=0, available=0), State.READY, "0 of 0"),
}


@pytest.mark.parametrize("obj,state,message", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_deployment(obj: dict, state: State, message: str) -> None:
    h = health.child("apps/v1", "Deployment", obj)
    assert h.state == state and message in h.message


def ksvc(status: str | None, observed: int = 1) -> dict:
    conds = [] if status is None else [{"type": "Ready", "status": status, "reason": "RevisionFailed", "message": "boom"}]
    return {"metadata": {"name": "fn", "generation": 1},
            "status": {"observedGeneration": observed, "conditions": conds, "url": "http://fn.ns.example.com"}}


def test_knative_service_states() -> None:
    ready = health.child("serving.knative.dev/v1", "Service", ksvc("True"))
    assert ready.state == State.READY and ready.url == "http://fn.ns.example.com"
    assert health.child("serving.knative.dev/v1", "Service", ksvc("False")).state == State.FAILED
    assert health.child("serving.knative.dev/v1", "Service", ksvc(None)).state == State.PROGRESSING
    assert health.child("serving.knative.dev/v1", "Service", ksvc("True", observed=0)).state == State.PROGRESSING


def test_missing_child_is_progressing_and_existing_simple_child_ready() -> None:
    assert health.child("v1", "Service", None).state == State.PROGRESSING
    assert health.child("v1", "Service", {"metadata": {"name": "x"}}).state == State.READY


def test_combine_worst_wins_and_sums_replicas() -> None:
    ok = health.ChildHealth(State.READY, "a", 2)
    slow = health.ChildHealth(State.PROGRESSING, "b", 1)
    bad = health.ChildHealth(State.FAILED, "c")
    assert health.combine([ok, slow]) == health.ChildHealth(State.PROGRESSING, "b", 3)
    assert health.combine([ok, slow, bad]).state == State.FAILED
    assert health.combine([ok]).state == State.READY
