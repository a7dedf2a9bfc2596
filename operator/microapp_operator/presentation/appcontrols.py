"""The actions on an app's page: which buttons a person gets, and what the page says after one
(pure, no I/O).

A button is shown when the app's state allows the action (``core.actions.allowed``) and the API
server said the person may do it (a SelfSubjectAccessReview the caller made as them: ``patch``
for the annotations, the scale and the edit, ``delete`` for the delete). The API server still
decides when the action is sent; this only spares people buttons that cannot work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..core import actions
from ..core.lifecycle import duration

ORDER = ("keep-alive", "wake", "snooze", "restore", "scale", "edit", "delete")
LABELS = {
    "keep-alive": "Keep alive",
    "wake": "Wake",
    "snooze": "Snooze",
    "restore": "Restore",
    "scale": "Scale",
    "edit": "Edit",
    "delete": "Delete",
}
NEEDS = {"delete": "delete"}  # the verb each action needs on microapps; the rest patch
SNOOZE_PERIODS = (("1d", "1 day"), ("3d", "3 days"), ("7d", "1 week"), ("14d", "2 weeks"), ("30d", "30 days"))
DONE = {
    "keep-alive": "Kept alive: now counts as the app's last activity.",
    "wake": "Wake sent: the operator scales the app back up.",
    "snooze": "Snoozed: idling and retirement wait until the time shown under Lifecycle.",
    "restore": "Restore sent: the operator brings the app back from its archive.",
    "scale": "Scaled: the operator rolls out the new number of replicas.",
}


@dataclass(frozen=True)
class Controls:
    """What the page offers this person for this app."""

    namespace: str
    name: str
    uid: str
    shown: tuple[str, ...]  # action names in the page's order
    replicas: int  # Scale's field starts at the spec's value
    max_replicas: int | None
    snooze_periods: tuple[tuple[str, str], ...]
    edit_link: str
    gitops: bool  # managed through Git: Delete proposes a removal commit, Scale is an edit (a proposal)
    delete_link: str  # the proposal's confirmation page, for an app managed through Git
    why_none: str | None  # why there are no buttons at all, in words
    done: str | None  # what the last action did (after the redirect)

    def label(self, action: str) -> str:
        return LABELS[action]


def build(
    app: Mapping[str, Any],
    *,
    may: Mapping[str, bool],
    max_replicas: int | None,
    done: str | None = None,
    gitops: bool = False,
) -> Controls:
    """The buttons for ``app`` given the API server's answers (``may``: verb -> allowed). No side
    effects. ``gitops``: the app's spec lives in Git, so Scale is left to Edit (which proposes) and
    Delete proposes a commit removing its file; the annotations (keep alive, wake, ...) stay direct,
    as Argo CD's own actions write them."""
    meta, spec = app.get("metadata") or {}, app.get("spec") or {}
    ns, name = meta.get("namespace") or "", meta.get("name") or ""
    by_state = set(actions.allowed(app)) | ({"edit"} if not meta.get("deletionTimestamp") else set())
    if gitops:
        by_state.discard("scale")
    shown = tuple(a for a in ORDER if a in by_state and may.get(NEEDS.get(a, "patch"), False))
    why = None
    if not shown:
        if meta.get("deletionTimestamp"):
            why = "The app is being deleted: nothing can be changed."
        else:
            why = (
                f"You may not change MicroApps in namespace {ns} (the API server's answer to a "
                "SelfSubjectAccessReview as you): ask your team's namespace admin for the role that patches them."
            )
    replicas = spec.get("replicas")
    return Controls(
        namespace=ns,
        name=name,
        uid=meta.get("uid") or "",
        shown=shown,
        replicas=replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1,
        max_replicas=max_replicas,
        snooze_periods=SNOOZE_PERIODS,
        edit_link=f"/apps/{quote(ns, safe='')}/{quote(name, safe='')}/edit",
        gitops=gitops,
        delete_link=f"/apps/{quote(ns, safe='')}/{quote(name, safe='')}/propose-delete",
        why_none=why,
        done=DONE.get(done or ""),
    )


def patch(action: str, form: Mapping[str, str], *, now: datetime, max_replicas: int | None) -> dict[str, Any]:
    """The JSON merge patch a posted action sends (``core.actions``'); ActionError names the field. No side effects."""
    if action == "keep-alive":
        return actions.keep_alive(now=now)
    if action == "wake":
        return actions.wake(now=now)
    if action == "restore":
        return actions.restore(now=now)
    if action == "snooze":
        period = form.get("period", "")
        if period not in dict(SNOOZE_PERIODS):
            raise actions.ActionError(f"period {period!r} is not one of {', '.join(dict(SNOOZE_PERIODS))}: pick one")
        return actions.snooze(now=now, period=duration(period))
    if action == "scale":
        text = form.get("replicas", "").strip()
        if not text.isdigit():
            raise actions.ActionError(f"Replicas must be a whole number 0 or more, not {text!r}")
        return actions.scale(int(text), max_replicas=max_replicas)
    raise actions.ActionError(f"action {action!r} is not one of {', '.join(a for a in ORDER if a != 'edit')}")
