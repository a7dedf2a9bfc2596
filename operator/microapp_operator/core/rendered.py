"""Rules every rendered object meets before anything is applied (pure).

A template is hostile until checked: only the kinds its runtime allows, in the app's own
namespace, named after the app, with the standard labels and the MicroApp as controller
owner, and Pods that pass Pod Security ``restricted``. Missing security settings are filled
in; contradicting ones are refused (never silently changed), all problems listed at once.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..api import types as api
from ..api.kinds import KNATIVE_SERVICE, MANAGED_BY
from .quantity import QuantityError, quantity
from .render import RenderError

# (apiVersion, kind) allowed per template runtime.
ALLOWED_KINDS: dict[str, frozenset[tuple[str, str]]] = {
    "container": frozenset(
        {
            ("apps/v1", "Deployment"),
            ("v1", "Service"),
            ("v1", "ConfigMap"),
            ("networking.k8s.io/v1", "Ingress"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("policy/v1", "PodDisruptionBudget"),
        }
    ),
    "serverless": frozenset({KNATIVE_SERVICE.key, ("v1", "ConfigMap")}),
    "job": frozenset({("batch/v1", "CronJob"), ("v1", "ConfigMap")}),
}

# Labels and annotations a template must not set: Argo CD would take the child for its own.
_FORBIDDEN_KEY = re.compile(r"^(app\.kubernetes\.io/instance|argocd\.argoproj\.io/.*)$")
_DNS_LABEL = re.compile(api.DNS_LABEL_PATTERN)
_ALLOWED_VOLUMES = {
    "configMap",
    "secret",
    "emptyDir",
    "projected",
    "downwardAPI",
    "persistentVolumeClaim",
    "ephemeral",
    "csi",
}


def labels(*, app: str, team: str) -> dict[str, str]:
    """The labels every child carries (DESIGN.md)."""
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/part-of": app,
        api.NAME_LABEL: app,
        api.TEAM_LABEL: team,
    }


def selector(app: str) -> dict[str, str]:
    """Pod selector of an app: one stable label (Deployment selectors are immutable)."""
    return {api.NAME_LABEL: app}


def owner_reference(*, app: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "MicroApp",
        "name": app,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def dig(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...``, or None where a level is missing or not a mapping (hostile output)."""
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _template_path(obj: Mapping[str, Any]) -> tuple[str, ...] | None:
    kind = (obj.get("apiVersion"), obj.get("kind"))
    if not (isinstance(kind[0], str) and isinstance(kind[1], str)):
        return None
    if kind in {
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("batch/v1", "Job"),
        KNATIVE_SERVICE.key,
    }:
        return ("spec", "template")
    if kind == ("batch/v1", "CronJob"):
        return ("spec", "jobTemplate", "spec", "template")
    return None


