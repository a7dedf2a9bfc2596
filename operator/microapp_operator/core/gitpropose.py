"""Propose a change to a MicroApp through Git (pure): where to push, which file, what to write.

A team that ships through GitOps reviews every change in its forge, so the portal proposes
instead of applying: it writes the MicroApp's file on a new branch and links the forge's
compare or merge-request page. Every decision is here and has no side effects; the git
commands are in ``runtime.gitpush``.

Where to push comes from one of two sources:

- an Argo CD tracking annotation on the app (``argocd.argoproj.io/tracking-id``): the
  Application's ``spec.source`` ``repoURL``, ``path`` and ``targetRevision``. Multi-source,
  Helm and Kustomize sources are refused: the portal edits plain YAML only;
- ``PlatformPolicy.spec.teams[].git``: a repository, branch and folder per team.

Only a plain-YAML file that holds exactly this MicroApp (kind, namespace and name) and nothing
else is edited. A Helm chart or a Kustomize overlay on the path, a file shared with other
objects, or two files holding the app are refused with the reason, so a proposal never
rewrites what the portal does not understand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import yaml

from ..api import types as api

BRANCH_PREFIX = "microapp/"
TRACKING_ID = "argocd.argoproj.io/tracking-id"
# Written by the API server, the operator or Argo CD, never by a person: not in a proposed file.
_DROP_META = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
)
_DROP_ANN = (TRACKING_ID, "kubectl.kubernetes.io/last-applied-configuration")
_HELM = ("Chart.yaml",)
_KUSTOMIZE = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")

Forge = Literal["github", "gitlab", "gitea"]
Operation = Literal["create", "edit", "delete"]


class Refused(ValueError):
    """A proposal the portal will not make; the message is the reason, for the user."""


@dataclass(frozen=True)
class Target:
    """Where a proposal goes: repository, base branch (None: the remote's default) and folder."""

    repo_url: str
    branch: str | None
    path: str
    source: str  # "argocd:<namespace>/<application>" or "policy:<team>", for the page
    credentials_secret: str | None = None
    forge: Forge | None = None


@dataclass(frozen=True)
class Located:
    """The file a proposal writes (or removes) and whether it exists already."""

    path: str
    exists: bool


# ---------------------------------------------------------------------------------------
# Where to push
# ---------------------------------------------------------------------------------------


def application_of(annotations: Mapping[str, str], *, namespace: str, name: str) -> tuple[str | None, str] | None:
    """(Application namespace or None for Argo CD's own, Application name) from the tracking id.

    None when the app carries no tracking id. A tracking id that names another object (copied
    metadata) is refused: it does not say where this app comes from. No side effects.
    """
    raw = annotations.get(TRACKING_ID)
    if not raw:
        return None
    parts = raw.split(":")
    if len(parts) != 3 or "/" not in parts[1] or "/" not in parts[2]:
        raise Refused(f"annotation {TRACKING_ID}={raw!r} is not <app>:<group>/<kind>:<namespace>/<name>")
    app, groupkind, nsname = parts
    group, kind = groupkind.split("/", 1)
    ns, obj = nsname.split("/", 1)
    if group != api.GROUP or kind != "MicroApp" or obj != name or ns not in (namespace, ""):
        raise Refused(f"annotation {TRACKING_ID}={raw!r} names another object than MicroApp {namespace}/{name}")
    # Argo CD's "apps in any namespace" writes <namespace>_<name>.
    if "_" in app:
        app_ns, app_name = app.split("_", 1)
        return app_ns, app_name
    return None, app


def target_from_application(application: Mapping[str, Any]) -> Target:
    """The Target of an Argo CD Application, or Refused with why it cannot be proposed to. No side effects."""
    meta = application.get("metadata") or {}
    label = f"argocd:{meta.get('namespace', '')}/{meta.get('name', '')}"
    spec = application.get("spec") or {}
    if spec.get("sources"):
        raise Refused(f"Application {label[7:]} has several sources (spec.sources): propose the change in Git by hand")
    source = spec.get("source") or {}
    if source.get("chart") or source.get("helm"):
        raise Refused(f"Application {label[7:]} renders a Helm chart: change its values in Git by hand")
    if source.get("kustomize"):
        raise Refused(f"Application {label[7:]} renders with Kustomize: change the overlay in Git by hand")
    if source.get("plugin"):
        raise Refused(f"Application {label[7:]} renders with a config management plugin: change it in Git by hand")
    repo = source.get("repoURL")
    if not repo:
        raise Refused(f"Application {label[7:]} has no spec.source.repoURL")
    revision = source.get("targetRevision") or None
    if revision == "HEAD":
        revision = None
    if revision is not None and (_SHA.match(revision) or not _branch_like(revision)):
        raise Refused(f"Application {label[7:]} follows {revision!r}, not a branch: a proposal needs a branch")
    return Target(repo_url=repo, branch=revision, path=_clean_path(source.get("path") or "."), source=label)


def target_from_policy(policy: api.PlatformPolicySpec, team: str) -> Target | None:
    """The team's Git target from PlatformPolicy.spec.teams[].git, or None. No side effects."""
    for t in policy.teams or []:
        if t.name == team and t.git is not None:
            g = t.git
            return Target(
                repo_url=g.repo_url,
                branch=g.branch,
                path=_clean_path(g.path or "."),
                source=f"policy:{team}",
                credentials_secret=g.credentials_secret,
                forge=g.forge,
            )
    return None


def _branch_like(rev: str) -> bool:
    # A semver range or a tag with dots-and-digits only is a tag, not a branch.
    return not re.match(r"^v?[0-9]+(\.[0-9x*]+)*$", rev) and "*" not in rev and " " not in rev


def _clean_path(path: str) -> str:
    parts = [p for p in path.strip().split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise Refused(f"path {path!r} leaves the repository")
    return "/".join(parts)


# ---------------------------------------------------------------------------------------
# Branch and links
# ---------------------------------------------------------------------------------------


def branch_name(*, namespace: str, name: str, short_id: str) -> str:
    """``microapp/<namespace>/<name>-<short id>``. No side effects."""
    branch = f"{BRANCH_PREFIX}{namespace}/{name}-{short_id}"
    check_branch(branch)
    return branch


def check_branch(branch: str) -> None:
    """Refuse any branch outside ``microapp/*``: the portal never pushes to a team's own branches."""
    if not branch.startswith(BRANCH_PREFIX) or ".." in branch or branch.endswith("/") or branch == BRANCH_PREFIX:
        raise Refused(f"branch {branch!r} is outside {BRANCH_PREFIX}*: the portal pushes only there")
    if re.search(r"[\s~^:?*\[\\]|@\{|//|\.lock$", branch):
        raise Refused(f"branch {branch!r} is not a valid Git branch name")


def web_base(remote: str) -> tuple[str, str]:
    """(https://host, owner/…/repo) from an https, ssh or scp-like remote. No side effects."""
    remote = remote.strip()
    scp = re.match(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$", remote)
    if "://" not in remote and scp:
        host, path = scp.group(1), scp.group(2)
    else:
        parts = urlsplit(remote)
        if parts.scheme not in ("https", "http", "ssh", "git") or not parts.hostname:
            raise Refused(f"repository URL {remote!r} is not an https, ssh or git remote: no forge link")
        host = parts.hostname
        if parts.scheme in ("https", "http") and parts.port:
            host = f"{host}:{parts.port}"
        path = parts.path
        if parts.scheme == "http":
            return f"http://{host}", _repo_path(path)
    return f"https://{host}", _repo_path(path)


def _repo_path(path: str) -> str:
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    if path.count("/") < 1:
        raise Refused(f"repository path {path!r} has no owner: no forge link")
    return path


def forge_of(remote: str, forge: Forge | None = None) -> Forge:
    """The forge named in the policy, else guessed from the host (github/gitlab in it), else Gitea/Forgejo."""
    if forge is not None:
        return forge
    host = web_base(remote)[0].lower()
    if "github" in host:
        return "github"
    if "gitlab" in host:
        return "gitlab"
    return "gitea"


def compare_url(remote: str, *, base: str, branch: str, forge: Forge | None = None) -> str:
    """The forge's page that opens a pull/merge request from ``branch`` into ``base``. No side effects."""
    site, repo = web_base(remote)
    b, h = quote(base, safe="/"), quote(branch, safe="/")
    kind = forge_of(remote, forge)
    if kind == "github":
        return f"{site}/{repo}/compare/{b}...{h}?expand=1"
    if kind == "gitlab":
        return (
            f"{site}/{repo}/-/merge_requests/new"
            f"?merge_request%5Bsource_branch%5D={quote(branch, safe='')}"
            f"&merge_request%5Btarget_branch%5D={quote(base, safe='')}"
        )
    return f"{site}/{repo}/compare/{b}...{h}"


# ---------------------------------------------------------------------------------------
# Which file, and what goes in it
# ---------------------------------------------------------------------------------------


def locate(
    files: Mapping[str, str],
    *,
    folder: str,
    namespace: str,
    name: str,
    operation: Operation,
    default_namespace: str | None = None,
) -> Located:
    """The one file to write or remove, from the repository's files (path -> text). No side effects.

    ``files`` holds every file of the repository (or at least the folder and the marker files
    above it); ``default_namespace`` is the namespace a document without one lands in (an
    Argo CD Application's destination).
    """
    folder = _clean_path(folder)
    _refuse_renderers(files, folder)
    inside = {p: t for p, t in files.items() if _under(p, folder) and p.endswith((".yaml", ".yml", ".json"))}
    holders = []
    for path, text in sorted(inside.items()):
        docs = _documents(path, text)
        if any(_is_this_app(d, namespace=namespace, name=name, default=default_namespace) for d in docs):
            if len(docs) > 1:
                raise Refused(
                    f"{path} holds MicroApp {namespace}/{name} and {len(docs) - 1} other object(s): "
                    "edit it by hand or move the app to its own file"
                )
            holders.append(path)
    if len(holders) > 1:
        raise Refused(f"MicroApp {namespace}/{name} is in several files ({', '.join(holders)}): keep one")
    if holders:
        if operation == "create":
            raise Refused(f"MicroApp {namespace}/{name} is already in {holders[0]}: edit it instead")
        return Located(path=holders[0], exists=True)
    if operation != "create":
        where = folder or "the repository root"
        raise Refused(f"no plain-YAML file in {where} holds MicroApp {namespace}/{name}: nothing to {operation}")
    path = f"{folder}/{name}.yaml" if folder else f"{name}.yaml"
    if path in files:
        raise Refused(f"{path} exists and holds something else: rename it or choose another folder")
    return Located(path=path, exists=False)


def _under(path: str, folder: str) -> bool:
    return not folder or path.startswith(folder + "/")


def _refuse_renderers(files: Mapping[str, str], folder: str) -> None:
    # A marker in the folder, above it (it renders this folder) or below it (a chart inside).
    parts = folder.split("/") if folder else []
    above = {"/".join(parts[:i]) for i in range(len(parts) + 1)}
    for path in sorted(files):
        head, _, base = path.rpartition("/")
        if base in _HELM + _KUSTOMIZE and (head in above or _under(path, folder)):
            what = "a Helm chart" if base in _HELM else "Kustomize"
            raise Refused(f"{path} makes {folder or 'the repository'} {what}: the portal edits plain YAML only")


def _documents(path: str, text: str) -> list[Any]:
    if "{{" in text:
        raise Refused(f"{path} holds template directives ({{{{ }}}}): the portal edits plain YAML only")
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise Refused(f"{path} is not valid YAML ({e.__class__.__name__}): fix it first") from None


def _is_this_app(doc: Any, *, namespace: str, name: str, default: str | None) -> bool:
    if not isinstance(doc, dict) or doc.get("kind") != "MicroApp":
        return False
    if not str(doc.get("apiVersion", "")).startswith(api.GROUP + "/"):
        return False
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace") or default
    return meta.get("name") == name and ns == namespace


def manifest(body: Mapping[str, Any]) -> str:
    """The MicroApp as a person would keep it in Git: no status, no server-written metadata. No side effects."""
    meta = dict(body.get("metadata") or {})
    for key in _DROP_META:
        meta.pop(key, None)
    ann = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _DROP_ANN}
    if ann:
        meta["annotations"] = ann
    else:
        meta.pop("annotations", None)
    out = {"apiVersion": body.get("apiVersion", f"{api.GROUP}/{api.VERSION}"), "kind": "MicroApp", "metadata": meta}
    if "spec" in body:
        out["spec"] = body["spec"]
    return yaml.safe_dump(out, sort_keys=False, default_flow_style=False)


def commit_message(*, operation: Operation, namespace: str, name: str) -> str:
    verb = {"create": "Create", "edit": "Change", "delete": "Delete"}[operation]
    return f"{verb} MicroApp {namespace}/{name}\n\nProposed from the microapp portal."


def description(
    *,
    operation: Operation,
    namespace: str,
    name: str,
    currency: str,
    monthly_before: str | None,
    monthly_after: str | None,
    findings: list[str],
    author: str,
) -> str:
    """The pull/merge request's text: what changes, the cost delta and the policy findings. No side effects."""
    from decimal import Decimal

    before = Decimal(monthly_before or "0")
    after = Decimal(monthly_after or "0") if operation != "delete" else Decimal(0)
    delta = after - before
    sign = "+" if delta >= 0 else "-"
    lines = [
        f"{commit_message(operation=operation, namespace=namespace, name=name).splitlines()[0]}, proposed by {author}.",
        "",
        "Nothing is live until this is merged and synced.",
        "",
        f"Monthly cost: {before:.2f} {currency} -> {after:.2f} {currency} ({sign}{abs(delta):.2f} {currency})",
        "",
    ]
    if findings:
        lines += ["Policy findings:", *[f"- {f}" for f in findings]]
    else:
        lines.append("Policy findings: none")
    return "\n".join(lines) + "\n"


_FAILURES = (
    (
        (
            "terminal prompts disabled",
            "Authentication failed",
            "401",
            "403",
            "Permission denied",
            "could not read Username",
        ),
        "the Git host refused the credential: check the Secret the platform team named for this repository",
    ),
    (
        ("does not appear to be a git repository", "Repository not found", "not found", "404", "does not exist"),
        "the repository is not there (gone, renamed, or hidden from this credential): check the repository URL",
    ),
    (
        ("Could not resolve host", "Connection refused", "timed out", "Network is unreachable", "Failed to connect"),
        "the Git host cannot be reached from the portal: check the URL and the portal's egress",
    ),
    (("rejected", "protected branch", "pre-receive hook declined"), "the Git host refused the push"),
)


def git_failure(step: str, output: str) -> str:
    """A plain reason for a failed git command, with git's own last line. No side effects."""
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output")
    if step == "clone" and "Remote branch" in output and "not found" in output:
        return f"the base branch is not in the repository: check the branch (git: {last})"
    for needles, reason in _FAILURES:
        if any(n in output for n in needles):
            return f"git {step} failed: {reason} (git: {last})"
    return f"git {step} failed: {last}"
