"""Who may do what: membership, ownership transfer, editors, approvals."""

from __future__ import annotations

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import identity
from microapp_operator.core.app import AppMeta
from tests.factories import microapp

POLICY = api.PlatformPolicySpec.model_validate(
    {
        "teams": [
            {"name": "finance", "groups": ["finance-devs"], "namespaces": ["team-finance"]},
            {"name": "hr", "groups": ["hr-devs"], "namespaces": ["team-hr"]},
        ],
        "guardrails": {"publicExposureApprovers": ["platform-admins"]},
    }
)


def app(**ann: str) -> dict:
    extra = {k.replace("_", "-").replace("--", "/"): v for k, v in ann.items()}
    return microapp("a", "team-finance", typed=False, annotations=extra, spec={})


def check(new: dict, old: dict | None, user: str, *groups: str) -> list[str]:
    return identity.check(
        app=AppMeta.of(new), old=AppMeta.of(old) if old else None, username=user, groups=list(groups), policy=POLICY
    )


def with_ann(body: dict, key: str, value: str) -> dict:
    out = {"metadata": {**body["metadata"], "annotations": {**body["metadata"]["annotations"], key: value}}, "spec": {}}
    return out


CASES = {
    "member-creates": (app(), None, ("alice", "finance-devs"), []),
    "admin-creates": (app(), None, ("root", "system:masters"), []),
    "outsider-creates": (
        app(),
        None,
        ("mallory", "hr-devs"),
        [
            "user 'mallory' is not a member of team finance (groups: finance-devs); "
            "ask a member to apply it, or to add you"
        ],
    ),
    "owner-updates-without-group": (app(), app(), ("alice",), []),
    "approver-cannot-create": (
        app(),
        None,
        ("carol", "platform-admins"),
        ["user 'carol' is not a member of team finance"],
    ),
}


@pytest.mark.parametrize("new,old,who,expected", CASES.values(), ids=CASES.keys())
def test_membership(new: dict, old: dict | None, who: tuple, expected: list[str]) -> None:
    found = check(new, old, *who)
    assert len(found) == len(expected) and all(f.startswith(e) for f, e in zip(found, expected)), found


def test_transfer_only_by_current_team() -> None:
    old = app()
    moved = with_ann(old, api.TEAM_ANNOTATION, "hr")
    assert any(
        "transfers the app; only a member of its current team 'finance'" in p
        for p in check(moved, old, "henry", "hr-devs")
    )
    assert check(moved, old, "alice", "finance-devs") == []
    assert identity.transfer(AppMeta.of(moved), AppMeta.of(old)) == "ownership transferred: team 'finance' -> 'hr'"
    assert identity.transfer(AppMeta.of(old), AppMeta.of(old)) is None


def test_editors_may_update_but_not_delegate() -> None:
    old = with_ann(app(), api.EDITORS_ANNOTATION, "user:bob, group:auditors")
    assert check(old, old, "bob") == []
    assert check(old, old, "eve", "auditors") == []
    regrant = with_ann(old, api.EDITORS_ANNOTATION, "user:bob, user:mallory")
    assert check(regrant, old, "bob") == [
        "only members of team 'finance' may change who can edit or view this app "
        "(metadata.annotations.microapp.dev/editors)"
    ]
    assert check(regrant, old, "alice", "finance-devs") == []


APPROVAL = {
    "developer-self-approves": (
        ("alice", "finance-devs"),
        "alice",
        "can only be set by a member of platform-admins; ask one of them to approve",
    ),
    "approver-names-someone-else": (
        ("carol", "platform-admins"),
        "dave",
        "must name the approver who sets it ('carol'), not 'dave'",
    ),
}


@pytest.mark.parametrize("who,value,message", APPROVAL.values(), ids=APPROVAL.keys())
def test_approval_must_come_from_an_approver(who: tuple, value: str, message: str) -> None:
    old = app()
    new = with_ann(old, api.PUBLIC_APPROVED_BY_ANNOTATION, value)
    assert any(message in p for p in check(new, old, *who))


def test_approver_approves_and_approval_survives_later_edits() -> None:
    old = app()
    approved = with_ann(old, api.PUBLIC_APPROVED_BY_ANNOTATION, "carol")
    assert check(approved, old, "carol", "platform-admins") == []
    assert check(approved, approved, "alice", "finance-devs") == []  # unchanged approval is fine
