"""A template's parameters (pure): JSON Schema validation of ``spec.parameters`` with
field paths in every message, a ``cron`` format, and defaults filled for the template.

Validators are built once per distinct schema (templates are immutable).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import jsonschema
from croniter import croniter

from .memo import ByIdentity

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


def for_template(schema: Mapping[str, Any] | None, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
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


# By the schema object first: serializing it for the key cost more than validating.
_VALIDATOR_FOR: ByIdentity[Mapping[str, Any], jsonschema.Draft202012Validator] = ByIdentity(
    lambda schema: _validator(json.dumps(schema, sort_keys=True)), size=512
)


def validate(schema: Mapping[str, Any] | None, parameters: Mapping[str, Any] | None) -> list[str]:
    """Every problem with ``spec.parameters``, each naming its field path. No side effects."""
    if not schema:
        return [] if not parameters else ["spec.parameters: this template takes no parameters; remove them"]
    try:
        validator = _VALIDATOR_FOR(schema)
    except jsonschema.SchemaError as exc:
        return [f"the template's parameters schema is invalid: {exc.message}"]
    try:
        errors = sorted(validator.iter_errors(dict(parameters or {})), key=lambda e: list(map(str, e.absolute_path)))
    except Exception as exc:  # noqa: BLE001 - a hostile schema (e.g. a remote $ref) must not crash us
        return [f"the template's parameters schema cannot be evaluated: {str(exc).splitlines()[0]}"]
    return [f"{_path(e)}: {_message(e)}" for e in errors]
