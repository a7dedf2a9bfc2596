"""Platform guardrails (pure): one function for the webhook, the reconciler and the CLI.

``evaluate`` answers "what about this app breaks the PlatformPolicy?" from the app and its
rendered objects alone, in plain language naming the field and the fix. Who is asking is
``identity``'s concern, checked only at admission.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..api import types as api
from ..api.kinds import KNATIVE_SERVICE
from . import rbac, telemetry
from .app import AppMeta
from .quantity import QuantityError, quantity
from .rendered import dig, pod_specs

DEFAULT_ADMIN_GROUPS = ("system:masters",)


def team_of(policy: api.PlatformPolicySpec, name: str | None) -> api.Team | None:
    return next((t for t in policy.teams or [] if t.name == name), None)


def namespace_allowed(team: api.Team, namespace: str) -> bool:
    return any(fnmatch.fnmatchcase(namespace, p) for p in team.namespaces or [])


def admin_groups(policy: api.PlatformPolicySpec) -> set[str]:
    return set(policy.platform_admin_groups or DEFAULT_ADMIN_GROUPS)


def evaluate(
    meta: AppMeta,
    spec: api.MicroAppSpec | None,
    objects: Iterable[Mapping[str, Any]] | None,
    policy: api.PlatformPolicySpec,
) -> list[str]:
    """Every violation of the policy by this app (``spec`` None: it did not parse, and only
    its identity is judged). No side effects."""
    return evaluate_app(meta, spec, policy) + (evaluate_workload(spec, objects, policy) if spec else [])


def evaluate_workload(
    spec: api.MicroAppSpec, objects: Iterable[Mapping[str, Any]] | None, policy: api.PlatformPolicySpec
) -> list[str]:
    """The part that depends only on the spec and what it renders (images, sizes)."""
    rails = policy.guardrails or api.Guardrails()
    objects = list(objects or [])
    return _images(spec, objects, rails, policy) + _limits(spec, objects, rails)


def evaluate_app(meta: AppMeta, spec: api.MicroAppSpec | None, policy: api.PlatformPolicySpec) -> list[str]:
    """The part that depends on the app's identity: annotations, team, namespace, approval."""
    ann = meta.annotations
    rails = policy.guardrails or api.Guardrails()
    found: list[str] = []
    # Ownership annotations.
    for key, what in (
        (api.OWNER_ANNOTATION, "the owner's user name"),
        (api.TEAM_ANNOTATION, "a team of the PlatformPolicy"),
    ):
        if not ann.get(key):
            found.append(f"metadata.annotations.{key} is required ({what})")
    if rails.require_cost_center and not ann.get(api.COST_CENTER_ANNOTATION):
        found.append(f"metadata.annotations.{api.COST_CENTER_ANNOTATION} is required by the platform (e.g. CC-1234)")
    team = team_of(policy, ann.get(api.TEAM_ANNOTATION))
    if ann.get(api.TEAM_ANNOTATION) and team is None:
        known = ", ".join(t.name for t in policy.teams or []) or "none"
        found.append(
            f"metadata.annotations.{api.TEAM_ANNOTATION}: team {ann[api.TEAM_ANNOTATION]!r} is not in "
            f"the PlatformPolicy (teams: {known})"
        )
    if team is not None and not namespace_allowed(team, meta.namespace):
        found.append(
            f"namespace {meta.namespace!r} is not one of team {team.name}'s namespaces "
            f"({', '.join(team.namespaces or []) or 'none'})"
        )
    # RBAC annotations.
    for key in (api.EDITORS_ANNOTATION, api.VIEWERS_ANNOTATION):
        found += rbac.parse(ann.get(key), key=key, team=team, policy=policy)[1]
    if (
        policy.telemetry
        and policy.telemetry.required
        and spec is not None
        and spec.telemetry is not None
        and spec.telemetry.enabled is False
    ):
        found.append(
            "spec.telemetry.enabled: false is not allowed: the platform requires telemetry for every app; "
            "remove spec.telemetry or set enabled: true"
        )
    # Public exposure needs an approval (who set it is checked at admission).
    if spec is not None and spec.expose == "public" and not ann.get(api.PUBLIC_APPROVED_BY_ANNOTATION):
        approvers = ", ".join(rails.public_exposure_approvers or []) or "the platform team"
        found.append(
            f"spec.expose: public needs approval: a member of {approvers} sets "
            f"metadata.annotations.{api.PUBLIC_APPROVED_BY_ANNOTATION}"
        )
    return found


