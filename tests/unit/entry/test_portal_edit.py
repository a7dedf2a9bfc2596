"""The portal's edit and propose handlers' pure parts: how the API server's answers read, who
the commit's author is, where the push credential is looked for, the cost change shown."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from microapp_operator.entry.portal import edit, propose, sending
from microapp_operator.presentation import diff
from microapp_operator.runtime.kube import KubeError

CONFLICT = (
    'Apply failed with 1 conflict: conflict with "microapp-portal" using microapp.dev/v1alpha1: .spec.replicas\n'
    "Please review the fields above--they currently have other managers."
)


@pytest.mark.parametrize(
    ("message", "only"),
    [
        pytest.param(CONFLICT, True, id="the-portals-own-update"),
        pytest.param(CONFLICT.replace('"microapp-portal"', '"kubectl"'), False, id="kubectl"),
        pytest.param(
            'Apply failed with 2 conflicts: conflicts with "microapp-portal":\n- .spec.a\n'
            'conflicts with "argocd-controller":\n- .spec.b',
            False,
            id="the-portal-and-argo-cd",
        ),
        pytest.param("the object has been modified", False, id="no-manager-named"),
    ],
)
def test_only_a_conflict_with_the_portal_itself_is_taken(message: str, only: bool) -> None:
    assert sending.only_portal(message) is only


def test_a_webhook_refusal_is_shown_verbatim_and_its_problems_go_to_their_fields() -> None:
    exc = KubeError(
        400,
        'admission webhook "admission.microapp.dev" denied the request: the MicroApp was refused:\n'
        "- spec.replicas: 20 is above the platform's maxReplicas 10; lower it\n- spec.image: registry x is not allowed",
    )
    outcome, problems = sending.refused(exc, "team-a", "shop")
    assert outcome.title == "Refused by the platform's policy" and outcome.lines[0].startswith("admission webhook")
    assert problems == [
        "spec.replicas: 20 is above the platform's maxReplicas 10; lower it",
        "spec.image: registry x is not allowed",
    ]


def test_rbac_says_who_may_not_do_what() -> None:
    outcome, problems = sending.refused(
        KubeError(403, 'User "bob" cannot patch resource "microapps"'), "team-a", "shop"
    )
    assert outcome.title == "Not allowed" and problems == []
    assert outcome.lines[0].startswith("you may not change MicroApps in namespace team-a")
    assert 'User "bob" cannot patch' in outcome.lines[1]


def test_the_cost_change_is_before_after_and_signed_delta() -> None:
    report = diff.Report("ns", "a", "apply", cost_before=Decimal("4.04"), cost_after=Decimal("12.12"), currency="USD")
    assert edit.costs(report) == edit.Costs("4.04", "12.12", "+8.08", "USD")
    down = diff.Report("ns", "a", "apply", cost_before=Decimal("12.12"), cost_after=Decimal("4.04"), currency="USD")
    assert edit.costs(down).delta == "-8.08"


def test_the_commit_author_is_the_user() -> None:
    assert propose.author("alice@example.com") == ("alice@example.com", "alice@example.com")
    assert propose.author("bob") == ("bob", "")


def test_the_credential_secret_is_looked_for_in_the_portals_namespace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(propose.NAMESPACE_ENV, "platform-portal")
    assert propose.portal_namespace() == "platform-portal"
    monkeypatch.delenv(propose.NAMESPACE_ENV)
    sa = tmp_path / "namespace"
    sa.write_text("microapp-system\n")
    monkeypatch.setattr(propose, "SA_NAMESPACE", sa)
    assert propose.portal_namespace() == "microapp-system"


def test_an_app_is_managed_through_git_by_a_tracking_id_or_its_teams_git_target() -> None:
    from microapp_operator.api import types as api
    from microapp_operator.entry.portal.source import Snapshot
    from tests.factories import microapp

    policy = api.PlatformPolicySpec.model_validate(
        {
            "teams": [
                {"name": "finance", "groups": ["f"], "git": {"repoURL": "https://gitlab.example.com/f/apps.git"}},
                {"name": "qa", "groups": ["q"]},
            ]
        }
    )
    snap = Snapshot(templates=(), policy=policy, budgets=())
    assert propose.gitops_managed(microapp(team="finance"), snap)
    assert not propose.gitops_managed(microapp(team="qa"), snap)
    tracked = microapp(team="qa", annotations={"argocd.argoproj.io/tracking-id": "apps:microapp.dev/MicroApp:ns/shop"})
    assert propose.gitops_managed(tracked, snap)
