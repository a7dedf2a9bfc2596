"""Propose through Git (pure): forge links, branch names, which file, Argo CD sources, the text."""

from __future__ import annotations

import pytest
import yaml

from microapp_operator.api import types as api
from microapp_operator.core import gitpropose as gp

APP = """apiVersion: microapp.dev/v1alpha1
kind: MicroApp
metadata:
  name: expenses
  namespace: team-finance
spec:
  template: web-service
"""
OTHER = APP.replace("expenses", "payroll")


@pytest.mark.parametrize(
    ("remote", "forge", "expected"),
    [
        pytest.param(
            "https://github.com/acme/apps.git",
            None,
            "https://github.com/acme/apps/compare/main...microapp/ns/a-1?expand=1",
            id="github-https",
        ),
        pytest.param(
            "git@github.com:acme/apps.git",
            None,
            "https://github.com/acme/apps/compare/main...microapp/ns/a-1?expand=1",
            id="github-scp",
        ),
        pytest.param(
            "ssh://git@gitlab.example.com:2222/grp/sub/apps.git",
            None,
            "https://gitlab.example.com/grp/sub/apps/-/merge_requests/new"
            "?merge_request%5Bsource_branch%5D=microapp%2Fns%2Fa-1&merge_request%5Btarget_branch%5D=main",
            id="gitlab-ssh-subgroup",
        ),
        pytest.param(
            "https://gitlab.com/grp/apps",
            None,
            "https://gitlab.com/grp/apps/-/merge_requests/new"
            "?merge_request%5Bsource_branch%5D=microapp%2Fns%2Fa-1&merge_request%5Btarget_branch%5D=main",
            id="gitlab-https",
        ),
        pytest.param(
            "https://git.internal:3000/acme/apps.git",
            None,
            "https://git.internal:3000/acme/apps/compare/main...microapp/ns/a-1",
            id="gitea-https-port",
        ),
        pytest.param(
            "git@codeberg.org:acme/apps.git",
            "gitea",
            "https://codeberg.org/acme/apps/compare/main...microapp/ns/a-1",
            id="forgejo-scp",
        ),
        pytest.param(
            "https://code.acme.com/acme/apps.git",
            "gitlab",
            "https://code.acme.com/acme/apps/-/merge_requests/new"
            "?merge_request%5Bsource_branch%5D=microapp%2Fns%2Fa-1&merge_request%5Btarget_branch%5D=main",
            id="gitlab-named-by-policy",
        ),
    ],
)
def test_compare_url_for_each_forge_and_remote_form(remote: str, forge: gp.Forge | None, expected: str) -> None:
    assert gp.compare_url(remote, base="main", branch="microapp/ns/a-1", forge=forge) == expected


@pytest.mark.parametrize("remote", ["file:///tmp/repo.git", "/tmp/repo.git", "https://host/onlyrepo"])
def test_compare_url_refused_without_a_web_form(remote: str) -> None:
    with pytest.raises(gp.Refused):
        gp.compare_url(remote, base="main", branch="microapp/x/y-1")


def test_branch_name_and_only_microapp_branches() -> None:
    assert gp.branch_name(namespace="team-finance", name="expenses", short_id="ab12cd34") == (
        "microapp/team-finance/expenses-ab12cd34"
    )
    for bad in ("main", "feature/x", "microapp/", "microapp/../main", "microapp/a b", "refs/heads/microapp/x"):
        with pytest.raises(gp.Refused, match="branch"):
            gp.check_branch(bad)


def test_locate_edit_finds_the_one_file() -> None:
    files = {"apps/finance/expenses.yaml": APP, "apps/finance/payroll.yml": OTHER, "README.md": "# hi"}
    found = gp.locate(files, folder="apps/finance", namespace="team-finance", name="expenses", operation="edit")
    assert found == gp.Located(path="apps/finance/expenses.yaml", exists=True)


def test_locate_uses_the_default_namespace_for_a_document_without_one() -> None:
    files = {"a/x.yaml": APP.replace("  namespace: team-finance\n", "")}
    found = gp.locate(
        files,
        folder="a",
        namespace="team-finance",
        name="expenses",
        operation="delete",
        default_namespace="team-finance",
    )
    assert found.path == "a/x.yaml"
    with pytest.raises(gp.Refused, match="no plain-YAML file"):
        gp.locate(files, folder="a", namespace="team-finance", name="expenses", operation="delete")


