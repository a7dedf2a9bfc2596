"""Propose a MicroApp change through Git: clone, write the one file, commit, push a ``microapp/*`` branch.

Git through the ``git`` command line, not a Python library: Debian's ``git`` package is one
``apt-get install`` in the image's Debian base (``which git`` is ``/usr/bin/git`` on the build
machines), it speaks every transport and credential form the forges accept (https with a token
or HTTP basic, ssh, file), and it adds no Python dependency to keep patched. Every decision
(which file, which branch, the link, the text) is in ``core.gitpropose``; this module only runs
commands in a temporary directory that is removed afterwards.

The credential never appears in an argument list, a log line or an error: it goes to git as an
``Authorization`` header through ``GIT_CONFIG_*`` environment variables (read only by this
process's children), and every message from git is scrubbed of it before it is shown.
A failure keeps what the user wanted: :class:`ProposalFailed` carries the file's content.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import gitpropose as gp
from .kube import Kube, KubeError

GIT_TIMEOUT = 120.0  # seconds per git command: a clone of a large repository over a slow link
_MAX_FILE = 1_000_000  # bytes: a MicroApp file is small; larger YAML files are not read


@dataclass(frozen=True)
class Credential:
    """HTTP credential for the push: a token (username defaults to x-access-token) or basic auth."""

    password: str
    username: str = "x-access-token"

    def __repr__(self) -> str:  # never print the secret
        return f"Credential(username={self.username!r}, password=<hidden>)"


@dataclass(frozen=True)
class Proposal:
    """What was pushed: the branch, the commit, the file and where to open the review."""

    branch: str
    commit: str
    base: str
    path: str
    compare_url: str | None
    description: str
    content: str | None  # the file's new text (None for a delete)


class ProposalFailed(Exception):
    """The proposal was not pushed; ``content`` is what the user wanted, to show again."""

    def __init__(self, reason: str, *, content: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.content = content


def credential_from_secret(secret: Mapping[str, Any], *, name: str = "") -> Credential:
    """A Credential from a Secret's data: key ``token``, or keys ``username`` and ``password``."""
    data = {k: base64.b64decode(v).decode().strip() for k, v in (secret.get("data") or {}).items()}
    data.update({k: str(v).strip() for k, v in (secret.get("stringData") or {}).items()})
    if data.get("token"):
        return Credential(password=data["token"], username=data.get("username") or "x-access-token")
    if data.get("username") and data.get("password"):
        return Credential(password=data["password"], username=data["username"])
    raise ProposalFailed(
        f"Secret {name or '(unnamed)'} has neither a token key nor username and password keys: "
        "add one (kubectl create secret generic ... --from-literal=token=...)",
        content=None,
    )


