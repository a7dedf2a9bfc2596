"""The chart's portal (portal.enabled, off by default), rendered by Helm: least privilege for its
ServiceAccount, arguments `microapp portal` accepts, its own Pod labels, and oauth2-proxy in
front when asked."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from microapp_operator.entry import cli
from microapp_operator.entry.portal import cmd
from tests.unit.test_chart import CHART, helm, of_kind, render  # noqa: F401 - helm is a fixture

PORTAL = {"portal": {"enabled": True, "oidc": {"issuerURL": "https://idp.example.com", "clientID": "portal"}}}
PROXIED = {
    "portal": {
        **PORTAL["portal"],
        "oauth2Proxy": {"enabled": True, "secretName": "oauth2"},
        "ingress": {"enabled": True, "host": "portal.example.com"},
    }
}


def portal_objects(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["metadata"]["name"].endswith("-portal") or d["metadata"]["name"].endswith("-form-key")]


def test_off_by_default(helm: str) -> None:  # noqa: F811
    assert portal_objects(render(helm)) == []


def test_the_service_account_may_impersonate_people_and_read_three_kinds(helm: str, tmp_path: Path) -> None:  # noqa: F811
    docs = portal_objects(render(helm, PORTAL, tmp_path))
    assert sorted(d["kind"] for d in docs) == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "NetworkPolicy",
        "Secret",
        "Service",
        "ServiceAccount",
    ]
    rules = of_kind(docs, "ClusterRole")[0]["rules"]
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    reads = {
        ("microapp.dev", r, v)
        for r in ("apptemplates", "platformpolicies", "teambudgets")
        for v in ("get", "list", "watch")
    }
    argocd = {("argoproj.io", "applications", "get")}  # the Application a tracking annotation names
    assert granted == {("", "users", "impersonate"), ("", "groups", "impersonate")} | reads | argocd
    assert all(rule.get("resourceNames") is None for rule in rules)
    binding = of_kind(docs, "ClusterRoleBinding")[0]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "microapp-operator-portal", "namespace": "microapp-system"}
    ]


def test_its_arguments_are_accepted_and_its_pods_are_not_the_operators(helm: str, tmp_path: Path) -> None:  # noqa: F811
    docs = render(helm, PORTAL, tmp_path)
    portal = next(d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-portal"))
    operator = next(d for d in of_kind(docs, "Deployment") if not d["metadata"]["name"].endswith("-portal"))
    args = cli.build_parser().parse_args(portal["spec"]["template"]["spec"]["containers"][0]["args"])
    host, port, dev = cmd.settings(args)
    assert (host, port, dev) == ("0.0.0.0", 8080, None) and args.oidc_client_id == "portal"
    labels = portal["spec"]["template"]["metadata"]["labels"]
    assert not set(operator["spec"]["selector"]["matchLabels"].items()) <= set(labels.items())


def test_behind_oauth2_proxy_the_portal_listens_on_loopback(helm: str, tmp_path: Path) -> None:  # noqa: F811
    docs = portal_objects(render(helm, PROXIED, tmp_path))
    pod = of_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    assert "--listen=127.0.0.1:8080" in pod["containers"][0]["args"]
    proxy = pod["containers"][1]
    assert "--pass-authorization-header=true" in proxy["args"] and "--cookie-samesite=strict" in proxy["args"]
    assert of_kind(docs, "Service")[0]["spec"]["ports"][0]["targetPort"] == "proxy"
    assert of_kind(docs, "Ingress")[0]["spec"]["rules"][0]["host"] == "portal.example.com"


def test_without_an_issuer_it_says_so(helm: str, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "v.yaml").write_text(yaml.safe_dump({"portal": {"enabled": True}}))
    proc = subprocess.run(
        [helm, "template", "x", str(CHART), "-f", str(tmp_path / "v.yaml")], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "portal.oidc.issuerURL and portal.oidc.clientID are required" in proc.stderr


@pytest.mark.parametrize("values", [{"portal": {"enabled": "yes"}}, {"portal": {"oidc": {"issuer": "x"}}}])
def test_wrong_portal_values_fail_with_the_field_named(helm: str, tmp_path: Path, values: dict) -> None:  # noqa: F811
    (tmp_path / "v.yaml").write_text(yaml.safe_dump(values))
    proc = subprocess.run(
        [helm, "template", "x", str(CHART), "-f", str(tmp_path / "v.yaml")], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "portal" in proc.stderr


def test_the_git_credential_secrets_are_readable_by_name_only(helm: str, tmp_path: Path) -> None:  # noqa: F811
    assert not of_kind(portal_objects(render(helm, PORTAL, tmp_path)), "Role")  # no names: no Secret at all
    named = {"portal": {**PORTAL["portal"], "git": {"credentialSecrets": ["git-push", "gitlab-token"]}}}
    docs = render(helm, named, tmp_path)
    (role,) = [d for d in of_kind(docs, "Role") if d["metadata"]["name"] == "microapp-operator-portal-git"]
    assert role["metadata"]["namespace"] == "microapp-system"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["git-push", "gitlab-token"]}
    ]
    (binding,) = [d for d in of_kind(docs, "RoleBinding") if d["metadata"]["name"] == "microapp-operator-portal-git"]
    assert binding["roleRef"]["name"] == "microapp-operator-portal-git"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "microapp-operator-portal", "namespace": "microapp-system"}
    ]


def portal_netpol(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in of_kind(docs, "NetworkPolicy") if d["metadata"]["name"] == "microapp-operator-portal")


def test_egress_is_open_unless_restricted_then_only_to_the_named_destinations(helm: str, tmp_path: Path) -> None:  # noqa: F811
    spec = portal_netpol(render(helm, PORTAL, tmp_path))["spec"]
    assert spec["policyTypes"] == ["Ingress"] and "egress" not in spec
    prometheus = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    git = [{"ipBlock": {"cidr": "203.0.113.10/32"}}]
    api = [{"ipBlock": {"cidr": "10.96.0.1/32"}}]
    egress = {"enabled": True, "apiServer": {"to": api}, "prometheus": {"to": prometheus}, "git": {"to": git}}
    values = {"portal": {**PORTAL["portal"], "networkPolicy": {"egress": egress}}}
    spec = portal_netpol(render(helm, values, tmp_path))["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    rules = spec["egress"]
    assert rules[0]["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert rules[1:] == [
        {"to": api, "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]},
        {"to": prometheus, "ports": [{"port": 9090, "protocol": "TCP"}]},
        {"to": git, "ports": [{"port": 443, "protocol": "TCP"}, {"port": 22, "protocol": "TCP"}]},
    ]  # the OIDC issuer named no peer: no rule, so no egress there


@pytest.mark.parametrize(
    "portal",
    [
        pytest.param({"git": {"credentialSecrets": ["Not A Name"]}}, id="secret-name"),
        pytest.param({"networkPolicy": {"egress": {"git": {"ports": [0]}}}}, id="port"),
        pytest.param({"networkPolicy": {"egress": {"prometheus": {"host": "x"}}}}, id="unknown-key"),
    ],
)
def test_wrong_git_or_egress_values_fail(helm: str, tmp_path: Path, portal: dict) -> None:  # noqa: F811
    (tmp_path / "v.yaml").write_text(yaml.safe_dump({"portal": {**PORTAL["portal"], **portal}}))
    proc = subprocess.run(
        [helm, "template", "x", str(CHART), "-f", str(tmp_path / "v.yaml")], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "portal" in proc.stderr, proc.stderr
