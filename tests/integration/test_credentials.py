"""Credentials that rotate, against the real API server: an exec credential plugin whose tokens
say they are valid for 2 s is run again and requests keep succeeding; a token the API server
stops accepting (its bound Secret deleted) leads to one new login and the request succeeds.

The plugin prints a real ServiceAccount token from ``kubectl create token`` (the API server's
minimum lifetime is 10 minutes, so the 2 s is what the plugin claims: what matters is that the
client believes it and asks again) and counts its runs.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from microapp_operator.runtime.kube import Kube
from tests.helpers import KUBECONFIG, KUBECTL, kubectl

SA = "exec-plugin-user"


def plugin_kubeconfig(tmp_path: Path, namespace: str, *, valid_for: str) -> tuple[Path, Path]:
    """A kubeconfig whose user is an exec plugin; the plugin binds each token it issues to a new
    Secret (so deleting that Secret revokes it) and writes the Secret's name to a run log."""
    runs = tmp_path / "runs"
    script = tmp_path / "issue-token.sh"
    script.write_text(f"""#!/bin/sh
set -e
k() {{ "{KUBECTL}" --kubeconfig "{KUBECONFIG}" -n "{namespace}" "$@"; }}
name="token-$(date +%s%N)"
k create secret generic "$name" >/dev/null
token=$(k create token {SA} --duration=10m --bound-object-kind=Secret --bound-object-name="$name")
echo "$name" >> "{runs}"
expires=$(date -u -d "{valid_for}" +%Y-%m-%dT%H:%M:%SZ)
printf '{{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
  "status": {{"token": "%s", "expirationTimestamp": "%s"}}}}' "$token" "$expires"
""")
    script.chmod(0o755)
    admin = yaml.safe_load(KUBECONFIG.read_text())
    cluster = admin["clusters"][0]
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script)}}
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": "plugin", "user": user}],
        "contexts": [
            {"name": "plugin", "context": {"cluster": cluster["name"], "user": "plugin", "namespace": namespace}}
        ],
        "current-context": "plugin",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path, runs


@pytest.fixture
def plugin_user(namespace: str) -> str:
    """A ServiceAccount that may read its namespace (the view role), as the plugin's identity."""
    kubectl("create", "serviceaccount", SA, "-n", namespace)
    kubectl(
        "create",
        "rolebinding",
        "plugin-view",
        "--clusterrole=view",
        f"--serviceaccount={namespace}:{SA}",
        "-n",
        namespace,
    )
    return namespace


def runs_of(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


async def test_an_exec_plugin_whose_tokens_expire_in_2s_is_run_again_and_requests_keep_succeeding(
    plugin_user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = plugin_user
    path, runs = plugin_kubeconfig(tmp_path, namespace, valid_for="2 seconds")
    monkeypatch.setenv("KUBECONFIG", str(path))
    kube = await Kube.connect()
    try:
        answers = []
        started = time.monotonic()
        for _ in range(5):  # a count, not a time: each request runs the plugin, slow on a loaded machine
            answers.append(await kube.request("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts"))
            await asyncio.sleep(0.6)
        spent = time.monotonic() - started
    finally:
        await kube.close()
    assert spent > 2, "the requests must outlive the first token"
    assert all(SA in {i["metadata"]["name"] for i in a["items"]} for a in answers) and len(answers) == 5
    # Each token is within the client's 5-minute margin of its expiry: the plugin ran for every
    # request (in the client's get_api_key_with_prefix), each time issuing a new token.
    assert len(runs_of(runs)) >= len(answers)


async def test_a_token_the_server_stops_accepting_leads_to_one_new_login(
    plugin_user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = plugin_user
    path, runs = plugin_kubeconfig(tmp_path, namespace, valid_for="1 hour")
    monkeypatch.setenv("KUBECONFIG", str(path))
    url = f"/api/v1/namespaces/{namespace}/serviceaccounts"
    kube = await Kube.connect()
    try:
        await kube.request("GET", url)
        await kube.request("GET", url)
        assert len(runs_of(runs)) == 1  # valid for an hour: kept
        first = runs_of(runs)[0]
        token = kube.auth.login.authorization()
        kubectl("delete", "secret", first, "-n", namespace)  # revokes the token bound to it
        _wait_refused(token or "", url, tmp_path)
        answer = await kube.request("GET", url)
        assert SA in {i["metadata"]["name"] for i in answer["items"]}
        assert len(runs_of(runs)) == 2 and runs_of(runs)[0] == first  # one new login
    finally:
        await kube.close()


def _wait_refused(authorization: str, url: str, directory: Path, timeout: float = 30) -> None:
    """Until the API server refuses the token alone (it may cache a token's validity briefly)."""
    admin = yaml.safe_load(KUBECONFIG.read_text())
    cluster = admin["clusters"][0]
    only_token = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": "t", "user": {"token": authorization.split(" ", 1)[1]}}],
        "contexts": [{"name": "t", "context": {"cluster": cluster["name"], "user": "t"}}],
        "current-context": "t",
    }
    path = directory / "token.kubeconfig"
    path.write_text(yaml.safe_dump(only_token))
    deadline = time.monotonic() + timeout
    while True:
        proc = subprocess.run([KUBECTL, "--kubeconfig", str(path), "get", "--raw", url], capture_output=True, text=True)
        if proc.returncode != 0 and "Unauthorized" in proc.stderr:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the API server still accepts the revoked token after {timeout}s: {proc.stderr}")
        time.sleep(1)
