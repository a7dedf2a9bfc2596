"""The portal's new-app form as data (pure): its fields from the template's JSON Schema, the
MicroApp the submitted values make, and each problem placed at the field it names.

The fixed fields are the MicroApp's own (labels are the contract of DESIGN.md, "Portal"); a
template parameter is drawn from its schema (``title``, else its name) when its keywords are ones
the form draws, else it becomes a YAML field for that parameter: never a dead end. The values
stay strings as typed until :func:`microapp` turns them into the object the API server gets; the
problems come from the same validation as the webhook (``core.plan``, ``core.guardrails``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..api import types as api

NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS label: names and namespaces
PARAM = "param."  # form names of template parameters: param.<name>
EXPOSURES = ("none", "internal", "public")
# Schema keywords a drawn parameter may use (anything else: a YAML field for it).
DRAWN = {"type", "title", "description", "default", "enum", "minimum", "maximum", "maxLength", "minLength"}
DRAWN |= {"pattern", "format", "examples"}


@dataclass(frozen=True)
class Field:
    """One control of the form: ``kind`` is text, number, select, checkbox or yaml."""

    name: str
    label: str
    kind: str
    value: str
    hint: str = ""
    required: bool = False
    options: tuple[str, ...] = ()
    error: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    suggestions: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


@dataclass(frozen=True)
class Form:
    """The whole form: the template it is for, its fields in order, and the problems (each with
    the id of the field it concerns, or None for the form as a whole)."""

    template: str  # name
    version: str
    fields: tuple[Field, ...]
    errors: tuple[tuple[str | None, str], ...] = ()
    team: str | None = None

    @property
    def fixed(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.name.startswith(PARAM))

    @property
    def params(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.name.startswith(PARAM))


@dataclass(frozen=True)
class Submitted:
    """What the person typed, as strings by form name."""

    values: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return str(self.values.get(name, default)).strip()


def _param_kind(schema: Mapping[str, Any]) -> str:
    if not set(schema) <= DRAWN:
        return "yaml"
    kind = schema.get("type")
    if schema.get("enum") and kind in ("string", None):
        return "select"
    return {"string": "text", "integer": "number", "number": "number", "boolean": "checkbox"}.get(str(kind), "yaml")


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "yaml":
        return yaml.safe_dump(value, default_flow_style=False, sort_keys=False).removesuffix("\n...\n").strip()
    if kind == "checkbox":
        return "on" if value else ""
    return str(value)


def build(
    template: api.AppTemplateSpec,
    submitted: Submitted,
    *,
    owner: str,
    namespaces: Sequence[str],
    cost_center: bool,
    problems: Sequence[str] = (),
    team: str | None = None,
) -> Form:
    """The form for ``template`` with the submitted values (defaults where none were sent) and
    ``problems`` at their fields. ``namespaces``: the user's teams' namespaces, suggested."""
    d = template.defaults or api.TemplateDefaults()
    r = d.resources or api.Resources()
    s = submitted.get
    sent = bool(submitted.values)
    fixed = [
        Field("name", "Name", "text", s("name"), "lower case letters, digits and -, at most 53", True),
        Field(
            "namespace",
            "Namespace",
            "text",
            s("namespace", namespaces[0] if namespaces else ""),
            "one of your team's namespaces",
            True,
            suggestions=tuple(namespaces),
        ),
        Field("owner", "Owner", "text", s("owner", owner), "your user name as the cluster knows it", True),
        Field("image", "Image", "text", s("image"), "e.g. registry.internal/team/app:1.0.0", True),
        Field("replicas", "Replicas", "number", s("replicas", str(d.replicas or 1)), "", True, minimum=0),
        Field("cpu", "CPU", "text", s("cpu", r.cpu or "100m"), "per replica, e.g. 100m or 0.5", True),
        Field("memory", "Memory", "text", s("memory", r.memory or "128Mi"), "per replica, e.g. 128Mi or 1Gi", True),
        Field(
            "expose",
            "Exposure",
            "select",
            s("expose", "internal"),
            "none, internal (a URL inside the cluster) or public (needs a host and approval)",
            options=EXPOSURES,
        ),
    ]
    if cost_center:
        fixed.append(Field("cost_center", "Cost center", "text", s("cost_center"), "e.g. CC-1234", True))
    schema = template.parameters or {}
    required = set(schema.get("required") or [])
    params = []
    for name, sub in (schema.get("properties") or {}).items():
        sub = sub if isinstance(sub, Mapping) else {}
        kind = _param_kind(sub)
        default = "" if sent else _shown(sub.get("default"), kind)
        params.append(
            Field(
                PARAM + name,
                str(sub.get("title") or name),
                kind,
                s(PARAM + name, default) if kind != "checkbox" or sent else default,
                str(sub.get("description") or "") + (" (YAML)" if kind == "yaml" else ""),
                name in required,
                options=tuple(str(o) for o in sub.get("enum") or ()),
                minimum=sub.get("minimum"),
                maximum=sub.get("maximum"),
            )
        )
    placed = place(problems, [*fixed, *params])
    by_field = {fid: msg for fid, msg in placed if fid}
    drawn = tuple(
        Field(**{**f.__dict__, "error": by_field.get(f.id)})  # type: ignore[arg-type]
        for f in (*fixed, *params)
    )
    return Form(template.template_name, template.version, drawn, tuple(placed), team)


# Which field a problem concerns, by the path it starts with (or contains).
_PATHS = (
    ("metadata.name", "name"),
    ("metadata.annotations.microapp.dev/owner", "owner"),
    ("metadata.annotations.microapp.dev/cost-center", "cost_center"),
    ("metadata.annotations.microapp.dev/team", "namespace"),
    ("namespace ", "namespace"),
    ("namespace:", "namespace"),
    ("spec.image", "image"),
    ("spec.replicas", "replicas"),
    ("spec.resources.cpu", "cpu"),
    ("spec.resources.memory", "memory"),
    ("spec.expose", "expose"),
    ("spec.host", "expose"),
)


def place(problems: Sequence[str], fields: Sequence[Field]) -> list[tuple[str | None, str]]:
    """Each problem with the id of the field it names (None: the form as a whole)."""
    ids = {f.name: f.id for f in fields}
    out: list[tuple[str | None, str]] = []
    for problem in problems:
        target = None
        m = re.match(r"spec\.parameters\.([A-Za-z0-9_-]+)", problem)
        if m and PARAM + m.group(1) in ids:
            target = ids[PARAM + m.group(1)]
        for prefix, name in _PATHS:
            if target is None and problem.startswith(prefix) and name in ids:
                target = ids[name]
        if target is None and "image" in problem and problem.startswith("container"):
            target = ids["image"]
        if target is None and re.search(r"\b(cpu|memory)\b", problem) and "request" in problem:
            target = ids["cpu" if "cpu" in problem else "memory"]
        out.append((target, problem))
    return out


def microapp(
    template: api.AppTemplateSpec, submitted: Submitted, *, team: str | None
) -> tuple[dict[str, Any], list[str]]:
    """The MicroApp the form describes, and the problems of turning the strings into values
    (a replicas count that is not a number, a YAML field that is not YAML)."""
    s = submitted.get
    problems = [
        f"{path}: {s(key)!r} is not a name Kubernetes takes: lower case letters, digits and -, "
        "starting and ending with a letter or digit"
        for key, path in (("name", "metadata.name"), ("namespace", "namespace"))
        if s(key) and not NAME.fullmatch(s(key))
    ]
    problems += [
        f"{path} is required" for key, path in (("name", "metadata.name"), ("namespace", "namespace")) if not s(key)
    ]
    annotations = {api.OWNER_ANNOTATION: s("owner")}
    if team:
        annotations[api.TEAM_ANNOTATION] = team
    if s("cost_center"):
        annotations[api.COST_CENTER_ANNOTATION] = s("cost_center")
    spec: dict[str, Any] = {"template": f"{template.template_name}@{template.version}", "image": s("image")}
    replicas = _integer(s("replicas"), "spec.replicas", problems)
    if replicas is not None:
        spec["replicas"] = replicas
    resources = {k: s(k) for k in ("cpu", "memory") if s(k)}
    if resources:
        spec["resources"] = resources
    if s("expose"):
        spec["expose"] = s("expose")
    params = _parameters(template.parameters or {}, submitted, problems)
    if params:
        spec["parameters"] = params
    body = {
        "apiVersion": api.API_VERSION,
        "kind": "MicroApp",
        "metadata": {"name": s("name"), "namespace": s("namespace"), "annotations": annotations},
        "spec": spec,
    }
    return body, problems


def _integer(text: str, path: str, problems: list[str]) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        problems.append(f"{path}: {text!r} is not a whole number")
        return None


def _parameters(schema: Mapping[str, Any], submitted: Submitted, problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in (schema.get("properties") or {}).items():
        sub = sub if isinstance(sub, Mapping) else {}
        kind, text, path = _param_kind(sub), submitted.get(PARAM + name), f"spec.parameters.{name}"
        if kind == "checkbox":
            if PARAM + name in submitted.values or sub.get("default") is not None:
                out[name] = bool(text)
            continue
        if not text:
            continue
        if kind == "yaml":
            try:
                out[name] = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                problems.append(f"{path}: not YAML ({str(exc).splitlines()[0]})")
        elif kind == "number":
            try:
                out[name] = int(text) if sub.get("type") == "integer" else float(text)
            except ValueError:
                problems.append(f"{path}: {text!r} is not a number")
        else:
            out[name] = text
    return out


FIXED_SPEC = {"template", "image", "replicas", "resources", "expose", "parameters"}


def from_yaml(template: api.AppTemplateSpec, text: str) -> tuple[dict[str, str], list[str]]:
    """The form's values from an edited MicroApp (the YAML view, switched back), and what the form
    cannot hold (named, so nothing is dropped silently)."""
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return {}, [f"the YAML does not parse: {str(exc).splitlines()[0]}"]
    if not isinstance(body, dict):
        return {}, ["the YAML is not a MicroApp (a mapping with metadata and spec)"]
    meta, spec = body.get("metadata") or {}, body.get("spec") or {}
    ann = meta.get("annotations") or {}
    res = spec.get("resources") or {}
    values = {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "owner": ann.get(api.OWNER_ANNOTATION),
        "cost_center": ann.get(api.COST_CENTER_ANNOTATION),
        "image": spec.get("image"),
        "replicas": spec.get("replicas"),
        "cpu": res.get("cpu"),
        "memory": res.get("memory"),
        "expose": spec.get("expose"),
    }
    schema = template.parameters or {}
    for name, value in (spec.get("parameters") or {}).items():
        sub = (schema.get("properties") or {}).get(name) or {}
        kind = _param_kind(sub) if isinstance(sub, Mapping) else "yaml"
        values[PARAM + name] = _shown(value, kind)
    problems = [
        f"spec.{k}: the form has no field for it; apply the YAML with kubectl" for k in spec if k not in FIXED_SPEC
    ]
    if str(spec.get("template", "")).partition("@")[0] not in ("", template.template_name):
        problems.append(f"spec.template: this form is for {template.template_name}")
    return {k: str(v) for k, v in values.items() if v is not None}, problems


def as_yaml(body: Mapping[str, Any]) -> str:
    """The MicroApp the form describes, as YAML for the YAML view."""
    return yaml.safe_dump(dict(body), sort_keys=False, default_flow_style=False)
