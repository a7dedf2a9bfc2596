"""Generate CustomResourceDefinitions from the pydantic API types (``make crds``).

Pydantic emits JSON Schema; a CRD wants a *structural* OpenAPI v3 schema: no ``$ref``, no
``anyOf`` with ``null``, no ``title``/``default``, a description on every property. This
module does that translation, deterministically, so the committed ``crds/`` can be diffed
against a fresh generation in a test.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from . import types as api

JsonSchema = dict[str, Any]

_DROP = {"title", "default", "additionalProperties"}


@dataclass(frozen=True)
class Kind:
    """What a CRD needs beyond the schema of its spec and status."""

    kind: str
    plural: str
    scope: str
    short_names: tuple[str, ...]
    description: str
    spec: type[BaseModel]
    status: type[BaseModel] | None = None
    printer_columns: tuple[dict[str, Any], ...] = ()
    scale: bool = False
    root_validations: tuple[dict[str, Any], ...] = ()
    spec_required: bool = True

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{api.GROUP}"


def _column(name: str, path: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "jsonPath": path, **extra}


AGE = _column("Age", ".metadata.creationTimestamp", "date")

KINDS: tuple[Kind, ...] = (
    Kind(
        kind="MicroApp",
        plural="microapps",
        scope="Namespaced",
        short_names=("mapp", "mapps"),
        description="A small app run by a citizen developer, rendered from an AppTemplate.",
        spec=api.MicroAppSpec,
        status=api.MicroAppStatus,
        scale=True,
        root_validations=(
            api.cel(
                "size(self.metadata.name) <= 53",
                "a MicroApp name is at most 53 characters (its objects add suffixes to it)",
            ),
            api.cel(
                "self.metadata.name.matches(r'^[a-z]([-a-z0-9]*[a-z0-9])?$')",
                "a MicroApp name starts with a letter and has only lower-case letters, digits "
                "and '-' (it becomes a Service name)",
            ),
        ),
        printer_columns=(
            _column("Template", ".spec.template"),
            _column("Phase", ".status.phase"),
            _column("Ready", '.status.conditions[?(@.type=="Ready")].status'),
            _column("Cost/mo", ".status.cost.estimatedMonthly"),
            _column("Owner", ".metadata.annotations.microapp\\.dev/owner"),
            AGE,
        ),
    ),
    Kind(
        kind="AppTemplate",
        plural="apptemplates",
        scope="Cluster",
        short_names=("apptpl",),
        description="A versioned, immutable catalog entry that MicroApps are rendered from.",
        spec=api.AppTemplateSpec,
        printer_columns=(
            _column("Template", ".spec.templateName"),
            _column("Version", ".spec.version"),
            _column("Runtime", ".spec.runtime"),
            _column("Deprecated", ".spec.deprecated", "boolean"),
            AGE,
        ),
    ),
    Kind(
        kind="TeamBudget",
        plural="teambudgets",
        scope="Cluster",
        short_names=("tbudget",),
        description="A team's monthly budget for its MicroApps.",
        spec=api.TeamBudgetSpec,
        status=api.TeamBudgetStatus,
        printer_columns=(
            _column("Team", ".spec.team"),
            _column("Limit", ".spec.monthlyLimit"),
            _column("Committed", ".status.committedMonthly"),
            _column("Remaining", ".status.remaining"),
            _column("Enforcement", ".spec.enforcement"),
            AGE,
        ),
    ),
    Kind(
        kind="PlatformPolicy",
        plural="platformpolicies",
        scope="Cluster",
        short_names=("ppol",),
        description="The platform's pricing, teams, guardrails, telemetry and lifecycle rules "
        "(only the object named default is used).",
        spec=api.PlatformPolicySpec,
        status=api.PlatformPolicyStatus,
        spec_required=False,
        root_validations=(
            api.cel(
                "self.metadata.name == 'default'", "the PlatformPolicy must be named default (there is one per cluster)"
            ),
        ),
        printer_columns=(AGE,),
    ),
)


def structural(schema: JsonSchema) -> JsonSchema:
    """Turn a pydantic JSON Schema into a structural CRD schema (inline refs, drop nulls)."""
    defs = schema.get("$defs", {})

    def walk(node: JsonSchema) -> JsonSchema:
        node = dict(node)
        if "$ref" in node:
            target = copy.deepcopy(defs[node.pop("$ref").split("/")[-1]])
            target.update(node)  # field-level description and extensions win
            node = target
        if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
            variants = [v for v in node.pop("anyOf") if v.get("type") != "null"]
            if len(variants) != 1:
                raise ValueError(f"cannot express union {variants} in a structural schema")
            merged = walk(variants[0])
            merged.update({k: v for k, v in node.items() if k not in merged or k == "description"})
            node = merged
        if node.get("const") is not None:
            node["enum"] = [node.pop("const")]
        for key in _DROP:
            node.pop(key, None)
        node.pop("$defs", None)
        if "properties" in node:
            node["properties"] = {k: walk(v) for k, v in node["properties"].items()}
            node["type"] = "object"
        if "items" in node:
            node["items"] = walk(node["items"])
        return _order(node)

    return walk(schema)


_KEY_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "required",
    "properties",
    "items",
)


def _order(node: JsonSchema) -> JsonSchema:
    """Stable, readable key order: description first, extensions last."""
    ordered = {k: node[k] for k in _KEY_ORDER if k in node}
    ordered.update({k: node[k] for k in sorted(node) if k not in ordered})
    return ordered


def _model_schema(model: type[BaseModel]) -> JsonSchema:
    return structural(model.model_json_schema(by_alias=True, mode="validation"))


def crd(kind: Kind) -> dict[str, Any]:
    """The CustomResourceDefinition of one kind."""
    properties: JsonSchema = {
        "apiVersion": {"description": "API version: microapp.dev/v1alpha1.", "type": "string"},
        "kind": {"description": f"Kind: {kind.kind}.", "type": "string"},
        "metadata": {"type": "object"},
        "spec": _model_schema(kind.spec),
    }
    if kind.status is not None:
        properties["status"] = _model_schema(kind.status)
    root: JsonSchema = {"description": kind.description, "type": "object", "properties": properties}
    if kind.spec_required:
        root["required"] = ["spec"]
    if kind.root_validations:
        root["x-kubernetes-validations"] = list(kind.root_validations)
    version: dict[str, Any] = {
        "name": api.VERSION,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": root},
        "additionalPrinterColumns": list(kind.printer_columns),
    }
    subresources: dict[str, Any] = {}
    if kind.status is not None:
        subresources["status"] = {}
    if kind.scale:
        subresources["scale"] = {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        }
    if subresources:
        version["subresources"] = subresources
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.crd_name, "labels": {"app.kubernetes.io/part-of": "microapp-operator"}},
        "spec": {
            "group": api.GROUP,
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": [api.CATEGORY],
            },
            "scope": kind.scope,
            "versions": [version],
        },
    }


def render_all() -> dict[str, str]:
    """File name -> YAML text of every CRD, as committed under ``crds/``."""
    header = "# Generated by `make crds` from operator/microapp_operator/api.py. Do not edit.\n"
    return {f"{api.GROUP}_{k.plural}.yaml": header + yaml.safe_dump(crd(k), sort_keys=False, width=100) for k in KINDS}


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written