def pod_specs(obj: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, pod spec) of every Pod template inside a rendered object."""
    where = _template_path(obj)
    pod = dig(obj, *where, "spec") if where else None
    if isinstance(pod, dict):
        yield ".".join(where) + ".spec", pod  # type: ignore[arg-type]


def complete(
    docs: list[dict[str, Any]],
    *,
    app: str,
    namespace: str,
    team: str,
    runtime: str,
    security: api.TemplateSecurity | None,
    uid: str | None,
    copy_docs: bool = True,
    reserved: Iterable[tuple[str, str]] = (),
) -> list[dict[str, Any]]:
    """Checked and completed objects; RenderError listing every problem otherwise.

    ``copy_docs=False`` completes ``docs`` in place: the pipeline passes freshly rendered
    documents nobody else holds, and a deep copy is an eighth of the render cost.
    ``reserved``: (kind, name) of objects the operator adds later; a template may not use them."""
    problems: list[str] = []
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set(reserved)
    for i, doc in enumerate(docs):
        obj = copy.deepcopy(doc) if copy_docs else doc
        where = f"{str(obj.get('kind', 'object'))[:60]} #{i + 1}"
        found = _check_identity(obj, where, app=app, namespace=namespace, runtime=runtime)
        found += [f"{where}: {p}" for p in shape(obj)]
        if found:  # the rest assumes the shape these checks establish
            problems += found
            continue
        key = (str(obj.get("kind")), str(obj["metadata"].get("name")))
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
        raise RenderError("the template rendered objects that break the platform's rules: " + "; ".join(problems))
    return out


def shape(obj: Mapping[str, Any]) -> list[str]:
    """The fields the cost model and the guardrails read have the types Kubernetes gives them:
    whole numbers, quantities, an autoscaler's target. Anything else is named, never a crash."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [] if obj.get("kind") in ("ConfigMap",) or spec is None else ["spec must be a mapping"]
    kind = (obj.get("apiVersion"), obj.get("kind"))
    problems = []
    if kind == ("apps/v1", "Deployment"):
        problems += _whole_number(spec, "replicas", "spec.replicas")
    if kind == ("autoscaling/v2", "HorizontalPodAutoscaler"):
        target = spec.get("scaleTargetRef")
        if not (
            isinstance(target, dict) and isinstance(target.get("kind"), str) and isinstance(target.get("name"), str)
        ):
            problems.append("spec.scaleTargetRef must name the kind and name of what it scales")
        problems += _whole_number(spec, "maxReplicas", "spec.maxReplicas", required=True)
        problems += _whole_number(spec, "minReplicas", "spec.minReplicas")
    if kind == KNATIVE_SERVICE.key:
        ann = dig(spec, "template", "metadata", "annotations") or {}
        if not isinstance(ann, dict):
            return problems + ["spec.template.metadata.annotations must be a mapping"]
        for key in ("autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/max-scale"):
            if key in ann and not (
                isinstance(ann[key], (str, int)) and not isinstance(ann[key], bool) and str(ann[key]).isdigit()
            ):
                problems.append(f"annotation {key} must be a whole number, not {str(ann[key])[:40]!r}")
    if kind == ("batch/v1", "CronJob"):
        if not isinstance(spec.get("schedule"), str):
            problems.append("spec.schedule must be a cron schedule string")
        job = dig(spec, "jobTemplate", "spec") or {}
        problems += _whole_number(
            job if isinstance(job, dict) else {}, "activeDeadlineSeconds", "spec.jobTemplate.spec.activeDeadlineSeconds"
        )
    for path, pod in pod_specs(obj):
        problems += [f"{path}: {p}" for p in _pod_shape(pod)]
    return problems


def _pod_shape(pod: Mapping[str, Any]) -> list[str]:
    """Lists of mappings where Kubernetes has them, so the security rules can read them."""
    problems = []
    for field in ("securityContext",):
        if not isinstance(pod.get(field) or {}, dict):
            problems.append(f"{field} must be a mapping")
    for group in ("initContainers", "containers", "ephemeralContainers", "volumes"):
        items = pod.get(group) or []
        if not isinstance(items, list) or not all(isinstance(c, dict) for c in items):
            problems.append(f"{group} must be a list of mappings")
            continue
        for c in items if group != "volumes" else []:
            if not isinstance(c.get("securityContext") or {}, dict) or not isinstance(
                dig(c, "securityContext", "capabilities") or {}, dict
            ):
                problems.append(f"{group} {str(c.get('name', '?'))[:40]!r}: securityContext must be a mapping")
            if not isinstance(c.get("ports") or [], list):
                problems.append(f"{group} {str(c.get('name', '?'))[:40]!r}: ports must be a list")
            problems += [f"{group} {str(c.get('name', '?'))[:40]!r}: {p}" for p in _resources(c)]
    return problems


def _whole_number(spec: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> list[str]:
    value = spec.get(key)
    if value is None:
        return [f"{path} is required"] if required else []
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [f"{path} must be a whole number, not {str(value)[:40]!r}"]
    return []


def _resources(container: Mapping[str, Any]) -> list[str]:
    res = container.get("resources") or {}
    if not isinstance(res, dict):
        return ["resources must be a mapping"]
    problems = []
    for part in ("requests", "limits"):
        values = res.get(part) or {}
        if not isinstance(values, dict):
            problems.append(f"resources.{part} must be a mapping")
            continue
        for name, value in values.items():
            try:
                quantity(value)
            except QuantityError as exc:
                problems.append(f"resources.{part}.{name}: {exc}")
    return problems


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
    where = _template_path(obj)
    template = dig(obj, *where) if where else None
    if isinstance(template, dict):
        meta = template.setdefault("metadata", {})
        return meta if isinstance(meta, dict) else None
    return None


def _check_identity(obj: dict[str, Any], where: str, *, app: str, namespace: str, runtime: str) -> list[str]:
    problems = []
    kind = (str(obj.get("apiVersion"))[:80], str(obj.get("kind"))[:80])
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
        if not isinstance(meta.get(field) or {}, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in (meta.get(field) or {}).items()
        ):
            problems.append(f"{where}: metadata.{field} must map strings to strings")
            continue
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
            problems.append(
                f"volume {vol.get('name')!r} of type {', '.join(sorted(kinds - _ALLOWED_VOLUMES))} is not allowed"
            )
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