async def application_target(
    kube: Kube, app: Mapping[str, Any], *, argocd_namespace: str = "argocd"
) -> gp.Target | None:
    """The Target from the app's Argo CD tracking annotation (reads that Application), or None.

    Raises ``gitpropose.Refused`` with the reason when the Application is not there, may not be
    read, or is not a source the portal can propose to."""
    meta = app.get("metadata") or {}
    found = gp.application_of(meta.get("annotations") or {}, namespace=meta["namespace"], name=meta["name"])
    if found is None:
        return None
    ns, name = found[0] or argocd_namespace, found[1]
    try:
        application = await kube.request("GET", f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/{name}")
    except KubeError as exc:
        if exc.status == 404:
            raise gp.Refused(f"Argo CD Application {ns}/{name} (from the app's tracking id) is not there") from None
        if exc.status == 403:
            raise gp.Refused(f"the portal may not read Argo CD Application {ns}/{name}: {exc.message}") from None
        raise
    return gp.target_from_application(application)


async def propose(
    body: Mapping[str, Any],
    *,
    target: gp.Target,
    operation: gp.Operation,
    author_name: str,
    author_email: str,
    credential: Credential | None = None,
    committer_name: str = "microapp portal",
    committer_email: str = "portal@microapp.dev",
    description: str = "",
    default_namespace: str | None = None,
) -> Proposal:
    """Write ``body`` (or remove its file for a delete) on a new ``microapp/*`` branch and push it.

    Raises ProposalFailed with the reason and the content the user wanted; nothing is pushed then.
    """
    meta = body.get("metadata") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    content = None if operation == "delete" else gp.manifest(body)
    env = _env(credential, author_name, author_email, committer_name, committer_email)
    secret = credential.password if credential else None
    with tempfile.TemporaryDirectory(prefix="microapp-propose-") as tmp:
        env["HOME"] = tmp  # no user or system git configuration leaks in
        repo = Path(tmp) / "repo"
        try:
            base = await _clone(target, repo, env, secret)
            located = gp.locate(
                _files(repo, target.path),
                folder=target.path,
                namespace=namespace,
                name=name,
                operation=operation,
                default_namespace=default_namespace,
            )
            file = repo / located.path
            if content is None:
                await _git(["rm", "-q", "--", located.path], repo, env, secret)
            else:
                if located.exists and file.read_text() == content:
                    raise gp.Refused(f"{located.path} already holds this MicroApp: nothing to propose")
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(content)
                await _git(["add", "--", located.path], repo, env, secret)
            message = gp.commit_message(operation=operation, namespace=namespace, name=name)
            await _git(["commit", "-q", "--no-verify", "-m", message], repo, env, secret)
            commit = (await _git(["rev-parse", "HEAD"], repo, env, secret)).strip()
            branch = gp.branch_name(namespace=namespace, name=name, short_id=commit[:8])
            gp.check_branch(branch)
            await _git(["push", "-q", "origin", f"HEAD:refs/heads/{branch}"], repo, env, secret)
        except gp.Refused as e:
            raise ProposalFailed(str(e), content=content) from None
    try:
        link = gp.compare_url(target.repo_url, base=base, branch=branch, forge=target.forge)
    except gp.Refused:
        link = None  # a file:// or local remote has no web page
    return Proposal(branch, commit, base, located.path, link, description, content)


def _env(cred: Credential | None, author: str, email: str, committer: str, committer_email: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SSL_CERT_FILE", "TZ")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=author,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=committer,
        GIT_COMMITTER_EMAIL=committer_email,
        GIT_CONFIG_COUNT="2",
        GIT_CONFIG_KEY_0="commit.gpgsign",
        GIT_CONFIG_VALUE_0="false",
        GIT_CONFIG_KEY_1="protocol.ext.allow",
        GIT_CONFIG_VALUE_1="never",
    )
    if cred is not None:
        basic = base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()
        env.update(GIT_CONFIG_COUNT="3", GIT_CONFIG_KEY_2="http.extraHeader")
        env["GIT_CONFIG_VALUE_2"] = f"Authorization: Basic {basic}"
    return env


async def _clone(target: gp.Target, repo: Path, env: dict[str, str], secret: str | None) -> str:
    url = target.repo_url
    if "://" not in url and ":" not in url.split("/")[0]:
        url = "file://" + os.path.abspath(url)  # a local path: --depth needs a URL
    args = ["clone", "-q", "--depth", "1", "--no-tags", "--single-branch"]
    if target.branch:
        args += ["--branch", target.branch]
    await _git([*args, "--", url, str(repo)], repo.parent, env, secret)
    return (await _git(["rev-parse", "--abbrev-ref", "HEAD"], repo, env, secret)).strip()


def _files(repo: Path, folder: str) -> dict[str, str]:
    """Every tracked path; the text of the YAML and JSON files in the folder (what locate reads)."""
    out: dict[str, str] = {}
    for path in repo.rglob("*"):
        rel = path.relative_to(repo).as_posix()
        if rel.startswith(".git/") or rel == ".git" or not path.is_file():
            continue
        inside = not folder or rel.startswith(folder + "/")
        wanted = inside and rel.endswith((".yaml", ".yml", ".json")) and path.stat().st_size <= _MAX_FILE
        out[rel] = path.read_text(errors="replace") if wanted else ""
    return out


async def _git(args: list[str], cwd: Path, env: Mapping[str, str], secret: str | None) -> str:
    try:
        proc = await asyncio.create_subprocess_exec(
            "git", *args, cwd=cwd, env=dict(env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except FileNotFoundError:
        raise gp.Refused("the git command is not installed where the portal runs") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise gp.Refused(f"git {args[0]} took longer than {GIT_TIMEOUT:.0f} s: is the Git host reachable?") from None
    if proc.returncode != 0:
        text = _scrub(err.decode(errors="replace").strip() or out.decode(errors="replace").strip(), secret)
        raise gp.Refused(gp.git_failure(args[0], text or f"exit status {proc.returncode}"))
    return out.decode(errors="replace")


def _scrub(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "<hidden>")
    # https://user:password@host in a remote's URL
    return re.sub(r"(://[^/@\s:]+:)[^@/\s]+@", r"\1<hidden>@", text)
