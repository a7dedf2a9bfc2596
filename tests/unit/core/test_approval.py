"""Public-exposure approvals (pure): states, the waiting list, the patches and the webhook's rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import approval as ap
from microapp_operator.core import identity
from microapp_operator.core.app import AppMeta
from tests.factories import microapp

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
POLICY = api.PlatformPolicySpec.model_validate(
    {
        "teams": [{"name": "finance", "groups": ["finance-devs"], "namespaces": ["ns"]}],
        "guardrails": {"publicExposureApprovers": ["approvers"]},
        "platformAdminGroups": ["admins"],
    }
)


def body(name: str = "shop", **ann: str) -> dict:
    return microapp(name, annotations={f"microapp.dev/public-{k.replace('_', '-')}": v for k, v in ann.items()})


@pytest.mark.parametrize(
    ("app", "state"),
    [
        pytest.param(body(), "NotRequested", id="internal"),
        pytest.param(
            body(requested_host="shop.example.com", requested_at="2026-12-07T09:00:00Z"), "Waiting", id="asked"
        ),
        pytest.param(
            body(
                requested_host="h",
                requested_at="2026-12-07T09:00:00Z",
                rejected_by="carol",
                rejected_at="2026-12-07T09:30:00Z",
                rejected_reason="use SSO first",
            ),
            "Rejected",
            id="rejected",
        ),
        pytest.param(
            body(
                requested_host="h",
                requested_at="2026-12-07T10:00:00Z",
                rejected_by="carol",
                rejected_at="2026-12-07T09:30:00Z",
                rejected_reason="use SSO first",
            ),
            "Waiting",
            id="asked-again-after-rejection",
        ),
        pytest.param(
            microapp(
                expose="public", host="h", annotations={ap.APPROVED_BY: "carol", ap.APPROVED_AT: "2026-12-07T09:00:00Z"}
            ),
            "Approved",
            id="approved",
        ),
    ],
)
def test_state(app: dict, state: str) -> None:
    assert ap.of(app).state == state


def test_waiting_lists_requests_oldest_first() -> None:
    apps = [
        body("b", requested_host="b.example.com", requested_at="2026-12-07T09:00:00Z"),
        body("a", requested_host="a.example.com", requested_at="2026-12-06T09:00:00Z"),
        body("c"),
    ]
    assert [(a.name, a.host, a.team) for a in ap.waiting(apps)] == [
        ("a", "a.example.com", "finance"),
        ("b", "b.example.com", "finance"),
    ]


def test_patches() -> None:
    asked = ap.of(body(requested_host="shop.example.com", requested_at="2026-12-07T09:00:00Z"))
    assert ap.approve_patch(asked, approver="carol", now=NOW) == {
        "metadata": {
            "annotations": {
                ap.APPROVED_BY: "carol",
                ap.APPROVED_AT: "2026-12-07T10:00:00Z",
                ap.REJECTED_BY: None,
                ap.REJECTED_AT: None,
                ap.REJECTED_REASON: None,
            }
        },
        "spec": {"expose": "public", "host": "shop.example.com"},
    }
    assert ap.reject_patch(approver="carol", reason="  needs\nSSO ", now=NOW) == {
        "metadata": {
            "annotations": {
                ap.REJECTED_BY: "carol",
                ap.REJECTED_AT: "2026-12-07T10:00:00Z",
                ap.REJECTED_REASON: "needs SSO",
            }
        }
    }
    assert ap.request_patch(host=" Shop.Example.com", now=NOW) == {
        "metadata": {"annotations": {ap.REQUESTED_HOST: "shop.example.com", ap.REQUESTED_AT: "2026-12-07T10:00:00Z"}}
    }
    with pytest.raises(ap.ApprovalError, match="needs a reason"):
        ap.reject_patch(approver="carol", reason=" ", now=NOW)
    with pytest.raises(ap.ApprovalError, match="not waiting"):
        ap.approve_patch(ap.of(body()), approver="carol", now=NOW)
    with pytest.raises(ap.ApprovalError, match="not a host name"):
        ap.request_patch(host="https://x/y", now=NOW)


def test_may_approve() -> None:
    assert ap.may_approve(username="carol", groups=["approvers"], policy=POLICY)
    assert ap.may_approve(username="root", groups=["admins"], policy=POLICY)
    assert not ap.may_approve(username="alice", groups=["finance-devs"], policy=POLICY)


def check(app: dict, old: dict | None, user: str, *groups: str) -> list[str]:
    return identity.check(
        app=AppMeta.of(app), old=AppMeta.of(old) if old else None, username=user, groups=list(groups), policy=POLICY
    )


def test_the_webhook_lets_only_approvers_reject_naming_themselves() -> None:
    old = body(requested_host="h", requested_at="2026-12-07T09:00:00Z")
    rejected = body(
        requested_host="h",
        requested_at="2026-12-07T09:00:00Z",
        rejected_by="alice",
        rejected_at="2026-12-07T10:00:00Z",
        rejected_reason="no",
    )
    [problem] = check(rejected, old, "alice", "finance-devs")
    assert "public-rejected-by" in problem and "can only be set by a member of approvers" in problem
    assert "must name the approver who sets it ('carol'), not 'alice'" in check(rejected, old, "carol", "approvers")[0]
    by_carol = body(
        requested_host="h",
        requested_at="2026-12-07T09:00:00Z",
        rejected_by="carol",
        rejected_at="2026-12-07T10:00:00Z",
        rejected_reason="no",
    )
    assert check(by_carol, old, "carol", "approvers") == []
    # The developer asks again (a new request time) and may clear the rejection: no approver needed.
    assert check(body(requested_host="h", requested_at="2026-12-07T11:00:00Z"), by_carol, "alice", "finance-devs") == []


@pytest.mark.parametrize(
    ("ann", "message"),
    [
        pytest.param(
            {ap.APPROVED_AT: "2026-12-07T10:00:00Z"},
            "needs metadata.annotations.microapp.dev/public-approved-by",
            id="at-alone",
        ),
        pytest.param({ap.APPROVED_BY: "carol", ap.APPROVED_AT: "yesterday"}, "RFC 3339", id="bad-time"),
        pytest.param(
            {ap.REJECTED_REASON: "no"}, "needs metadata.annotations.microapp.dev/public-rejected-by", id="reason-alone"
        ),
    ],
)
def test_the_webhook_checks_the_approval_keys(ann: dict, message: str) -> None:
    assert any(message in p for p in check(microapp(annotations=ann), microapp(), "carol", "approvers"))
