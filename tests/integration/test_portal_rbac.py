"""The chart's portal ServiceAccount is enough, and no more: a portal running with only the
chart's ClusterRole (impersonate users and groups, read templates, policy and budgets) serves a
member's create, while the ServiceAccount itself may create nothing."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import KUBECONFIG, ROOT, get_json, kubectl
from tests.integration.portal import PortalProcess, citizen_role, csrf_of


@pytest.fixture
def chart_portal_kubeconfig(namespace: str, tmp_path: Path) -> Iterator[Path]:
    """The chart's portal ServiceAccount, ClusterRole and binding (rendered by Helm) in ``namespace``,
    and a kubeconfig with that ServiceAccount's token."""
    helm = subprocess.run([str(ROOT / "hack" / "build-tool.sh"), "helm"], capture_output=True, text=True)
    assert helm.returncode == 0, helm.stderr[-2000:]
    release = f"r{uuid.uuid4().hex[:6]}"
    rendered = subprocess.run(
        [helm.stdout.strip().splitlines()[-1], "template", release, str(ROOT / "charts" / "microapp-operator"),
         "--namespace", namespace, "--show-only", "templates/portal.yaml", "--set", "image.repository=x",
         "--set", "portal.enabled=true", "--set", "portal.oidc.issuerURL=https://idp.example.com",
         "--set", "portal.oidc.clientID=portal"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    rbac = [d for d in docs if d["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding")]
    kubectl("apply", "-f", "-", input=rbac)
    account = next(d for d in rbac if d["kind"] == "ServiceAccount")["metadata"]["name"]
    token = kubectl("create", "token", account, "-n", namespace, "--duration=20m").stdout.strip()
    entry = yaml.safe_load(KUBECONFIG.read_text())["clusters"][0]
    path = tmp_path / "portal.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [entry],
                "users": [{"name": "portal", "user": {"token": token}}],
                "contexts": [{"name": "portal", "context": {"cluster": entry["name"], "user": "portal"}}],
                "current-context": "portal",
            }
        )
    )
    yield path
    for doc in rbac:
        if doc["kind"] != "ServiceAccount":
            kubectl("delete", doc["kind"].lower(), doc["metadata"]["name"], "--ignore-not-found", check=False)


def test_the_charts_role_is_enough_for_a_members_create_and_no_more(
    operator: object,
    namespace: str,
    policy_team: Callable[..., None],
    chart_portal_kubeconfig: Path,
    tmp_path: Path,
) -> None:
    team = f"p{uuid.uuid4().hex[:8]}"
    group = f"{team}-devs"
    policy_team(team, namespaces=[namespace], groups=[group])
    citizen_role(namespace, group)
    can = kubectl("--kubeconfig", str(chart_portal_kubeconfig), "auth", "can-i", "create", "microapps.microapp.dev",
                  "-n", namespace, check=False)  # fmt: skip
    assert can.stdout.strip() == "no", (can.stdout, can.stderr)  # the portal alone may create nothing
    portal = PortalProcess(
        tmp_path / "portal.log",
        "--dev-user",
        "alice@example.com",
        "--dev-group",
        group,
        kubeconfig=chart_portal_kubeconfig,
    )
    try:
        status, page = portal.call("GET", "/new/web-service")
        assert status == 200, page[-2000:]
        form = {
            "csrf": csrf_of(page),
            "name": "viasa",
            "namespace": namespace,
            "owner": "alice@example.com",
            "image": "registry.internal/team/x:1.0.0",
            "replicas": "1",
            "cpu": "100m",
            "memory": "128Mi",
            "expose": "internal",
            "cost_center": "CC-1",
            "action": "create",
        }
        status, text = portal.call("POST", "/new/web-service", form=form)  # then the app's page, as alice
        assert status == 200 and "MicroApp " + namespace + "/viasa" in text, text[-3000:]
    finally:
        portal.stop()
    app = get_json("microapp", "viasa", "-n", namespace)
    assert app["metadata"]["annotations"]["microapp.dev/owner"] == "alice@example.com"
