"""Rules every rendered object meets before anything is applied (pure).

A template is hostile until checked: only the kinds its runtime allows, in the app's own
namespace, named after the app, with the standard labels and the MicroApp as controller
owner, and Pods that pass Pod Security ``restricted``. Missing security settings are filled
in; contradicting ones are refused (never silently changed), all problems listed at once.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterable, Iterator, Mapping

from ..api import types as api
from ..api.kinds import KNATIVE_SERVICE, MANAGED_BY
from .render import RenderError


# (apiVersion, kind) allowed per template runtime.
ALLOWED_KINDS: dict[str, frozenset[tuple[str, str]]] = {
    "container": frozenset({("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "ConfigMap"),
                            ("networking.k8s.io/v1", "Ingress"),
                            ("autoscaling/v2", "HorizontalPodAutoscaler"),
                            ("policy/v1", "PodDisruptionBudget")}),
    "serverless": frozenset({KNATIVE_SERVICE.key, ("v1", "ConfigMap")}),
    "job": frozenset({("batch/v1", "CronJob"), ("v1", "ConfigMap")}),
}

# Labels and annotations a template must not set: Argo CD would take the child for its own.
_FORBIDDEN_KEY = re.compile(r"^(app\.kubernetes\.io/instance|argocd\.argoproj\.io/.*)$")
_DNS_LABEL = re.compile(api.DNS_LABEL_PATTERN)
_ALLOWED_VOLUMES = {"configMap", "secret", "emptyDir", "projected", "downwardAPI",
                    "persistentVolumeClaim", "ephemeral", "csi"}


def labels(*, app: str, team: str) -> dict[str, str]:
    """The labels every child carries (DESIGN.md)."""
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": MANAGED_BY,
            "app.kubernetes.io/part-of": app, api.NAME_LABEL: app, api.TEAM_LABEL: team}


def selector(app: str) -> dict[str, str]:
    """Pod selector of an app: one stable label (Deployment selectors are immutable)."""
    return {api.NAME_LABEL: app}


def owner_reference(*, app: str, uid: str) -> dict[str, Any]:
    return {"apiVersion": api.API_VERSION, "kind": "MicroApp", "name": app, "uid": uid,
            "controller": True, "blockOwnerDeletion": True}


def pod_specs(obj: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, pod spec) of every Pod template inside a rendered object."""
    kind = (obj.get("apiVersion"), obj.get("kind"))
    spec = obj.get("spec") or {}
    if kind in {("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
                ("batch/v1", "Job"), KNATIVE_SERVICE.key}:
        path, pod = "spec.template.spec", (spec.get("template") or {}).get("spec")
    elif kind == ("batch/v1", "CronJob"):
        path = "spec.jobTemplate.spec.template.spec"
        pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    else:
        return
    if isinstance(pod, dict):
        yield path, pod


def complete(docs: list[dict[str, Any]], *, app: str, namespace: str, team: str, runtime: str,
             security: api.TemplateSecurity | None, uid: str | None, copy_docs: bool = True,
             reserved: Iterable[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """Checked and completed objects; RenderError listing every problem otherwise.

    ``copy_docs=False`` completes ``docs`` in place: the pipeline passes freshly rendered
    documents nobody else holds, and a deep copy is an eighth of the render cost.
    ``reserved``: (kind, name) of objects the operator adds later; a template may not use them."""
    problems: list[str] = []
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set(reserved)
    for i, doc in enumerate(docs):
        obj = copy.deepcopy(doc) if copy_docs else doc
        where = f"{obj.get('kind', 'object')} #{i + 1}"
        problems += _check_identity(obj, where, app=app, namespace=namespace, runtime=runtime)
        key = (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name")))
        if key in seen:
            problems.append(f"{where}: a second {key[0]} named {key[1]!r}")
        seen.add(key)
        stamp(obj, app=app, namespace=namespace, team=team, uid=uid)
        for path, pod in pod_specs(obj):
            problems += [f"{where} {path}: {p}" for p in secure_pod(pod, app=app, security=security)]
            tmpl_meta = pod_template_metadata(obj)
            if tmpl_meta is not None:
                tmpl_meta["labels"] = {**(tmpl_meta.get("labels") or {}), **labels(app=app, team=team)}
        out.append(obj)
    if problems:
        raise RenderError("the template rendered objects that break the platform's rules: "
                          + "; ".join(problems))
    return out


def stamp(obj: dict[str, Any], *, app: str, namespace: str, team: str, uid: str | None) -> dict[str, Any]:
    """Namespace, standard labels and the MicroApp as controller owner, in place."""
    meta = obj.setdefault("metadata", {})
    meta["namespace"] = namespace
    meta["labels"] = {**(meta.get("labels") or {}), **labels(app=app, team=team)}
    if uid:
        meta["ownerReferences"] = [owner_reference(app=app, uid=uid)]
    return obj


def pod_template_metadata(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The metadata of the Pod template inside a workload (created empty if absent)."""
    spec = obj.get("spec") or {}
    template = spec.get("template")
    if obj.get("kind") == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    if isinstance(template, dict):
        return template.setdefault("metadata", {})
    return None


def _check_identity(obj: dict[str, Any], where: str, *, app: str, namespace: str, runtime: str) -> list[str]:
    problems = []
    kind = (obj.get("apiVersion"), obj.get("kind"))
    if kind not in ALLOWED_KINDS.get(runtime, frozenset()):
        allowed = ", ".join(sorted(f"{k} ({v})" for v, k in ALLOWED_KINDS.get(runtime, ())))
        problems.append(f"{where}: {kind[1]} ({kind[0]}) is not allowed for runtime {runtime}; allowed: {allowed}")
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return problems + [f"{where}: has no metadata"]
    name = meta.get("name")
    if not isinstance(name, str) or not (name == app or name.startswith(app + "-")):
        problems.append(f"{where}: name {name!r} must be {app!r} or start with {app + '-'!r}")
    elif len(name) > 63 or not _DNS_LABEL.match(name):
        problems.append(f"{where}: name {name!r} is not a DNS label (a-z, 0-9, '-', at most 63)")
    if meta.get("namespace") not in (None, namespace):
        problems.append(f"{where}: namespace {meta['namespace']!r} is not the app's namespace {namespace!r}")
    for field in ("generateName", "ownerReferences", "finalizers"):
        if field in meta:
            problems.append(f"{where}: metadata.{field} is set by the operator, not by templates")
    for field in ("labels", "annotations"):
        bad = [k for k in (meta.get(field) or {}) if _FORBIDDEN_KEY.match(str(k))]
        if bad:
            problems.append(f"{where}: metadata.{field} must not set {', '.join(bad)} (Argo CD tracking keys)")
    return problems


def secure_pod(pod: dict[str, Any], *, app: str, security: api.TemplateSecurity | None) -> list[str]:
    """Fill Pod security defaults in place; return what contradicts them. Only touches ``pod``."""
    writable = bool(security and security.writable_root_filesystem)
    token = bool(security and security.service_account_token)
    problems = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            problems.append(f"{field} is not allowed")
    sa = pod.get("serviceAccountName", pod.get("serviceAccount"))
    if sa not in (None, app):
        problems.append(f"serviceAccountName {sa!r} is not allowed; apps run as their own ServiceAccount {app!r}")
    pod.setdefault("serviceAccountName", app)  # the app's own ServiceAccount, rendered with it
    if pod.get("automountServiceAccountToken") and not token:
        problems.append("automountServiceAccountToken: true needs the template's security.serviceAccountToken")
    pod.setdefault("automountServiceAccountToken", token)
    psc = pod.setdefault("securityContext", {})
    if psc.get("runAsNonRoot") is False or psc.get("runAsUser") == 0:
        problems.append("Pods must not run as root")
    psc["runAsNonRoot"] = True
    if (psc.get("seccompProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
        problems.append("seccompProfile must be RuntimeDefault")
    psc.setdefault("seccompProfile", {"type": "RuntimeDefault"})
    for vol in pod.get("volumes") or []:
        kinds = set(vol) - {"name"}
        if not kinds <= _ALLOWED_VOLUMES:
            problems.append(f"volume {vol.get('name')!r} of type {', '.join(sorted(kinds - _ALLOWED_VOLUMES))} is not allowed")
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in pod.get(group) or []:
            problems += [f"{group} {c.get('name', '?')!r}: {p}" for p in _secure_container(c, writable)]
    return problems


def _secure_container(c: dict[str, Any], writable: bool) -> list[str]:
    problems = []
    sc = c.setdefault("securityContext", {})
    if sc.get("privileged"):
        problems.append("privileged is not allowed")
    if sc.get("allowPrivilegeEscalation"):
        problems.append("allowPrivilegeEscalation is not allowed")
    sc["allowPrivilegeEscalation"] = False
    if sc.get("runAsNonRoot") is False or sc.get("runAsUser") == 0:
        problems.append("containers must not run as root")
    caps = sc.setdefault("capabilities", {})
    if caps.get("add"):
        problems.append(f"adding capabilities ({', '.join(map(str, caps['add']))}) is not allowed")
    caps["drop"] = ["ALL"]
    if sc.get("readOnlyRootFilesystem") is False and not writable:
        problems.append("a writable root filesystem needs the template's security.writableRootFilesystem")
    sc.setdefault("readOnlyRootFilesystem", not writable)
    if any(p.get("hostPort") for p in c.get("ports") or [] if isinstance(p, dict)):
        problems.append("hostPort is not allowed")
    return problems