def test_locate_create_writes_name_yaml_in_the_folder() -> None:
    found = gp.locate(
        {"a/payroll.yaml": OTHER}, folder="./a/", namespace="team-finance", name="expenses", operation="create"
    )
    assert found == gp.Located(path="a/expenses.yaml", exists=False)
    assert gp.locate({}, folder="", namespace="n", name="x", operation="create").path == "x.yaml"


@pytest.mark.parametrize(
    ("files", "operation", "reason"),
    [
        pytest.param({"a/all.yaml": APP + "---\n" + OTHER}, "edit", "1 other object", id="shared-file"),
        pytest.param({"a/x.yaml": APP, "a/y.yaml": APP}, "edit", "several files", id="two-files"),
        pytest.param(
            {"a/kustomization.yaml": "resources: []", "a/x.yaml": APP}, "edit", "Kustomize", id="kustomize-here"
        ),
        pytest.param({"kustomization.yaml": "", "a/x.yaml": APP}, "create", "Kustomize", id="kustomize-above"),
        pytest.param({"a/Chart.yaml": "name: c", "a/templates/x.yaml": APP}, "edit", "Helm", id="helm-chart"),
        pytest.param({"a/x.yaml": APP.replace("web-service", "{{ .Values.t }}")}, "edit", "template", id="helm-syntax"),
        pytest.param({"a/x.yaml": OTHER}, "edit", "nothing to edit", id="not-found-edit"),
        pytest.param({"a/x.yaml": OTHER}, "delete", "nothing to delete", id="not-found-delete"),
        pytest.param({"a/x.yaml": APP}, "create", "already in a/x.yaml", id="create-exists"),
        pytest.param({"a/expenses.yaml": "kind: ConfigMap"}, "create", "holds something else", id="create-name-taken"),
        pytest.param({"a/x.yaml": "a: [b"}, "edit", "not valid YAML", id="bad-yaml"),
    ],
)
def test_locate_refuses_with_the_reason(files: dict[str, str], operation: gp.Operation, reason: str) -> None:
    with pytest.raises(gp.Refused, match=reason):
        gp.locate(files, folder="a", namespace="team-finance", name="expenses", operation=operation)


def test_locate_refuses_a_path_leaving_the_repository() -> None:
    with pytest.raises(gp.Refused, match="leaves the repository"):
        gp.locate({}, folder="../x", namespace="n", name="x", operation="create")


def test_manifest_drops_status_and_server_metadata() -> None:
    body = {
        "apiVersion": "microapp.dev/v1alpha1",
        "kind": "MicroApp",
        "metadata": {
            "name": "expenses",
            "namespace": "team-finance",
            "uid": "u",
            "resourceVersion": "9",
            "generation": 3,
            "managedFields": [{}],
            "annotations": {"microapp.dev/owner": "alice", gp.TRACKING_ID: "x:y/z:a/b"},
        },
        "spec": {"template": "web-service", "replicas": 2},
        "status": {"phase": "Ready"},
    }
    doc = yaml.safe_load(gp.manifest(body))
    assert doc == {
        "apiVersion": "microapp.dev/v1alpha1",
        "kind": "MicroApp",
        "metadata": {"name": "expenses", "namespace": "team-finance", "annotations": {"microapp.dev/owner": "alice"}},
        "spec": {"template": "web-service", "replicas": 2},
    }


def test_application_of_reads_the_tracking_id() -> None:
    ann = {gp.TRACKING_ID: "finance-apps:microapp.dev/MicroApp:team-finance/expenses"}
    assert gp.application_of(ann, namespace="team-finance", name="expenses") == (None, "finance-apps")
    ann = {gp.TRACKING_ID: "argo-apps_finance:microapp.dev/MicroApp:team-finance/expenses"}
    assert gp.application_of(ann, namespace="team-finance", name="expenses") == ("argo-apps", "finance")
    assert gp.application_of({}, namespace="team-finance", name="expenses") is None
    with pytest.raises(gp.Refused, match="another object"):
        gp.application_of(ann, namespace="team-finance", name="payroll")


