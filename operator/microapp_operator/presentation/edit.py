"""The portal's edit of a live MicroApp as data (pure): the form's values from the app, the app the
edited form describes, what the portal sends (a server-side apply of the fields it changes or
already holds), which of those fields another field manager holds, what changed meanwhile, and
the newer template versions in the app's range with their changelog lines.

A field is *held* by a field manager when the API server's ``managedFields`` name it for that
manager. The portal (field manager ``microapp-portal``) never takes a field another manager holds
(``kubectl``, Argo CD, Flux): that field is listed as a conflict, in words, and nothing is sent.
The portal's own earlier writes (its create is an ``Update`` by ``microapp-portal``) are the
portal's to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import semantic_version
import yaml

from ..api import types as api
from ..core import catalog
from . import forms

PORTAL = "microapp-portal"  # the portal's field manager
Path = tuple[str, ...]  # ("spec", "resources", "cpu"), ("metadata", "annotations", "microapp.dev/owner")
_KEPT_META = ("labels", "annotations")

# The form's label for a field path (what the page names a conflict by).
_LABELS: dict[Path, str] = {
    ("spec", "image"): "Image",
    ("spec", "replicas"): "Replicas",
    ("spec", "resources", "cpu"): "CPU",
    ("spec", "resources", "memory"): "Memory",
    ("spec", "expose"): "Exposure",
    ("spec", "template"): "Template version",
    ("metadata", "annotations", api.OWNER_ANNOTATION): "Owner",
    ("metadata", "annotations", api.COST_CENTER_ANNOTATION): "Cost center",
}
# Field managers people know by another name.
_TOOLS = {
    "kubectl-client-side-apply": "kubectl apply",
    "kubectl": "kubectl",
    "kubectl-edit": "kubectl edit",
    "kubectl-create": "kubectl create",
    "kubectl-patch": "kubectl patch",
    "kubectl-scale": "kubectl scale",
    "kubectl-annotate": "kubectl annotate",
    "kubectl-label": "kubectl label",
    "argocd-controller": "Argo CD",
    "argocd-application-controller": "Argo CD",
    "kustomize-controller": "Flux",
    "helm-controller": "Flux",
    "helm": "Helm",
}


@dataclass(frozen=True)
class Conflict:
    """One field the edit would change that another field manager holds."""

    path: Path
    managers: tuple[str, ...]
    label: str

    @property
    def field(self) -> str:
        return "." + ".".join(self.path)

    @property
    def words(self) -> str:
        who = " and ".join(tool(m) for m in self.managers)
        return (
            f"{self.label} ({self.field}) is set by {who}: the portal does not take over a field another tool "
            f"manages (its next run would undo the change). Change it where {who} keeps it, or leave {self.label} "
            "as it is here"
        )


@dataclass(frozen=True)
class Upgrade:
    """A newer template version in the app's range, with what its changelog says."""

    version: str
    ref: str  # name@version: pins the app to it
    notes: tuple[str, ...]


def tool(manager: str) -> str:
    """A field manager as people know it: ``kubectl apply (kubectl-client-side-apply)``."""
    known = _TOOLS.get(manager)
    if known is None and manager.startswith("argocd"):
        known = "Argo CD"
    return f"{known} ({manager})" if known and known != manager else manager


def view(app: Mapping[str, Any]) -> dict[str, Any]:
    """What a person edits of a MicroApp: apiVersion, kind, name, namespace, labels, annotations
    and spec (the form's ``base``: what the form was opened on)."""
    meta = app.get("metadata") or {}
    kept = {k: dict(meta[k]) for k in _KEPT_META if meta.get(k)}
    return {
        "apiVersion": app.get("apiVersion", api.API_VERSION),
        "kind": "MicroApp",
        "metadata": {"name": meta.get("name", ""), "namespace": meta.get("namespace", ""), **kept},
        "spec": dict(app.get("spec") or {}),
    }


def prefill(app: Mapping[str, Any], template: api.AppTemplateSpec) -> dict[str, str]:
    """The form's values for a live MicroApp: the same mapping as the YAML view switched back,
    plus the template reference as it is written (``web-service@^1``)."""
    values, _ = forms.from_yaml(template, yaml.safe_dump(view(app)))  # fields the form has no place for stay in base
    values["template"] = str((app.get("spec") or {}).get("template") or "")
    return values


# Where each of the form's fields lives in a MicroApp.
_PLACES: dict[str, Path] = {
    "template": ("spec", "template"),
    "image": ("spec", "image"),
    "replicas": ("spec", "replicas"),
    "cpu": ("spec", "resources", "cpu"),
    "memory": ("spec", "resources", "memory"),
    "expose": ("spec", "expose"),
    "owner": ("metadata", "annotations", api.OWNER_ANNOTATION),
    "cost_center": ("metadata", "annotations", api.COST_CENTER_ANNOTATION),
}