def _images(
    spec: api.MicroAppSpec,
    objects: Iterable[Mapping[str, Any]] | None,
    rails: api.Guardrails,
    policy: api.PlatformPolicySpec,
) -> list[str]:
    images = {spec.image}
    for obj in objects or []:
        for _, pod in pod_specs(obj):
            images |= {str(c.get("image", "")) for g in ("initContainers", "containers") for c in pod.get(g) or []}
    sidecar = telemetry.Settings.from_policy(policy).image  # the operator's own, default or configured
    found = []
    for image in sorted(i for i in images if i and i != sidecar):
        field = "spec.image" if image == spec.image else "image"  # else one the template renders
        if rails.allowed_registries and not any(image.startswith(p) for p in rails.allowed_registries):
            found.append(f"{field} {image!r} is not from an allowed registry ({', '.join(rails.allowed_registries)})")
        if not rails.allow_latest_tag and _latest(image):
            found.append(
                f"{field} {image!r} has no fixed tag; use a version tag such as :1.4.0 (latest is not allowed)"
            )
    return found


def _latest(image: str) -> bool:
    if "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.rsplit(":", 1)[1] == "latest"


def _limits(spec: api.MicroAppSpec, objects: Iterable[Mapping[str, Any]] | None, rails: api.Guardrails) -> list[str]:
    found = []
    objects = list(objects or [])
    if rails.max_replicas is not None:
        reach: list[tuple[str, Any]] = [("spec.replicas", spec.replicas)]
        for obj in objects:
            if obj.get("kind") == "HorizontalPodAutoscaler":
                reach.append(("the autoscaler's maximum (spec.parameters)", dig(obj, "spec", "maxReplicas")))
            if (obj.get("apiVersion"), obj.get("kind")) == KNATIVE_SERVICE.key:
                ann = dig(obj, "spec", "template", "metadata", "annotations") or {}
                reach.append(
                    (
                        "max-scale (spec.parameters)",
                        ann.get("autoscaling.knative.dev/max-scale") if isinstance(ann, dict) else None,
                    )
                )
        for what, value in reach:
            count = _whole(value)
            if count is not None and count > rails.max_replicas:
                found.append(f"{what} is {value}; the platform allows at most {rails.max_replicas} replicas")
    for resource, cap in (("cpu", rails.max_cpu), ("memory", rails.max_memory)):
        if cap is None:
            continue
        asked = {str(getattr(spec.resources, resource) if spec.resources else None)} - {"None"}
        for obj in objects:
            for _, pod in pod_specs(obj):
                for c in pod.get("containers") or []:
                    res = c.get("resources") or {}
                    asked |= {
                        str(v)
                        for v in ((res.get("requests") or {}).get(resource), (res.get("limits") or {}).get(resource))
                        if v is not None
                    }
        over = sorted(a for a in asked if _safe(a) > _safe(cap))
        if over:
            found.append(
                f"spec.resources.{resource}: {over[-1]} is more than the platform's maximum of {cap} per container"
            )
    return found


def _whole(value: Any) -> int | None:
    """A replica count as rendered (an int, or a string of digits in an annotation); None if absent
    or unreadable (the rendered-object rules refuse unreadable ones before this is asked)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


def _safe(value: Any) -> Decimal:
    try:
        return quantity(value)
    except QuantityError:
        return Decimal(0)