def _application(**source: object) -> dict:
    return {"metadata": {"name": "finance", "namespace": "argocd"}, "spec": {"source": source}}


def test_target_from_application() -> None:
    t = gp.target_from_application(
        _application(repoURL="https://github.com/a/b.git", path="./apps/fin", targetRevision="main")
    )
    assert (t.repo_url, t.branch, t.path, t.source) == (
        "https://github.com/a/b.git",
        "main",
        "apps/fin",
        "argocd:argocd/finance",
    )
    assert gp.target_from_application(_application(repoURL="r", targetRevision="HEAD")).branch is None


@pytest.mark.parametrize(
    ("application", "reason"),
    [
        pytest.param({"spec": {"sources": [{"repoURL": "a"}, {"repoURL": "b"}]}}, "several sources", id="multi-source"),
        pytest.param(_application(repoURL="r", chart="c", targetRevision="1.2.3"), "Helm", id="helm-chart"),
        pytest.param(_application(repoURL="r", path="p", helm={"valueFiles": ["v.yaml"]}), "Helm", id="helm-dir"),
        pytest.param(_application(repoURL="r", path="p", kustomize={"namePrefix": "x"}), "Kustomize", id="kustomize"),
        pytest.param(_application(repoURL="r", path="p", targetRevision="3f2a9c1"), "not a branch", id="commit"),
        pytest.param(_application(repoURL="r", path="p", targetRevision="v1.2.0"), "not a branch", id="tag"),
        pytest.param(_application(path="p"), "repoURL", id="no-repo"),
    ],
)
def test_target_from_application_refuses(application: dict, reason: str) -> None:
    with pytest.raises(gp.Refused, match=reason):
        gp.target_from_application(application)


def test_target_from_policy() -> None:
    policy = api.PlatformPolicySpec.model_validate(
        {
            "teams": [
                {"name": "ops"},
                {
                    "name": "finance",
                    "git": {
                        "repoURL": "git@gitlab.com:f/apps.git",
                        "branch": "main",
                        "path": "teams/finance",
                        "credentialsSecret": "finance-git",
                        "forge": "gitlab",
                    },
                },
            ]
        }
    )
    t = gp.target_from_policy(policy, "finance")
    assert t == gp.Target(
        "git@gitlab.com:f/apps.git", "main", "teams/finance", "policy:finance", "finance-git", "gitlab"
    )
    assert gp.target_from_policy(policy, "ops") is None
    assert gp.target_from_policy(policy, "nobody") is None


def test_description_carries_cost_delta_and_findings() -> None:
    text = gp.description(
        operation="edit",
        namespace="team-finance",
        name="expenses",
        currency="USD",
        monthly_before="10.50",
        monthly_after="31.5",
        findings=["replicas 12 above maxReplicas 10: lower it"],
        author="alice@example.com",
    )
    assert "Change MicroApp team-finance/expenses, proposed by alice@example.com." in text
    assert "Monthly cost: 10.50 USD -> 31.50 USD (+21.00 USD)" in text
    assert "- replicas 12 above maxReplicas 10: lower it" in text
    assert "Nothing is live until this is merged" in text
    gone = gp.description(
        operation="delete",
        namespace="n",
        name="x",
        currency="EUR",
        monthly_before="4",
        monthly_after="4",
        findings=[],
        author="bob",
    )
    assert "(-4.00 EUR)" in gone and "Policy findings: none" in gone


@pytest.mark.parametrize(
    ("step", "output", "reason"),
    [
        pytest.param("clone", "fatal: Authentication failed for 'https://h/x'", "refused the credential", id="auth"),
        pytest.param("clone", "fatal: '/tmp/x' does not appear to be a git repository", "not there", id="gone"),
        pytest.param("clone", "fatal: unable to access: Could not resolve host: h", "cannot be reached", id="dns"),
        pytest.param("clone", "warning: Remote branch dev not found in upstream origin", "base branch", id="branch"),
        pytest.param("push", " ! [remote rejected] HEAD -> microapp/x (protected)", "refused the push", id="rejected"),
        pytest.param("commit", "something odd\n", "git commit failed: something odd", id="other"),
    ],
)
def test_git_failure_says_why(step: str, output: str, reason: str) -> None:
    assert reason in gp.git_failure(step, output)
