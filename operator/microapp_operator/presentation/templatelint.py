"""Checks a platform team runs on AppTemplate files before publishing them (pure):
``microapp template lint`` and ``microapp template test``.

Every example is rendered by the same pipeline as the operator (``plan.desired``: parameters,
render, rendered-object rules) and judged by the same guardrails, so a template that lints
clean cannot stall an app that follows its example. Versions are checked against the
published catalog: published ones unchanged, new ones semver-greater and in the changelog.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import semantic_version
import yaml
from pydantic import ValidationError

from ..api import types as api
from ..core import catalog, guardrails, plan
from . import examples


@dataclass(frozen=True)
class Source:
    """One YAML document of a template file."""

    path: str
    obj: Mapping[str, Any]


@dataclass(frozen=True)
class Template:
    """A parsed AppTemplate and the file it came from."""

    path: str
    name: str  # metadata.name
    spec: api.AppTemplateSpec

    @property
    def where(self) -> str:
        return f"{self.path}: AppTemplate {self.spec.template_name}@{self.spec.version}"


def parse(sources: Iterable[Source]) -> tuple[list[Template], list[str]]:
    """The AppTemplates among the documents, and a finding for each that is not one."""
    parsed, found = [], []
    for src in sources:
        if src.obj.get("kind") != "AppTemplate":
            found.append(
                f"{src.path}: a {src.obj.get('kind') or 'document without kind'} is not an AppTemplate; "
                "keep only AppTemplates in the template directory"
            )
            continue
        name = str((src.obj.get("metadata") or {}).get("name") or "")
        try:
            parsed.append(Template(src.path, name, api.AppTemplateSpec.model_validate(src.obj.get("spec") or {})))
        except ValidationError as exc:
            found += [f"{src.path}: AppTemplate {name or '(no metadata.name)'}: {e}" for e in _errors(exc)]
    return parsed, found


def _errors(exc: ValidationError) -> list[str]:
    def one(err: Mapping[str, Any]) -> str:
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = "spec" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        if err["type"] == "extra_forbidden":
            msg = "unknown field; check the spelling"
        explain = "apptemplate." + ".".join(str(p) for p in ("spec", *err["loc"]) if not isinstance(p, int))
        return f"{field}: {msg} (kubectl explain {explain} describes the field)"

    return [one(e) for e in exc.errors()]


def lint(
    sources: Iterable[Source], published: Iterable[api.AppTemplateSpec], policy: api.PlatformPolicySpec | None = None
) -> list[str]:
    """Every problem of the template files, each naming the file, the template, the field and the fix."""
    templates, found = parse(sources)
    for t in templates:
        found += check(t, policy or api.PlatformPolicySpec())
    found += versions(templates, list(published))
    return sorted(found, key=lambda finding: finding.split(": ", 1)[0])  # by file, in check order


def check(t: Template, policy: api.PlatformPolicySpec) -> list[str]:
    """One template on its own: name, parameter schema, and every example end to end."""
    found = []
    expected = f"{t.spec.template_name}-{t.spec.version}"
    if t.name != expected:
        found.append(
            f"{t.where}: metadata.name is {t.name or 'missing'}; name it {expected} (NAME-VERSION), "
            "so publishing a version never replaces another"
        )
    schema_problem = schema_error(t.spec.parameters)
    if schema_problem:
        return found + [f"{t.where}: spec.parameters: {schema_problem}"]
    if not t.spec.examples:
        found.append(
            f"{t.where}: spec.examples: none; add at least one (e.g. - {{name: basic}}): the catalog "
            "shows it and lint renders it"
        )
    names = [ex.name for ex in t.spec.examples or []]
    found += [
        f"{t.where}: spec.examples: {n} appears more than once; give each example its own name"
        for n in sorted({n for n in names if names.count(n) > 1})
    ]
    for i, ex in enumerate(t.spec.examples or []):
        found += [
            f"{t.where}, example {ex.name} (spec.examples[{i}]): {p}" for p in example_problems(t.spec, ex, policy)
        ]
    return found


def schema_error(schema: Mapping[str, Any] | None) -> str | None:
    """Why ``spec.parameters`` is not a usable JSON Schema, or None."""
    if not schema:
        return None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        at = "/".join(map(str, exc.absolute_path)) or "the top level"
        return f"not a valid JSON Schema (Draft 2020-12): {exc.message} (at {at})"
    if schema.get("type") != "object":
        return "the schema must have type: object (MicroApp.spec.parameters is a mapping)"
    return None


def render(
    spec: api.AppTemplateSpec, example: api.TemplateExample, policy: api.PlatformPolicySpec | None = None
) -> tuple[plan.App, plan.Plan]:
    """The example rendered by the operator's pipeline, pinned to this exact version; PlanError
    (with every problem) if it does not render."""
    app = plan.parse(examples.app(spec, example, exact=True))
    return app, plan.desired(app, [spec], pinned=spec.version, policy=policy)  # pinned: deprecated ones too


def example_problems(
    spec: api.AppTemplateSpec, example: api.TemplateExample, policy: api.PlatformPolicySpec
) -> list[str]:
    """Why the example would not run: invalid spec or parameters, a render or rendered-object
    failure, or a guardrail it breaks."""
    try:
        app, result = render(spec, example, policy)
    except plan.PlanError as exc:
        return exc.problems
    return guardrails.evaluate_workload(app.spec, result.objects, policy)


def versions(templates: list[Template], published: list[api.AppTemplateSpec]) -> list[str]:
    """Published versions unchanged; new ones greater than the newest published and in the changelog."""
    found, seen = [], {}
    for t in templates:
        key = (t.spec.template_name, t.spec.version)
        if key in seen:
            found.append(f"{t.where}: also defined in {seen[key]}; keep one file per version")
            continue
        seen[key] = t.path
        same = [p for p in published if p.template_name == t.spec.template_name]
        twin = next((p for p in same if p.version == t.spec.version), None)
        if twin is not None:
            if _content(twin) != _content(t.spec):
                found.append(
                    f"{t.where}: differs from the published version; a published AppTemplate is "
                    f"immutable: publish it as a new version (e.g. {_bump(same)}) with a changelog entry"
                )
            continue
        newest = catalog.newest_first(same)[0].version if same else None
        if newest and not catalog.is_newer(t.spec.version, newest):
            found.append(
                f"{t.where}: spec.version {t.spec.version} is not greater than {newest}, the newest "
                f"published version of {t.spec.template_name}; use e.g. {_bump(same)}"
            )
        if not any(entry.version == t.spec.version for entry in t.spec.changelog or []):
            found.append(
                f"{t.where}: spec.changelog has no entry for {t.spec.version}; add "
                f"- {{version: {t.spec.version}, note: what changed and what apps must do}}"
            )
    return found


def _content(spec: api.AppTemplateSpec) -> dict[str, Any]:
    return spec.model_dump(exclude={"deprecated"}, exclude_none=True)


def _bump(same: list[api.AppTemplateSpec]) -> str:
    newest = semantic_version.Version(catalog.newest_first(same)[0].version)
    return f"{newest.next_patch()} or {newest.next_minor()}"


def golden_path(spec: api.AppTemplateSpec, example: api.TemplateExample) -> str:
    """Where an example's expected output lives, relative to the template directory."""
    return f"golden/{spec.template_name}@{spec.version}/{example.name}.yaml"


def rendered_text(objects: Iterable[Mapping[str, Any]]) -> str:
    """The objects as ``microapp render`` prints them."""
    return yaml.safe_dump_all(list(objects), sort_keys=False)


def diff(expected: str, actual: str, path: str) -> list[str]:
    """A unified diff from the golden file to the fresh render; empty when equal."""
    return list(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{path} (golden)",
            tofile=f"{path} (rendered now)",
        )
    )
