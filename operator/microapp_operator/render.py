"""Render an AppTemplate for one MicroApp (pure).

Templates are Jinja2, run in an ``ImmutableSandboxedEnvironment``, compiled once per
(name, version, source). Every ``{{ expression }}`` is finalized to one JSON value, which is
also one YAML value: a user's ``"x\\nkind: ClusterRole"`` comes out as a quoted string, and
``"{{ 7*7 }}"`` in a value is never evaluated (Jinja does not re-render data). Template
authors compose inside the expression: ``{{ app.name ~ "-worker" }}``, not
``{{ app.name }}-worker``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import jinja2
import jsonschema
import yaml
from croniter import croniter
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import api

MAX_OUTPUT = 512 * 1024
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster


class RenderError(ValueError):
    """The template or its inputs cannot produce objects; the message says why and where."""


def _finalize(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        raise RenderError(f"template uses an undefined value: {value._undefined_message}")
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


@functools.lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, finalize=_finalize, autoescape=False,
        keep_trailing_newline=True)


@functools.lru_cache(maxsize=512)
def _compile(name: str, version: str, digest: str, source: str) -> jinja2.Template:
    """Compiled template, cached by (name, version, content digest)."""
    try:
        return _environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template {name}@{version} has a syntax error on line {exc.lineno}: "
                          f"{exc.message}") from None


def compiled(template: api.AppTemplateSpec) -> jinja2.Template:
    digest = hashlib.sha256(template.manifests.encode()).hexdigest()
    return _compile(template.template_name, template.version, digest, template.manifests)


# --- parameters -------------------------------------------------------------------------

_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("cron", raises=ValueError)
def _is_cron(value: object) -> bool:
    """Kubernetes CronJob syntax: five fields or a @descriptor."""
    if not isinstance(value, str):
        return True
    if not (value.startswith("@") or len(value.split()) == 5) or not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a cron schedule (five fields, e.g. '0 6 * * 1-5', or @daily)")
    return True


def _path(error: jsonschema.ValidationError) -> str:
    parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"spec.parameters{parts}"


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return f"{error.message}; remove it or check the template's parameters (kubectl get apptemplate -o yaml)"
    if error.validator == "format" and error.cause is not None:
        return str(error.cause)
    return error.message


def with_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """Fill ``default`` of object properties, recursively, without changing given values."""
    if not isinstance(value, dict) or schema.get("type") != "object":
        return value
    out = dict(value)
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, Mapping):
            continue
        if key not in out and "default" in sub:
            out[key] = sub["default"]
        if key in out:
            out[key] = with_defaults(sub, out[key])
    return out


def template_parameters(schema: Mapping[str, Any] | None, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parameters as a template sees them: defaults filled, declared-but-unset ones None
    (so ``{% if params.autoscale %}`` works under StrictUndefined)."""
    schema = schema or {}
    filled = with_defaults(schema, dict(parameters or {}))
    return {**{k: None for k in schema.get("properties") or {}}, **filled}


@functools.lru_cache(maxsize=512)
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    """Checked and built once per distinct schema (templates are immutable)."""
    schema = json.loads(schema_json)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=_FORMATS)


def validate_parameters(schema: Mapping[str, Any] | None, parameters: Mapping[str, Any] | None) -> list[str]:
    """Every problem with ``spec.parameters``, each naming its field path. No side effects."""
    if not schema:
        return [] if not parameters else ["spec.parameters: this template takes no parameters; remove them"]
    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
    except jsonschema.SchemaError as exc:
        return [f"the template's parameters schema is invalid: {exc.message}"]
    try:
        errors = sorted(validator.iter_errors(dict(parameters or {})),
                        key=lambda e: list(map(str, e.absolute_path)))
    except Exception as exc:  # noqa: BLE001 - a hostile schema (e.g. a remote $ref) must not crash us
        return [f"the template's parameters schema cannot be evaluated: {str(exc).splitlines()[0]}"]
    return [f"{_path(e)}: {_message(e)}" for e in errors]


# --- rendering --------------------------------------------------------------------------

@dataclass(frozen=True)
class AppValues:
    """Everything a template may read about the app, defaults applied."""

    name: str
    namespace: str
    team: str
    image: str
    replicas: int
    port: int
    resources: dict[str, Any]
    env: list[dict[str, str]]
    expose: str
    host: str | None
    suspend: bool


def context(values: AppValues, parameters: Mapping[str, Any], labels: Mapping[str, str],
            selector: Mapping[str, str]) -> dict[str, Any]:
    return {"app": values.__dict__.copy(), "params": dict(parameters), "labels": dict(labels),
            "selector": dict(selector)}


def render(template: api.AppTemplateSpec, ctx: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Render to a list of objects (plain dicts). Raises RenderError with a plain message."""
    where = f"template {template.template_name}@{template.version}"
    try:
        text = compiled(template).render(**ctx)
    except RenderError as exc:
        raise RenderError(f"{where}: {exc}") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{where}: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise RenderError(f"{where} tried something the sandbox forbids: {exc}") from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise RenderError(f"{where} failed to render: {exc}") from None
    if len(text) > MAX_OUTPUT:
        raise RenderError(f"{where} rendered {len(text)} bytes; the limit is {MAX_OUTPUT}")
    return list(_documents(text, where))


def _documents(text: str, where: str) -> Iterator[dict[str, Any]]:
    try:
        docs = list(yaml.load_all(text, Loader=_LOADER))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" on rendered line {mark.line + 1}" if mark is not None else ""
        raise RenderError(f"{where} rendered invalid YAML{line}: {getattr(exc, 'problem', exc)}") from None
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise RenderError(f"{where}: rendered document {i + 1} is not an object")
        yield doc
