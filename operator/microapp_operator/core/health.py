"""Health of rendered children, read from their status the way kstatus and Argo CD do (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class State(str, Enum):
    READY = "Ready"
    PROGRESSING = "Progressing"
    FAILED = "Failed"


@dataclass(frozen=True)
class ChildHealth:
    state: State
    message: str = ""
    replicas: int | None = None  # Pods the child runs (workloads only)
    url: str | None = None  # an address the child reports (Knative)


def _conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}


def _generation_lag(obj: Mapping[str, Any]) -> bool:
    observed = (obj.get("status") or {}).get("observedGeneration")
    return observed is None or observed < (obj.get("metadata") or {}).get("generation", 0)


def deployment(obj: Mapping[str, Any]) -> ChildHealth:
    """A rollout's steps (not yet observed, Pods updated, Pods available) read as one message,
    which changes only when the count of available Pods does: the app's status is written
    once per count, not once per step of the Deployment controller. Replicas: available Pods."""
    want = (obj.get("spec") or {}).get("replicas", 1)
    st = obj.get("status") or {}
    have, updated, available = st.get("replicas", 0), st.get("updatedReplicas", 0), st.get("availableReplicas", 0)
    name = f"Deployment {obj['metadata']['name']}"
    lag = _generation_lag(obj)
    progressing = _conditions(obj).get("Progressing") or {}
    if not lag and progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        return ChildHealth(State.FAILED, f"{name}: {progressing.get('message', 'rollout stuck')}", available)
    if not lag and updated >= want and have > updated:
        return ChildHealth(State.PROGRESSING, f"{name}: rolling out, {have - updated} old Pods terminating", available)
    if lag or updated < want or available < want:
        return ChildHealth(State.PROGRESSING, f"{name}: rolling out, {available} of {want} Pods available", available)
    return ChildHealth(State.READY, f"{name}: {available} of {want} Pods available", available)


def knative_service(obj: Mapping[str, Any]) -> ChildHealth:
    name = f"Knative Service {obj['metadata']['name']}"
    st = obj.get("status") or {}
    if _generation_lag(obj):
        return ChildHealth(State.PROGRESSING, f"{name}: waiting for Knative to reconcile it")
    ready = _conditions(obj).get("Ready") or {}
    if ready.get("status") == "True":
        return ChildHealth(State.READY, f"{name}: ready", url=st.get("url"))
    if ready.get("status") == "False":
        return ChildHealth(State.FAILED, f"{name}: {ready.get('reason', '')} {ready.get('message', '')}".strip())
    return ChildHealth(State.PROGRESSING, f"{name}: not ready yet")


CHECKS = {("apps/v1", "Deployment"): deployment, ("serving.knative.dev/v1", "Service"): knative_service}


def child(api_version: str, kind: str, obj: Mapping[str, Any] | None) -> ChildHealth:
    """Health of one child; a child that exists and has no check is ready by existing."""
    if obj is None:
        return ChildHealth(State.PROGRESSING, f"{kind} waiting to be created")
    check = CHECKS.get((api_version, kind))
    return check(obj) if check else ChildHealth(State.READY)


def combine(healths: list[ChildHealth]) -> ChildHealth:
    """Worst state wins; messages of the non-ready children are joined."""
    for state in (State.FAILED, State.PROGRESSING):
        bad = [h for h in healths if h.state == state]
        if bad:
            return ChildHealth(
                state, "; ".join(h.message for h in bad), _sum(healths), next((h.url for h in healths if h.url), None)
            )
    return ChildHealth(
        State.READY,
        "; ".join(h.message for h in healths if h.message),
        _sum(healths),
        next((h.url for h in healths if h.url), None),
    )


def _sum(healths: list[ChildHealth]) -> int | None:
    counts = [h.replicas for h in healths if h.replicas is not None]
    return sum(counts) if counts else None
