"""Public-exposure approvals (pure): who is waiting, the patches a request, an approval and a
rejection write, and what the app's page says about them.

Admission refuses ``spec.expose: public`` without an approval, so a developer asks for it on an
app that runs internal, and the approver's approval is the change that exposes it. Where it
lives (DESIGN.md, "Annotation and label conventions"): annotations on the MicroApp, each written
as the person acting, so the webhook's identity check (``core.identity``) decides exactly as for
``kubectl annotate``:

- ``microapp.dev/public-requested-host`` and ``microapp.dev/public-requested-at``: the request
  (by anyone who may edit the app);
- ``microapp.dev/public-approved-by`` (the approver) and ``microapp.dev/public-approved-at``
  (RFC 3339): the approval, written together with ``spec.expose: public`` and ``spec.host``;
- ``microapp.dev/public-rejected-by``, ``microapp.dev/public-rejected-at`` and
  ``microapp.dev/public-rejected-reason``: the last rejection with its reason, shown on the
  app's page; a new request (a later ``requested-at``) makes the app wait again.

The approval and rejection keys are set or changed only by a public-exposure approver (or a
platform admin) naming themselves. Annotations, not Events: an Event expires after an hour by
default, so a developer could not see a day later why they were turned down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..api import types as api
from .guardrails import admin_groups

APPROVED_BY = api.PUBLIC_APPROVED_BY_ANNOTATION
APPROVED_AT = f"{api.GROUP}/public-approved-at"
REJECTED_BY = f"{api.GROUP}/public-rejected-by"
REJECTED_AT = f"{api.GROUP}/public-rejected-at"
REJECTED_REASON = f"{api.GROUP}/public-rejected-reason"
REQUESTED_HOST = f"{api.GROUP}/public-requested-host"
REQUESTED_AT = f"{api.GROUP}/public-requested-at"
APPROVAL_KEYS = (APPROVED_BY, APPROVED_AT, REJECTED_BY, REJECTED_AT, REJECTED_REASON)
MAX_REASON = 1000  # characters: a sentence or two, not a document


class ApprovalError(ValueError):
    """A rejection without a reason, or a reason too long; the message names the fix."""


@dataclass(frozen=True)
class Approval:
    """The public-exposure state of one app, as its page and the approvers' list show it."""

    namespace: str
    name: str
    team: str
    owner: str
    state: str  # NotRequested, Waiting, Approved (public), Rejected
    host: str | None = None  # the host asked for (or exposed at)
    requested_at: str | None = None
    approved_by: str | None = None
    approved_at: str | None = None
    rejected_by: str | None = None
    rejected_at: str | None = None
    reason: str | None = None


def may_approve(*, username: str, groups: Iterable[str], policy: api.PlatformPolicySpec) -> bool:
    """Is this person a public-exposure approver (or a platform admin)? The webhook still decides."""
    mine = set(groups)
    approvers = set((policy.guardrails or api.Guardrails()).public_exposure_approvers or [])
    return bool(mine & (approvers | admin_groups(policy)))


def of(body: Mapping[str, Any]) -> Approval:
    """The app's approval state from its annotations and spec. No side effects."""
    meta = body.get("metadata") or {}
    ann = meta.get("annotations") or {}
    spec = body.get("spec") or {}
    requested_at = ann.get(REQUESTED_AT) or ""
    if spec.get("expose") == "public" and ann.get(APPROVED_BY):
        state = "Approved"
    elif ann.get(REQUESTED_HOST) and ann.get(REJECTED_BY) and (ann.get(REJECTED_AT) or "") >= requested_at:
        state = "Rejected"  # RFC 3339 times in UTC ("Z") sort as text
    elif ann.get(REQUESTED_HOST):
        state = "Waiting"
    else:
        state = "NotRequested"
    return Approval(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        team=ann.get(api.TEAM_ANNOTATION, ""),
        owner=ann.get(api.OWNER_ANNOTATION, ""),
        state=state,
        host=spec.get("host") if state == "Approved" else ann.get(REQUESTED_HOST),
        requested_at=ann.get(REQUESTED_AT),
        approved_by=ann.get(APPROVED_BY),
        approved_at=ann.get(APPROVED_AT),
        rejected_by=ann.get(REJECTED_BY),
        rejected_at=ann.get(REJECTED_AT),
        reason=ann.get(REJECTED_REASON),
    )


