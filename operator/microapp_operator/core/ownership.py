"""Never touch what is not ours (pure): which rendered objects already exist and belong to
someone else, and which kinds the cluster lacks.

The operator holds broad rights. A forced server-side apply of an object that happens to
carry the name a template renders would take it over (and the MicroApp's deletion would then
garbage-collect it): a confused deputy. So an object is applied only when it does not exist
or this MicroApp (by UID) is its controller owner; otherwise nothing of the app is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Live = Callable[[Mapping[str, Any]], "Mapping[str, Any] | None"]

# What the platform team installs to provide a kind a template may render.
PROVIDERS = {
    (
        "serving.knative.dev/v1",
        "Service",
    ): "Knative Serving (its CRDs and controller, https://knative.dev/docs/install/)",
    ("monitoring.coreos.com/v1", "PodMonitor"): "the Prometheus Operator's CRDs",
}


def controlled_by(obj: Mapping[str, Any], uid: str | None) -> bool:
    """Whether the MicroApp with ``uid`` is the controller owner of ``obj``."""
    return uid is not None and any(
        ref.get("uid") == uid and ref.get("controller")
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []
    )


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next(
        (ref for ref in (obj.get("metadata") or {}).get("ownerReferences") or [] if ref.get("controller")), None
    )


def previous_incarnation(obj: Mapping[str, Any], app: str) -> bool:
    """Controlled by a deleted MicroApp of the same name: the garbage collector removes it soon."""
    ref = controller_of(obj)
    return bool(ref and ref.get("kind") == "MicroApp" and ref.get("name") == app)


def conflicts(
    objects: Iterable[Mapping[str, Any]], live: Live, *, app: str, uid: str | None, include_previous: bool = True
) -> list[str]:
    """One plain sentence per rendered object that exists and is not this app's. No side effects.

    ``include_previous=False`` leaves out objects of a deleted MicroApp of the same name (admission
    lets a re-created app in: they are garbage-collected soon and the reconciler waits for that)."""
    found = []
    for obj in objects:
        existing = live(obj)
        if existing is None or controlled_by(existing, uid):
            continue
        if not include_previous and previous_incarnation(existing, app):
            continue
        meta = obj["metadata"]
        what = f"{obj['kind']} {meta['name']!r} ({obj['apiVersion']}) in namespace {meta['namespace']}"
        if previous_incarnation(existing, app):
            found.append(
                f"{what} still belongs to a deleted MicroApp named {app!r}; it goes once Kubernetes "
                f"finishes deleting it, and this app then proceeds on its own"
            )
        else:
            found.append(
                f"{what} already exists and is not managed by this MicroApp ({_holder(existing)}); "
                f"the operator never takes over objects it did not create: rename the MicroApp "
                f"(metadata.name) or have that object removed or renamed"
            )
    return found


def _holder(obj: Mapping[str, Any]) -> str:
    ref = controller_of(obj)
    if ref is not None:
        return f"it is controlled by {ref.get('kind')} {ref.get('name')!r}"
    # Who wrote its spec first: status writers (a controller reporting on it) did not create it.
    entries = [
        m
        for m in (obj.get("metadata") or {}).get("managedFields") or []
        if m.get("manager") and not m.get("subresource")
    ]
    first = min(entries, key=lambda m: str(m.get("time") or ""), default=None)
    return f"created by {first['manager']}" if first else "it has no owner"


def unavailable(objects: Iterable[Mapping[str, Any]], absent: Iterable[tuple[str, str]], *, template: str) -> list[str]:
    """One sentence per kind the template renders that the cluster does not serve."""
    missing = set(absent)
    found = []
    for key in dict.fromkeys((o["apiVersion"], o["kind"]) for o in objects):
        if key in missing:
            provider = PROVIDERS.get(key, f"the CRD of {key[1]} ({key[0]})")
            found.append(
                f"template {template} renders a {key[0]} {key[1]}, which this cluster does not serve: "
                f"the platform team must install {provider}; until then the app cannot run"
            )
    return found
