"""Public-exposure approvals on the real control plane, each step as the person (kubectl --as):
alice asks, a non-approver cannot approve or reject, carol rejects with a reason, alice asks
again, carol approves and the app becomes Ready with its Ingress."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from microapp_operator.core import approval as ap
from microapp_operator.presentation.explain import approval_view
from tests.helpers import get_json, kubectl
from tests.integration.test_security import ALICE, CAROL, app, sec  # noqa: F401 - sec is a fixture

MALLORY = ("--as=mallory@example.com", "--as-group=sec-devs")  # in alice's team, not an approver


def patch(ns: str, body: dict, *who: str, check: bool = True) -> object:
    return kubectl("patch", "mapp", "pub", "-n", ns, *who, "--type=merge", "-p", json.dumps(body), check=check)


def test_ask_reject_ask_again_approve(operator: object, sec: dict) -> None:  # noqa: F811
    ns = sec["ns"]
    kubectl("apply", *ALICE, "-f", "-", input=app("pub", sec))
    patch(ns, ap.request_patch(host="pub.example.com", now=datetime.now(UTC)), *ALICE)

    listed = json.loads(kubectl("get", "mapp", "-A", *CAROL, "-o", "json").stdout)["items"]
    assert [(a.namespace, a.name, a.host) for a in ap.waiting(listed) if a.namespace == ns] == [
        (ns, "pub", "pub.example.com")
    ]
    asked = ap.of(get_json("mapp", "pub", "-n", ns))

    # A member of the team is not an approver: the webhook refuses both, naming who may.
    for who in (ALICE, MALLORY):
        user = who[0].removeprefix("--as=")
        for body in (
            ap.approve_patch(asked, approver=user, now=datetime.now(UTC)),
            ap.reject_patch(approver=user, reason="no", now=datetime.now(UTC)),
        ):
            proc = patch(ns, body, *who, check=False)
            assert proc.returncode != 0  # type: ignore[attr-defined]
            assert "can only be set by a member of platform-admins" in proc.stderr  # type: ignore[attr-defined]
    # An approver must name themselves.
    proc = patch(
        ns, ap.reject_patch(approver="dave@example.com", reason="no", now=datetime.now(UTC)), *CAROL, check=False
    )
    assert "must name the approver who sets it ('carol@example.com'), not 'dave@example.com'" in proc.stderr  # type: ignore[attr-defined]
    live = get_json("mapp", "pub", "-n", ns)
    assert ap.of(live).state == "Waiting" and live["spec"].get("expose") != "public"

    patch(
        ns,
        ap.reject_patch(approver="carol@example.com", reason="put it behind SSO first", now=datetime.now(UTC)),
        *CAROL,
    )
    view = approval_view(get_json("mapp", "pub", "-n", ns))
    assert view is not None and (view.state, view.rejected_by, view.reason) == (
        "Rejected",
        "carol@example.com",
        "put it behind SSO first",
    )
    assert ap.waiting([get_json("mapp", "pub", "-n", ns)]) == []

    time.sleep(1.1)  # a request in a later second than the rejection
    patch(ns, ap.request_patch(host="pub.example.com", now=datetime.now(UTC)), *ALICE)
    asked = ap.of(get_json("mapp", "pub", "-n", ns))
    assert asked.state == "Waiting"
    patch(ns, ap.approve_patch(asked, approver="carol@example.com", now=datetime.now(UTC)), *CAROL)
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "mapp/pub")
    assert get_json("ingress", "pub", "-n", ns)["spec"]["rules"][0]["host"] == "pub.example.com"
    view = approval_view(get_json("mapp", "pub", "-n", ns))
    assert view is not None and view.state == "Approved" and view.approved_by == "carol@example.com"
    assert view.approved_at and view.reason is None
