"""Per-app RBAC from the editors/viewers annotations, and the NetworkPolicy."""

from __future__ import annotations

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import network, rbac

POLICY = api.PlatformPolicySpec.model_validate(
    {
        "teams": [
            {"name": "finance", "groups": ["finance-devs", "finance-all"], "namespaces": ["team-finance"]},
            {"name": "hr", "groups": ["hr-devs"], "namespaces": ["team-hr"]},
        ]
    }
)
FINANCE = POLICY.teams[0]


def parse(value: str, policy: api.PlatformPolicySpec = POLICY) -> tuple[list[rbac.Subject], list[str]]:
    return rbac.parse(value, key="microapp.dev/editors", team=FINANCE, policy=policy)


def test_valid_subjects() -> None:
    subjects, problems = parse("user:bob@example.com, group:finance-all ,serviceaccount:team-finance:ci")
    assert problems == []
    assert [s.wire() for s in subjects] == [
        {"kind": "User", "name": "bob@example.com", "apiGroup": "rbac.authorization.k8s.io"},
        {"kind": "Group", "name": "finance-all", "apiGroup": "rbac.authorization.k8s.io"},
        {"kind": "ServiceAccount", "name": "ci", "namespace": "team-finance"},
    ]


REFUSED = {
    "system-group": ("group:system:masters", "system: users and groups cannot be granted access"),
    "wildcard": ("user:*", "wildcards are not allowed"),
    "other-team": ("group:hr-devs", "group 'hr-devs' belongs to another team"),
    "bare-name": ("bob", "write user:NAME, group:NAME or serviceaccount:NAMESPACE:NAME"),
    "foreign-sa": (
        "serviceaccount:kube-system:default",
        "namespace 'kube-system' is not one of team finance's namespaces",
    ),
    "bad-sa": ("serviceaccount:ci", "write serviceaccount:NAMESPACE:NAME"),
}


@pytest.mark.parametrize("value,message", REFUSED.values(), ids=REFUSED.keys())
def test_refused_subjects(value: str, message: str) -> None:
    subjects, problems = parse(value)
    assert subjects == [] and len(problems) == 1 and message in problems[0]
    assert problems[0].startswith(f"metadata.annotations.microapp.dev/editors: {value!r}: ")


def test_cross_team_groups_when_the_policy_allows() -> None:
    lenient = POLICY.model_copy(update={"guardrails": api.Guardrails(allow_cross_team_groups=True)})
    assert parse("group:hr-devs", lenient)[1] == []


def test_roles_name_the_apps_own_objects() -> None:
    children = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop"}},
    ]
    objs = rbac.objects(
        app="shop", namespace="ns", children=children, editors=[rbac.Subject("User", "bob")], viewers=[], token=False
    )
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("ServiceAccount", "shop"),
        ("Role", "shop-editor"),
        ("RoleBinding", "shop-editors"),
    ]
    rules = objs[1]["rules"]
    assert rules[0] == {
        "apiGroups": ["microapp.dev"],
        "resources": ["microapps"],
        "resourceNames": ["shop"],
        "verbs": ["get", "list", "watch", "update", "patch"],
    }
    assert {
        "apiGroups": ["apps"],
        "resources": ["deployments"],
        "resourceNames": ["shop"],
        "verbs": ["get", "list", "watch"],
    } in rules
    assert not any("secrets" in r["resources"] for r in rules)
    assert objs[2]["subjects"] == [{"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}]


def test_no_subjects_no_bindings() -> None:
    objs = rbac.objects(app="a", namespace="ns", children=[], editors=[], viewers=[], token=True)
    assert [o["kind"] for o in objs] == ["ServiceAccount"] and objs[0]["automountServiceAccountToken"] is True


def test_network_policy_internal_public_and_sandbox() -> None:
    internal = network.policy(
        app="a", namespace="ns", public=False, sandbox=False, ingress_namespace=None, telemetry_endpoint=None
    )
    assert internal["spec"] == {
        "podSelector": {"matchLabels": {"microapp.dev/name": "a"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {}}]}],
    }
    public = network.policy(
        app="a", namespace="ns", public=True, sandbox=False, ingress_namespace="edge", telemetry_endpoint=None
    )
    assert public["spec"]["ingress"][0]["from"][1] == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}
    }
    sandbox = network.policy(
        app="a",
        namespace="ns",
        public=False,
        sandbox=True,
        ingress_namespace=None,
        telemetry_endpoint="http://otel-gateway.observability:4317",
    )
    assert sandbox["spec"]["policyTypes"] == ["Ingress", "Egress"]
    dns, otel = sandbox["spec"]["egress"]
    assert dns["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert otel == {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}],
        "ports": [{"protocol": "TCP", "port": 4317}],
    }
