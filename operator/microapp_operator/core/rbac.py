"""Least-privilege RBAC for one app, from its ``microapp.dev/editors``/``viewers`` (pure).

Subjects are parsed strictly: ``user:NAME``, ``group:NAME``, ``serviceaccount:NS:NAME``,
comma-separated. Refused: ``system:`` users and groups, wildcards, groups of other teams
(unless the policy allows), service accounts outside the team's namespaces. The Roles name
the app's own objects (``resourceNames``); Pods are the exception RBAC cannot express (their
names are generated): editors may read Pods and their logs in the namespace, viewers may not.
Secrets are never granted.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..api import types as api
from ..api.kinds import RESOURCES

RBAC_API = "rbac.authorization.k8s.io"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
_K8S_NAME = re.compile(api.DNS_LABEL_PATTERN)

READ = ["get", "list", "watch"]


@dataclass(frozen=True)
class Subject:
    kind: str  # User | Group | ServiceAccount
    name: str
    namespace: str | None = None

    def wire(self) -> dict[str, str]:
        if self.kind == "ServiceAccount":
            return {"kind": "ServiceAccount", "name": self.name, "namespace": self.namespace or ""}
        return {"kind": self.kind, "name": self.name, "apiGroup": RBAC_API}


def _matches(namespace: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(namespace, p) for p in patterns)


def parse(
    value: str | None, *, key: str, team: api.Team | None, policy: api.PlatformPolicySpec
) -> tuple[list[Subject], list[str]]:
    """Subjects of one annotation and every problem with it, each naming the annotation."""
    subjects: list[Subject] = []
    problems: list[str] = []
    other_groups = {g for t in policy.teams or [] if team is None or t.name != team.name for g in t.groups or []}
    own_groups = set(team.groups or []) if team else set()
    cross_ok = bool(policy.guardrails and policy.guardrails.allow_cross_team_groups)
    for raw in (value or "").split(","):
        item = raw.strip()
        if not item:
            continue
        where = f"metadata.annotations.{key}: {item!r}"
        if "*" in item:
            problems.append(f"{where}: wildcards are not allowed; name each user or group")
            continue
        kind, _, rest = item.partition(":")
        if kind == "serviceaccount":
            ns, _, name = rest.partition(":")
            if not (_K8S_NAME.match(ns) and _K8S_NAME.match(name)):
                problems.append(f"{where}: write serviceaccount:NAMESPACE:NAME")
            elif team is not None and not _matches(ns, team.namespaces or []):
                problems.append(f"{where}: namespace {ns!r} is not one of team {team.name}'s namespaces")
            else:
                subjects.append(Subject("ServiceAccount", name, ns))
            continue
        if kind not in ("user", "group") or not _NAME.match(rest) and not rest.startswith("system:"):
            problems.append(f"{where}: write user:NAME, group:NAME or serviceaccount:NAMESPACE:NAME")
            continue
        if rest.startswith("system:"):
            problems.append(f"{where}: system: users and groups cannot be granted access through a MicroApp")
            continue
        if kind == "group" and rest in other_groups and rest not in own_groups and not cross_ok:
            problems.append(f"{where}: group {rest!r} belongs to another team; grant your own team's groups or users")
            continue
        subjects.append(Subject("User" if kind == "user" else "Group", rest))
    return subjects, problems


def objects(
    *,
    app: str,
    namespace: str,
    children: Iterable[Mapping[str, Any]],
    editors: list[Subject],
    viewers: list[Subject],
    token: bool,
) -> list[dict[str, Any]]:
    """ServiceAccount, and per non-empty audience a Role and a RoleBinding."""
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": app, "namespace": namespace},
            "automountServiceAccountToken": token,
        }
    ]
    by_resource: dict[tuple[str, str], list[str]] = {}
    for obj in children:
        res = RESOURCES.get((obj["apiVersion"], obj["kind"]))
        if res is not None and res.grantable:
            by_resource.setdefault((res.group, res.plural), []).append(obj["metadata"]["name"])
    child_rules = [
        {"apiGroups": [g], "resources": [r], "resourceNames": sorted(set(names)), "verbs": READ}
        for (g, r), names in sorted(by_resource.items())
    ]
    app_rule = {"apiGroups": [api.GROUP], "resources": ["microapps"], "resourceNames": [app]}
    roles = {
        "editor": (
            editors,
            [
                {**app_rule, "verbs": READ + ["update", "patch"]},
                {**app_rule, "resources": ["microapps/status"], "verbs": READ},
                *child_rules,
                {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": READ},
            ],
        ),
        "viewer": (viewers, [{**app_rule, "verbs": READ}, *child_rules]),
    }
    for audience, (subjects, rules) in roles.items():
        if not subjects:
            continue
        name = f"{app}-{audience}"
        out.append(
            {
                "apiVersion": f"{RBAC_API}/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": namespace},
                "rules": rules,
            }
        )
        out.append(
            {
                "apiVersion": f"{RBAC_API}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": f"{name}s", "namespace": namespace},
                "roleRef": {"apiGroup": RBAC_API, "kind": "Role", "name": name},
                "subjects": [s.wire() for s in dict.fromkeys(subjects)],
            }
        )
    return out
