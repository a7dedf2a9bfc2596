"""Child health, the way kstatus and Argo CD read Deployments and Knative Services."""

from __future__ import annotations

import pytest

from microapp_operator.core import health
from microapp_operator.core.health import State


def dep(
    *,
    generation: int = 1,
    observed: int = 1,
    want: int = 2,
    replicas: int = 2,
    updated: int = 2,
    available: int = 2,
    conditions: list | None = None,
) -> dict:
    return {
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": want},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "conditions": conditions or [],
        },
    }


DEPLOYMENTS = {
    "available": (dep(), State.READY, "2 of 2 Pods available"),
    "generation-lag": (dep(generation=2), State.PROGRESSING, "rolling out, 2 of 2 Pods available"),
    "updating": (dep(updated=1), State.PROGRESSING, "rolling out, 2 of 2 Pods available"),
    "old-pods": (dep(replicas=3), State.PROGRESSING, "rolling out, 1 old Pods terminating"),
    "not-available": (dep(available=1), State.PROGRESSING, "rolling out, 1 of 2 Pods available"),
    "deadline": (
        dep(
            conditions=[
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": "ReplicaSet has timed out progressing.",
                }
            ]
        ),
        State.FAILED,
        "ReplicaSet has timed out progressing.",
    ),
    "scaled-to-zero": (dep(want=0, replicas=0, updated=0, available=0), State.READY, "0 of 0"),
}


@pytest.mark.parametrize("obj,state,message", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_deployment(obj: dict, state: State, message: str) -> None:
    h = health.child("apps/v1", "Deployment", obj)
    assert h.state == state and message in h.message


def test_the_steps_of_a_first_rollout_read_the_same_until_a_pod_is_available() -> None:
    """As created (no status), observed with no Pods, Pods created but not available: one
    message and one replica count, so the app's status is not rewritten for each step."""
    steps = [
        {"metadata": {"name": "web", "generation": 1}, "spec": {"replicas": 1}},
        dep(want=1, replicas=0, updated=0, available=0),
        dep(want=1, replicas=1, updated=1, available=0),
    ]
    seen = {(h.state, h.message, h.replicas) for h in (health.child("apps/v1", "Deployment", s) for s in steps)}
    assert seen == {(State.PROGRESSING, "Deployment web: rolling out, 0 of 1 Pods available", 0)}
    done = health.child("apps/v1", "Deployment", dep(want=1, replicas=1, updated=1, available=1))
    assert (done.state, done.replicas) == (State.READY, 1)


def ksvc(status: str | None, observed: int = 1) -> dict:
    conds = (
        [] if status is None else [{"type": "Ready", "status": status, "reason": "RevisionFailed", "message": "boom"}]
    )
    return {
        "metadata": {"name": "fn", "generation": 1},
        "status": {"observedGeneration": observed, "conditions": conds, "url": "http://fn.ns.example.com"},
    }


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
