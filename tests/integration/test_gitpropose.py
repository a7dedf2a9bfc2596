"""Propose through Git against real repositories: a bare one by file URL and one served by
``git http-backend`` on loopback behind HTTP basic auth (the credential path the portal uses)."""

from __future__ import annotations

import base64
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from microapp_operator.core import gitpropose as gp
from microapp_operator.runtime import gitpush

BODY = {
    "apiVersion": "microapp.dev/v1alpha1",
    "kind": "MicroApp",
    "metadata": {"name": "expenses", "namespace": "team-finance", "resourceVersion": "7", "uid": "x"},
    "spec": {"template": "web-service", "replicas": 3},
    "status": {"phase": "Ready"},
}
USER, PASSWORD = "portal", "s3cret-token-value"


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd or Path.cwd())}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A bare repository whose main branch holds apps/finance/ with payroll.yaml (another app) and README."""
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(origin))
    work = tmp_path / "seed"
    git("init", "-q", "-b", "main", str(work))
    (work / "apps" / "finance").mkdir(parents=True)
    (work / "apps" / "finance" / "payroll.yaml").write_text(
        yaml.safe_dump({**BODY, "metadata": {"name": "payroll", "namespace": "team-finance"}})
    )
    (work / "README.md").write_text("apps\n")
    git("add", ".", cwd=work)
    git("-c", "user.name=seed", "-c", "user.email=seed@x", "commit", "-q", "-m", "seed", cwd=work)
    git("push", "-q", str(origin), "main", cwd=work)
    return origin


def target(url: str) -> gp.Target:
    return gp.Target(repo_url=url, branch="main", path="apps/finance", source="policy:finance")


def show(origin: Path, rev: str, fmt: str) -> str:
    return git("--git-dir", str(origin), "log", "-1", f"--format={fmt}", rev).strip()


async def propose(url: str, operation: gp.Operation, **kw: object) -> gitpush.Proposal:
    return await gitpush.propose(
        BODY, target=target(url), operation=operation, author_name="Alice", author_email="alice@example.com", **kw
    )


async def test_create_then_edit_then_delete_on_microapp_branches(bare: Path) -> None:
    created = await propose(f"file://{bare}", "create", description="cost +10")
    assert created.branch.startswith("microapp/team-finance/expenses-") and created.base == "main"
    assert created.path == "apps/finance/expenses.yaml"
    assert created.compare_url is None  # a file URL has no forge page
    text = git("--git-dir", str(bare), "show", f"{created.branch}:apps/finance/expenses.yaml")
    assert yaml.safe_load(text) == {k: v for k, v in BODY.items() if k != "status"} | {
        "metadata": {"name": "expenses", "namespace": "team-finance"}
    }
    assert (
        show(bare, created.branch, "%an <%ae>|%cn <%ce>")
        == "Alice <alice@example.com>|microapp portal <portal@microapp.dev>"
    )
    assert show(bare, created.branch, "%H") == created.commit
    assert git("--git-dir", str(bare), "rev-parse", "main").strip() != created.commit  # base untouched

    # Merge it (as the forge would) so the app is on main, then propose an edit and a delete.
    git("--git-dir", str(bare), "update-ref", "refs/heads/main", created.commit)
    edited = await gitpush.propose(
        {**BODY, "spec": {"template": "web-service", "replicas": 5}},
        target=target(f"file://{bare}"),
        operation="edit",
        author_name="Bob",
        author_email="bob@example.com",
    )
    assert "replicas: 5" in git("--git-dir", str(bare), "show", f"{edited.branch}:apps/finance/expenses.yaml")
    assert edited.branch != created.branch

    deleted = await propose(f"file://{bare}", "delete")
    assert deleted.content is None
    assert show(bare, deleted.branch, "%s") == "Delete MicroApp team-finance/expenses"
    assert "D\tapps/finance/expenses.yaml" in git(
        "--git-dir", str(bare), "show", "--name-status", "--format=", deleted.branch
    )
    assert "payroll.yaml" in git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", deleted.branch)


async def test_edit_of_an_app_not_in_the_repository_is_refused_and_keeps_the_content(bare: Path) -> None:
    with pytest.raises(gitpush.ProposalFailed, match="no plain-YAML file in apps/finance holds") as err:
        await propose(f"file://{bare}", "edit")
    assert "replicas: 3" in (err.value.content or "")
    assert "microapp/" not in git("--git-dir", str(bare), "branch", "--list")


async def test_a_repository_gone_fails_clearly_and_keeps_the_content(bare: Path) -> None:
    shutil.rmtree(bare)
    with pytest.raises(gitpush.ProposalFailed, match="git clone failed: the repository is not there") as err:
        await propose(f"file://{bare}", "create")
    assert "replicas: 3" in (err.value.content or "")


class _Backend(http.server.BaseHTTPRequestHandler):
    """git http-backend as CGI behind HTTP basic auth: a smart-HTTP Git server on loopback."""

    root: Path

    def log_message(self, *args: object) -> None:
        pass

    def _serve(self) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": USER,
            "REMOTE_ADDR": "127.0.0.1",
            "PATH": os.environ["PATH"],
        }
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve


@pytest.fixture
def http_url(bare: Path) -> Iterator[str]:
    git("--git-dir", str(bare), "config", "http.receivepack", "true")
    handler = type("Handler", (_Backend,), {"root": bare.parent})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{bare.name}"
    server.shutdown()
    server.server_close()


async def test_push_over_http_with_a_credential_and_a_link(bare: Path, http_url: str) -> None:
    done = await propose(http_url, "create", credential=gitpush.Credential(password=PASSWORD, username=USER))
    assert done.branch in git("--git-dir", str(bare), "branch", "--list", "microapp/*")
    assert show(bare, done.branch, "%an") == "Alice"
    assert done.compare_url is None  # http://127.0.0.1:port/origin.git names no owner: no forge page


async def test_a_bad_credential_fails_without_showing_it(bare: Path, http_url: str) -> None:
    with pytest.raises(gitpush.ProposalFailed) as err:
        await propose(http_url, "create", credential=gitpush.Credential(password="wrong-" + PASSWORD, username=USER))
    assert err.value.reason.startswith("git clone failed: the Git host refused the credential"), err.value.reason
    assert PASSWORD not in err.value.reason
    assert "replicas: 3" in (err.value.content or "")
    assert "microapp/" not in git("--git-dir", str(bare), "branch", "--list")


APPLICATION_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "applications.argoproj.io"},
    "spec": {
        "group": "argoproj.io",
        "names": {"kind": "Application", "plural": "applications", "singular": "application"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}


async def test_target_from_the_argocd_application_on_the_control_plane(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tracking id leads to the Application the API server holds (Argo CD's CRD, its schema
    left open); a Helm Application is refused, a missing one is named."""
    from microapp_operator.runtime.kube import Kube
    from tests.helpers import KUBECONFIG, kubectl

    kubectl("apply", "-f", "-", input=APPLICATION_CRD)
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/applications.argoproj.io")

    def application(name: str, source: dict) -> dict:
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"source": source, "destination": {"namespace": namespace}},
        }

    plain = {"repoURL": "https://gitea.example.com/fin/apps.git", "path": "teams/fin", "targetRevision": "main"}
    kubectl("apply", "-f", "-", input=application("fin", plain))
    kubectl("apply", "-f", "-", input=application("chart", {**plain, "helm": {"valueFiles": ["v.yaml"]}}))

    def tracked(app: str) -> dict:
        tid = f"{namespace}_{app}:microapp.dev/MicroApp:{namespace}/expenses"
        return {"metadata": {"name": "expenses", "namespace": namespace, "annotations": {gp.TRACKING_ID: tid}}}

    monkeypatch.setenv("KUBECONFIG", str(KUBECONFIG))
    kube = await Kube.connect()
    try:
        target = await gitpush.application_target(kube, tracked("fin"))
        assert target == gp.Target(plain["repoURL"], "main", "teams/fin", f"argocd:{namespace}/fin")
        with pytest.raises(gp.Refused, match="renders a Helm chart"):
            await gitpush.application_target(kube, tracked("chart"))
        with pytest.raises(gp.Refused, match=f"Application {namespace}/gone .* is not there"):
            await gitpush.application_target(kube, tracked("gone"))
        assert await gitpush.application_target(kube, {"metadata": {"name": "x", "namespace": namespace}}) is None
    finally:
        await kube.close()
        kubectl("delete", "crd", "applications.argoproj.io", "--wait=false", check=False)
