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
    assert granted == {("", "users", "impersonate"), ("", "groups", "impersonate")} | reads
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
