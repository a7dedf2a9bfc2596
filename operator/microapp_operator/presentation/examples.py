"""A template's examples as complete MicroApps, and its parameters as rows (pure).

The catalog prints both; ``microapp template lint|test`` renders the same MicroApps, so what
a citizen developer copies is what the platform team tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..api import types as api

PLACEHOLDER_IMAGE = "registry.internal/TEAM/APP:1.0.0"
PLACEHOLDER_OWNER = "you@example.com"
PLACEHOLDER_TEAM = "TEAM"


@dataclass(frozen=True)
class Param:
    """One parameter of a template (nested object properties get dotted names)."""

    name: str
    type: str
    default: Any
    required: bool
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "description": self.description,
        }


def reference(template: api.AppTemplateSpec, *, exact: bool = False) -> str:
    """``name@^MAJOR`` as a citizen developer writes it; ``exact`` pins the version (tests)."""
    version = template.version if exact else f"^{template.version.split('.')[0]}"
    return f"{template.template_name}@{version}"


def app(
    template: api.AppTemplateSpec, example: api.TemplateExample, *, exact: bool = False, namespace: str = "default"
) -> dict[str, Any]:
    """The example as a MicroApp ready to apply once the placeholders are filled in."""
    spec = {
        "template": reference(template, exact=exact),
        "image": PLACEHOLDER_IMAGE,
        **{k: v for k, v in (example.spec or {}).items() if k != "template"},
    }
    return {
        "apiVersion": api.API_VERSION,
        "kind": "MicroApp",
        "metadata": {
            "name": example.name,
            "namespace": namespace,
            "annotations": {api.OWNER_ANNOTATION: PLACEHOLDER_OWNER, api.TEAM_ANNOTATION: PLACEHOLDER_TEAM},
        },
        "spec": spec,
    }


def parameters(schema: Mapping[str, Any] | None) -> list[Param]:
    """Every declared parameter, depth first, from the template's JSON Schema."""
    return list(_walk(schema or {}, prefix=""))


def _walk(schema: Mapping[str, Any], *, prefix: str) -> list[Param]:
    """``required`` is relative to the parent: ``autoscale.max`` is required once autoscale is set."""
    props = schema.get("properties") if isinstance(schema.get("properties"), Mapping) else {}
    needed = set(schema.get("required") or [])
    rows: list[Param] = []
    for name, sub in props.items():
        sub = sub if isinstance(sub, Mapping) else {}
        full = f"{prefix}{name}"
        rows.append(Param(full, type_of(sub), sub.get("default"), name in needed, str(sub.get("description") or "")))
        if sub.get("type") == "object":
            rows += _walk(sub, prefix=f"{full}.")
    return rows


def type_of(schema: Mapping[str, Any]) -> str:
    """A short human type: ``string (cron)``, ``array of string``, ``Allow|Forbid|Replace``."""
    if isinstance(schema.get("enum"), list):
        return "|".join(str(v) for v in schema["enum"])
    kind = schema.get("type")
    kind = "|".join(map(str, kind)) if isinstance(kind, list) else str(kind or "any")
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return f"array of {type_of(schema['items'])}"
    return f"{kind} ({schema['format']})" if schema.get("format") else kind
