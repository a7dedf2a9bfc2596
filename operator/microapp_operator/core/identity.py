"""Who may do what to a MicroApp (pure): the confused-deputy guard, checked at admission.

The operator holds wide rights, so admission asks, for every create and update: may this
requester act for the app's team in this namespace, may they hand the app to someone else,
and did an approver (not the developer) approve public exposure?
"""

from __future__ import annotations

from collections.abc import Mapping

from ..api import types as api
from . import approval
from .app import AppMeta
from .guardrails import admin_groups, team_of


def _ann(meta: AppMeta | None) -> Mapping[str, str]:
    return meta.annotations if meta is not None else {}


def _member(groups: set[str], team: api.Team | None) -> bool:
    return team is not None and bool(groups & set(team.groups or []))


def check(
    *, app: AppMeta, old: AppMeta | None, username: str, groups: list[str], policy: api.PlatformPolicySpec
) -> list[str]:
    """Problems with who is asking. No side effects."""
    mine = set(groups)
    admin = bool(mine & admin_groups(policy))
    new_ann, old_ann = _ann(app), _ann(old)
    team = team_of(policy, new_ann.get(api.TEAM_ANNOTATION))
    found: list[str] = []
    owner_of_existing = old is not None and old_ann.get(api.OWNER_ANNOTATION) == username
    member = admin or (team is not None and _member(mine, team)) or owner_of_existing
    approvers = set((policy.guardrails or api.Guardrails()).public_exposure_approvers or [])
    # Editors, and approvers (to approve public exposure), may change an existing app.
    editor = old is not None and (
        _editor(old_ann.get(api.EDITORS_ANNOTATION), username, mine) or bool(mine & approvers)
    )
    if team is not None and not member and not editor:
        found.append(
            f"user {username!r} is not a member of team {team.name} (groups: "
            f"{', '.join(team.groups or []) or 'none'}); ask a member to apply it, or to add you"
        )
    # Editors edit the app; who may edit or view it stays the team's decision.
    delegated = [k for k in (api.EDITORS_ANNOTATION, api.VIEWERS_ANNOTATION) if new_ann.get(k) != old_ann.get(k)]
    if old is not None and delegated and not member:
        found.append(
            f"only members of team {old_ann.get(api.TEAM_ANNOTATION)!r} may change who can edit or view this "
            f"app ({', '.join('metadata.annotations.' + k for k in delegated)})"
        )
    # Ownership transfer: only a member of the current team hands an app over.
    if old is not None:
        moved = [k for k in (api.OWNER_ANNOTATION, api.TEAM_ANNOTATION) if new_ann.get(k) != old_ann.get(k)]
        old_team = team_of(policy, old_ann.get(api.TEAM_ANNOTATION))
        if moved and not admin and not _member(mine, old_team):
            found.append(
                f"changing {' and '.join('metadata.annotations.' + k for k in moved)} transfers the app; "
                f"only a member of its current team {old_ann.get(api.TEAM_ANNOTATION)!r} may do that"
            )
    # Public exposure approval and rejection: whoever sets or changes them must be an approver,
    # naming themselves (core.approval holds the keys and the rules).
    found += approval.problems(
        new=new_ann, old=old_ann, username=username, approver=admin or bool(mine & approvers), approvers=approvers
    )
    return found


def _editor(value: str | None, username: str, groups: set[str]) -> bool:
    """Is the requester named in an (already admitted) editors annotation?"""
    for item in (value or "").split(","):
        kind, _, name = item.strip().partition(":")
        if (kind == "user" and name == username) or (kind == "group" and name in groups):
            return True
    return False


def transfer(app: AppMeta, old: AppMeta | None) -> str | None:
    """A sentence for the Event recording an ownership transfer, if this update is one."""
    if old is None:
        return None
    changes = [
        f"{k.split('/')[-1]} {_ann(old).get(k)!r} -> {_ann(app).get(k)!r}"
        for k in (api.OWNER_ANNOTATION, api.TEAM_ANNOTATION)
        if _ann(app).get(k) != _ann(old).get(k)
    ]
    return "ownership transferred: " + ", ".join(changes) if changes else None
