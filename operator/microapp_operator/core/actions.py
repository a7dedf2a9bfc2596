"""What an app's page can do to a MicroApp (pure): the exact JSON merge patch of each action, and
which actions the app's state allows.

The lifecycle actions write the same annotation, with the same value, as the Argo CD actions in
``manifests/argocd/resource_customizations/microapp.dev/MicroApp/actions/`` (``tests/unit/core/
test_actions.py`` applies these patches to that folder's inputs and compares with its expected
outputs), so a person gets the same result from the portal, Argo CD or ``kubectl annotate``.
The portal sends each patch as the user; the API server and the webhook still decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..api import types as api

ASLEEP = ("Idle", "Retiring")
MAX_SNOOZE = timedelta(days=366)  # a year and a day at most: a longer pause is a policy decision

# Name on the page -> the Argo CD action that writes the same annotation.
ARGOCD_NAMES = {"keep-alive": "mark-active", "wake": "wake", "snooze": "snooze", "restore": "restore"}


class ActionError(ValueError):
    """An action that cannot be sent as asked; the message names the field and the fix."""


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _annotate(key: str, value: str) -> dict[str, Any]:
    return {"metadata": {"annotations": {key: value}}}


def keep_alive(*, now: datetime) -> dict[str, Any]:
    """Counts now as activity (Argo CD's mark-active)."""
    return _annotate(api.LAST_ACTIVITY_ANNOTATION, _stamp(now))


def wake(*, now: datetime) -> dict[str, Any]:
    """Wakes an Idle or Retiring app: any new value of microapp.dev/wake."""
    return _annotate(api.WAKE_ANNOTATION, _stamp(now))


def restore(*, now: datetime) -> dict[str, Any]:
    """Brings a Retired app back from its archive: any new value of microapp.dev/restore."""
    return _annotate(api.RESTORE_ANNOTATION, _stamp(now))


def snooze(*, now: datetime, period: timedelta | None = None, until: datetime | None = None) -> dict[str, Any]:
    """Postpones idling and retirement for ``period`` (Argo CD's snooze: a week) or until ``until``."""
    if (period is None) == (until is None):
        raise ActionError("snooze needs a period or an end time (one of them)")
    end = until if until is not None else now + period  # type: ignore[operator]
    if end <= now:
        raise ActionError(f"snooze until {_stamp(end)} is not in the future: pick a later time")
    if end - now > MAX_SNOOZE:
        raise ActionError(f"snooze for at most {MAX_SNOOZE.days} days; ask the platform team for a longer pause")
    return _annotate(api.SNOOZE_UNTIL_ANNOTATION, _stamp(end))


def scale(replicas: Any, *, max_replicas: int | None = None) -> dict[str, Any]:
    """``spec.replicas`` (the same body PATCHes the scale subresource, as ``kubectl scale`` does)."""
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise ActionError(f"spec.replicas must be a whole number 0 or more, not {replicas!r}")
    if max_replicas is not None and replicas > max_replicas:
        raise ActionError(f"spec.replicas {replicas} is above the platform's maxReplicas {max_replicas}: lower it")
    return {"spec": {"replicas": replicas}}


@dataclass(frozen=True)
class Delete:
    """A delete of exactly the object the person saw: preconditions on uid and resourceVersion."""

    namespace: str
    name: str
    body: dict[str, Any]  # DeleteOptions


def delete(app: dict[str, Any], *, confirmation: str) -> Delete:
    """The delete request, once the person typed the app's name (``confirmation``)."""
    meta = app.get("metadata") or {}
    name = meta.get("name", "")
    if confirmation.strip() != name:
        raise ActionError(f"type the app's name ({name}) to confirm the delete")
    pre = {k: meta[k] for k in ("uid", "resourceVersion") if meta.get(k)}
    body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background", "preconditions": pre}
    return Delete(namespace=meta.get("namespace", ""), name=name, body=body)


def allowed(app: dict[str, Any]) -> tuple[str, ...]:
    """The actions the app's state allows, in the page's order (Argo CD's discovery.lua for the
    lifecycle ones). RBAC is asked separately (SelfSubjectAccessReview). No side effects."""
    if (app.get("metadata") or {}).get("deletionTimestamp"):
        return ()  # being deleted: nothing to change
    phase = (app.get("status") or {}).get("phase") or "Pending"
    if phase == "Retired":
        return ("restore", "delete")
    found = ["wake"] if phase in ASLEEP else []
    return (*found, "keep-alive", "snooze", "scale", "delete")