def place_of(field: str) -> Path | None:
    """Where the form field ``field`` lives in a MicroApp (None: nowhere, e.g. name)."""
    if field.startswith(forms.PARAM):
        return ("spec", "parameters", field[len(forms.PARAM) :])
    return _PLACES.get(field)


def shown(template: api.AppTemplateSpec, app: Mapping[str, Any]) -> dict[str, str]:
    """The form's values as drawn for ``app`` (template defaults where the app sets nothing):
    what a field the person left alone still holds when the form comes back."""
    form = forms.build(template, forms.Submitted(prefill(app, template)), owner="", namespaces=(), cost_center=True)
    return {"template": prefill(app, template)["template"], **{f.name: f.value for f in form.fields}}


def touched(typed: Mapping[str, str], opened: Mapping[str, str]) -> set[str]:
    """The form fields the person changed (a checkbox left unticked is not sent: empty)."""
    return {k for k in set(typed) | set(opened) if place_of(k) and typed.get(k, "") != opened.get(k, "")}


def desired(base: Mapping[str, Any], form_body: Mapping[str, Any], *, changed_fields: Iterable[str]) -> dict[str, Any]:
    """The MicroApp after the edit: ``base`` with the fields the person changed taken from the
    form's MicroApp (``form_body``, with ``spec.template`` as chosen). Everything else stays as it
    was: what the form has no field for (env, host, lifecycle, other annotations) and the fields
    left alone, even where the form showed a template default. No side effects."""
    out = view(base)
    for field in changed_fields:
        path = place_of(field)
        if path is None:
            continue
        value = _get(form_body, path)
        _set(out, path, value)
    return out


def _get(obj: Mapping[str, Any], path: Path) -> Any:
    node: Any = obj
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _set(obj: dict[str, Any], path: Path, value: Any) -> None:
    """Set ``path`` to ``value``; None removes it, and a map it leaves empty goes too."""
    parents = [obj]
    for key in path[:-1]:
        child = parents[-1].get(key)
        if not isinstance(child, dict):
            if value is None:
                return
            child = {}
        parents[-1][key] = child = dict(child)
        parents.append(child)
    if value is None:
        parents[-1].pop(path[-1], None)
    else:
        parents[-1][path[-1]] = value
    for depth in range(len(path) - 1, 1, -1):  # drop maps left empty (resources, parameters), not spec
        if not parents[depth]:
            parents[depth - 1].pop(path[depth - 1], None)


def leaves(value: Any, prefix: Path = ()) -> dict[Path, Any]:
    """Every leaf of a value by its path (lists and scalars are leaves)."""
    if isinstance(value, Mapping) and value:
        out: dict[Path, Any] = {}
        for k, v in value.items():
            out.update(leaves(v, (*prefix, str(k))))
        return out
    return {prefix: value}


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Path]:
    """The paths of labels, annotations and spec whose value the edit changes (added, changed or removed)."""
    old, new = _edited(before), _edited(after)
    return sorted(p for p in set(old) | set(new) if old.get(p, _GONE) != new.get(p, _GONE))


_GONE = object()


def _edited(app: Mapping[str, Any]) -> dict[Path, Any]:
    meta = app.get("metadata") or {}
    out: dict[Path, Any] = {}
    for key in _KEPT_META:
        for name, value in (meta.get(key) or {}).items():
            out[("metadata", key, name)] = value
    out.update(leaves(app.get("spec") or {}, ("spec",)) if app.get("spec") else {})
    return out


def owned(managed_fields: Iterable[Mapping[str, Any]]) -> dict[str, set[Path]]:
    """The paths each field manager holds (its ``fieldsV1`` leaves; a list is one field), by
    manager name. Status writers are left out: a person never edits status."""
    out: dict[str, set[Path]] = {}
    for entry in managed_fields or ():
        if entry.get("subresource") == "status" or entry.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        out.setdefault(str(entry.get("manager") or "(unnamed)"), set()).update(_fields(entry.get("fieldsV1") or {}))
    return out


def _fields(node: Mapping[str, Any], prefix: Path = ()) -> set[Path]:
    named = {k[2:]: v for k, v in node.items() if k.startswith("f:")}
    if not named:  # a scalar, an atomic list or map, or a list whose items are keyed (k:, v:, i:)
        return {prefix} if prefix else set()
    out: set[Path] = set()
    for name, child in named.items():
        out |= _fields(child if isinstance(child, Mapping) else {}, (*prefix, name))
    return out