def waiting(apps: Iterable[Mapping[str, Any]]) -> list[Approval]:
    """Apps asking for public exposure, oldest request first (from what the approver could list:
    a namespace they may not read is simply not in ``apps``). No side effects."""
    found = [a for a in map(of, apps) if a.state == "Waiting"]
    return sorted(found, key=lambda a: (a.requested_at or "", a.namespace, a.name))


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_patch(*, host: str, now: datetime) -> dict[str, Any]:
    """The JSON merge patch a developer's request writes: the host and when (a new request after a rejection)."""
    host = host.strip().lower()
    if not host or " " in host or "/" in host:
        raise ApprovalError(f"host {host!r} is not a host name; give one like shop.example.com")
    return {"metadata": {"annotations": {REQUESTED_HOST: host, REQUESTED_AT: _stamp(now)}}}


def approve_patch(app: Approval, *, approver: str, now: datetime) -> dict[str, Any]:
    """The JSON merge patch an approval writes (as the approver): the app goes public at the host it
    asked for, approved-by/at set, any rejection cleared."""
    if app.state != "Waiting" or not app.host:
        raise ApprovalError(f"{app.namespace}/{app.name} is {app.state}, not waiting for approval")
    ann: dict[str, str | None] = {APPROVED_BY: approver, APPROVED_AT: _stamp(now)}
    ann.update({k: None for k in (REJECTED_BY, REJECTED_AT, REJECTED_REASON)})
    return {"metadata": {"annotations": ann}, "spec": {"expose": "public", "host": app.host}}


def reject_patch(*, approver: str, reason: str, now: datetime) -> dict[str, Any]:
    """The JSON merge patch a rejection writes (as the approver): who, when and why."""
    reason = " ".join(reason.split())
    if not reason:
        raise ApprovalError("a rejection needs a reason: say what the developer should change")
    if len(reason) > MAX_REASON:
        raise ApprovalError(f"the reason is {len(reason)} characters; keep it under {MAX_REASON}")
    ann = {REJECTED_BY: approver, REJECTED_AT: _stamp(now), REJECTED_REASON: reason}
    return {"metadata": {"annotations": ann}}


def problems(
    *, new: Mapping[str, str], old: Mapping[str, str], username: str, approver: bool, approvers: Iterable[str] = ()
) -> list[str]:
    """What the webhook refuses about the approval annotations (``core.identity`` calls this).

    Setting or changing any of them needs an approver (removing an approval or a rejection does
    not: a developer withdraws the request or asks again); ``…-by`` names the one who sets it;
    ``…-at`` is RFC 3339 and comes with its ``…-by``. No side effects."""
    changed = [k for k in APPROVAL_KEYS if new.get(k) and new.get(k) != old.get(k)]  # not the request keys
    if not changed:
        return []
    keys = ", ".join(f"metadata.annotations.{k}" for k in changed)
    if not approver:
        return [
            f"{keys} can only be set by a member of {', '.join(sorted(approvers)) or 'the platform team'}; "
            f"ask one of them to approve public exposure (you cannot approve your own app)"
        ]
    found = []
    for by in (APPROVED_BY, REJECTED_BY):
        if by in changed and new[by] != username:
            found.append(
                f"metadata.annotations.{by} must name the approver who sets it ({username!r}), not {new[by]!r}"
            )
    for at, by in ((APPROVED_AT, APPROVED_BY), (REJECTED_AT, REJECTED_BY)):
        if at in changed:
            if not new.get(by):
                found.append(f"metadata.annotations.{at} needs metadata.annotations.{by} beside it")
            try:
                datetime.fromisoformat(new[at].replace("Z", "+00:00"))
            except ValueError:
                found.append(f"metadata.annotations.{at} must be an RFC 3339 time, e.g. 2026-12-07T10:00:00Z")
    if REJECTED_REASON in changed and not new.get(REJECTED_BY):
        found.append(f"metadata.annotations.{REJECTED_REASON} needs metadata.annotations.{REJECTED_BY} beside it")
    return found