def _overlaps(a: Path, b: Path) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def conflicts(
    managed_fields: Iterable[Mapping[str, Any]], paths: Sequence[Path], *, schema: Mapping[str, Any] | None = None
) -> list[Conflict]:
    """The fields among ``paths`` (what the edit changes) that a manager other than the portal
    holds. No side effects."""
    holders = owned(managed_fields)
    out = []
    for path in paths:
        managers = tuple(
            sorted(m for m, held in holders.items() if m != PORTAL and any(_overlaps(path, h) for h in held))
        )
        if managers:
            out.append(Conflict(path, managers, label(path, schema)))
    return out


def label(path: Path, schema: Mapping[str, Any] | None = None) -> str:
    """The form's label for a field path (a parameter's schema title), else the path itself."""
    if path in _LABELS:
        return _LABELS[path]
    if path[:2] == ("spec", "parameters") and len(path) > 2:
        sub = ((schema or {}).get("properties") or {}).get(path[2]) or {}
        return str(sub.get("title") or path[2]) if isinstance(sub, Mapping) else path[2]
    return "." + ".".join(path)


def portal_holds(managed_fields: Iterable[Mapping[str, Any]]) -> set[Path]:
    """What the portal's own server-side applies hold (``microapp-portal``, operation Apply)."""
    out: set[Path] = set()
    for entry in managed_fields or ():
        if entry.get("manager") == PORTAL and entry.get("operation") == "Apply":
            out |= _fields(entry.get("fieldsV1") or {})
    return out


def apply_config(
    after: Mapping[str, Any], *, paths: Iterable[Path], held: Iterable[Path], resource_version: str
) -> dict[str, Any]:
    """The server-side apply the portal sends: the top-level spec fields and the labels and
    annotations the edit changes or the portal already holds (what it held and leaves out is
    then removed, as server-side apply means), at ``resource_version`` (a 409 if the app changed
    since the form was opened). No side effects."""
    wanted = {p[:3] if p[0] == "metadata" else p[:2] for p in (*paths, *held) if len(p) >= 2}
    meta = after.get("metadata") or {}
    out_meta: dict[str, Any] = {"name": meta.get("name"), "namespace": meta.get("namespace")}
    if resource_version:
        out_meta["resourceVersion"] = resource_version
    for key in _KEPT_META:
        kept = {k: v for k, v in (meta.get(key) or {}).items() if ("metadata", key, k) in wanted}
        if kept:
            out_meta[key] = kept
    spec = {k: v for k, v in (after.get("spec") or {}).items() if ("spec", k) in wanted}
    body: dict[str, Any] = {
        "apiVersion": after.get("apiVersion", api.API_VERSION),
        "kind": "MicroApp",
        "metadata": out_meta,
    }
    if spec:
        body["spec"] = spec
    return body


def merged(
    typed: Mapping[str, str], opened: Mapping[str, str], live: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The form after someone else changed the app (a 409): what the person typed is kept, every
    field they left alone takes the app's new value; and the fields both changed (named).
    No side effects."""
    out, both = {}, []
    for key in set(typed) | set(live):
        mine, was, now = typed.get(key, ""), opened.get(key, ""), live.get(key, "")
        if mine != was:
            out[key] = mine
            if now != was and now != mine:
                both.append(key)
        else:
            out[key] = now
    return out, sorted(both)


def upgrades(ref: str, current: str | None, templates: Sequence[api.AppTemplateSpec]) -> list[Upgrade]:
    """The non-deprecated versions newer than ``current`` that ``ref``'s range allows, newest
    first, each with its changelog lines. No side effects."""
    if current is None:  # not rendered yet: nothing to upgrade from
        return []
    try:
        name, rng = catalog.parse_ref(ref)
    except catalog.ResolutionError:
        return []
    mine = [t for t in catalog.newest_first(templates) if t.template_name == name]
    notes: dict[str, list[str]] = {}
    for t in mine:
        for entry in t.changelog or ():
            notes.setdefault(entry.version, [])
            if entry.note not in notes[entry.version]:
                notes[entry.version].append(entry.note)
    return [
        Upgrade(t.version, f"{name}@{t.version}", tuple(notes.get(t.version, ())))
        for t in mine
        if not t.deprecated
        and catalog.is_newer(t.version, current)
        and (rng is None or rng.match(semantic_version.Version(t.version)))
    ]


def template_options(ref: str, current: str | None, found: Sequence[Upgrade]) -> tuple[str, ...]:
    """The choices of the "Template version" field: the app's reference as written first (with
    a range, a change moves the app to the newest version it allows), then the app's version
    pinned, then each newer version pinned."""
    name = ref.partition("@")[0]
    options = [ref]
    if current:
        options.append(f"{name}@{current}")
    options += [u.ref for u in found]
    return tuple(dict.fromkeys(o for o in options if o))
