"""Render an AppTemplate for one MicroApp (pure).

Templates are Jinja2, run in an ``ImmutableSandboxedEnvironment``, compiled once per
(name, version, source). Every ``{{ expression }}`` is finalized to one JSON value, which is
also one YAML value: a user's ``"x\\nkind: ClusterRole"`` comes out as a quoted string, and
``"{{ 7*7 }}"`` in a value is never evaluated (Jinja does not re-render data). Template
authors compose inside the expression: ``{{ app.name ~ "-worker" }}``, not
``{{ app.name }}-worker``.
"""

from __future__ import annotations

import contextvars
import datetime
import functools
import hashlib
import json
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

import jinja2
import jsonschema
import yaml
from croniter import croniter
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import api
from .memo import ByIdentity

MAX_OUTPUT = 512 * 1024
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster


class RenderError(ValueError):
    """The template or its inputs cannot produce objects; the message says why and where."""


# While a skeleton is rendered (see ``render``), expressions are recorded here and replaced by
# placeholders; otherwise they are written as JSON.
_RECORDED: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("microapp_render_values",
                                                                            default=None)
_TOKEN = f"mappv{secrets.token_hex(8)}x"  # a plain YAML string no template or value can predict


def _finalize(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        raise RenderError(f"template uses an undefined value: {value._undefined_message}")
    recorded = _RECORDED.get()
    if recorded is None:
        return json.dumps(value, ensure_ascii=False, sort_keys=False)
    recorded.append(value)
    return f"{_TOKEN}{len(recorded) - 1}y"


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
    return _compile(template.template_name, template.version, _digest(template.manifests), template.manifests)


@functools.lru_cache(maxsize=512)
def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


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


# By the schema object first: serializing it for the key cost more than validating.
_VALIDATOR_FOR: ByIdentity[Mapping[str, Any], jsonschema.Draft202012Validator] = ByIdentity(
    lambda schema: _validator(json.dumps(schema, sort_keys=True)), size=512)


def validate_parameters(schema: Mapping[str, Any] | None, parameters: Mapping[str, Any] | None) -> list[str]:
    """Every problem with ``spec.parameters``, each naming its field path. No side effects."""
    if not schema:
        return [] if not parameters else ["spec.parameters: this template takes no parameters; remove them"]
    try:
        validator = _VALIDATOR_FOR(schema)
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
    """Render to a list of objects (plain dicts). Raises RenderError with a plain message.

    Parsing the YAML is most of the cost, and the text only varies in the values its
    ``{{ }}`` write. So the template is first rendered with a placeholder for every value
    (the skeleton), the skeleton is parsed once per distinct control flow and cached, and each
    render fills the values into a copy. That gives exactly what parsing the JSON-filled text
    gives, or it is not used: whenever the template, a value or the skeleton is unusual (output
    through filter or set blocks, macros or autoescape; a float, a string YAML would fold; a
    placeholder in a quoted string, a tag, an alias), the text is rendered and parsed in full
    (``render_text``), which also produces any error message."""
    jinja_template = compiled(template)
    digest = _digest(template.manifests)
    if not _writes_straight(digest, template.manifests) or not _skeletons_pay(digest):
        return render_text(template, ctx)
    recorded: list[Any] = []
    token = _RECORDED.set(recorded)
    try:
        skeleton = jinja_template.render(**ctx)
    except Exception:  # noqa: BLE001 - the full render below raises the proper RenderError
        skeleton = None
    finally:
        _RECORDED.reset(token)
    if skeleton is not None:
        try:
            return _filled(template, skeleton, recorded)
        except _Unusual:
            pass
    return render_text(template, ctx)


def render_text(template: api.AppTemplateSpec, ctx: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Render the text in full and parse it: the reference behaviour, and every error."""
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
    except UnicodeEncodeError as exc:
        raise RenderError(f"{where} rendered text that is not valid Unicode ({exc.reason}); "
                          f"check the app's values for broken characters") from None
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise RenderError(f"{where}: rendered document {i + 1} is not an object")
        yield doc


# --- the skeleton cache -----------------------------------------------------------------

class _Unusual(Exception):
    """This render needs the full text path."""


Builder = Callable[[list[Any]], list[dict[str, Any]]]
_SKELETONS: OrderedDict[tuple[str, str], Builder | None] = OrderedDict()
_SKELETON_CACHE_SIZE = 256
_HIT_MISS: dict[str, tuple[int, int]] = {}  # template digest -> skeleton cache (hits, misses)
_MISSES_BEFORE_JUDGING = 64
_PLACEHOLDER = re.compile(re.escape(_TOKEN) + r"\d+y")
# Characters a JSON string may carry raw (json.dumps escapes the C0 controls) that YAML reads
# back unchanged inside double quotes: no C1 controls, line or paragraph separators, BOM.
_PLAIN_TEXT = re.compile("[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                         "\U00010000-\U0010ffff]*")
_IMMUTABLE = (str, int, float, bool, type(None), bytes, datetime.date)
_MAX_KEY = 160  # libyaml limits implicit keys to 1024 characters, and JSON may escape 1 to 6


# Statements under which every {{ }} goes straight into the output text. Anything else (filter
# and autoescape blocks, {% set %} blocks, macros, call blocks) could transform or capture the
# written text, and would see placeholders instead of JSON.
_STRAIGHT = (jinja2.nodes.Template, jinja2.nodes.Output, jinja2.nodes.For, jinja2.nodes.If,
             jinja2.nodes.With, jinja2.nodes.Assign, jinja2.nodes.Expr, jinja2.nodes.Helper)


@functools.lru_cache(maxsize=512)
def _writes_straight(digest: str, source: str) -> bool:
    """Whether the skeleton may be used for this template (by its digest; parsed once)."""
    try:
        tree = _environment().parse(source)
    except jinja2.TemplateSyntaxError:
        return False
    return all(isinstance(node, _STRAIGHT) for node in tree.find_all(jinja2.nodes.Node))


def _filled(template: api.AppTemplateSpec, skeleton: str, recorded: list[Any]) -> list[dict[str, Any]]:
    """The documents of the skeleton with the recorded values filled in."""
    values, size = [], len(skeleton)  # (placeholders included: an upper bound is enough)
    for value in recorded:
        converted, bound = _as_yaml(value)
        values.append(converted)
        size += bound
    if size > MAX_OUTPUT:
        raise _Unusual  # near the limit: let the full render measure exactly
    build = _parsed(template, skeleton, len(recorded))
    if build is None:
        raise _Unusual
    return build(values)


def _as_yaml(value: Any) -> tuple[Any, int]:
    """(what YAML reads back from ``json.dumps(value)``, an upper bound of that JSON's length);
    _Unusual when that is not simply the value itself."""
    kind = type(value)
    if kind is str:
        if not (value.isascii() and value.isprintable()) and not _PLAIN_TEXT.fullmatch(value):
            raise _Unusual  # (printable ASCII, the usual case, is \x20-\x7e: checked in C)
        return value, 6 * len(value) + 2
    if kind is bool or value is None:
        return value, 5
    if kind is int:
        return value, len(str(value))
    if kind is list:
        items = [_as_yaml(v) for v in value]
        return [v for v, _ in items], sum(n + 2 for _, n in items) + 2
    if kind is dict:
        out, size = {}, 2
        for k, v in value.items():
            if type(k) is not str or len(k) > _MAX_KEY or not _PLAIN_TEXT.fullmatch(k):
                raise _Unusual
            out[k], n = _as_yaml(v)
            size += 6 * len(k) + n + 6
        return out, size
    raise _Unusual  # floats (YAML 1.1 reads 1e+20 as a string), tuples, anything exotic


def _skeletons_pay(digest: str) -> bool:
    """False for a template whose control flow differs for nearly every app (a miss costs
    about twice a full-text render): it is rendered as text from then on."""
    hits, misses = _HIT_MISS.get(digest, (0, 0))
    return misses < _MISSES_BEFORE_JUDGING or hits >= misses


def _parsed(template: api.AppTemplateSpec, skeleton: str, count: int) -> Builder | None:
    """What builds the skeleton's documents from the values, made once per (template,
    skeleton); None when a placeholder is anywhere but a whole plain scalar, once each, in a
    tree without shared nodes."""
    digest = _digest(template.manifests)
    key = (digest, skeleton)
    hits, misses = _HIT_MISS.get(digest, (0, 0))
    if len(_HIT_MISS) > 4096:
        _HIT_MISS.clear()
    if key in _SKELETONS:
        _HIT_MISS[digest] = (hits + 1, misses)
        _SKELETONS.move_to_end(key)
        return _SKELETONS[key]
    _HIT_MISS[digest] = (hits, misses + 1)
    docs = _check_skeleton(skeleton, count)
    build = _SKELETONS[key] = None if docs is None else _builder(docs)
    if len(_SKELETONS) > _SKELETON_CACHE_SIZE:
        _SKELETONS.popitem(last=False)
    return build


def _check_skeleton(skeleton: str, count: int) -> list[Any] | None:
    if skeleton.count(_TOKEN) != count:
        return None  # a placeholder in a comment, an anchor, a tag, or glued to other text
    try:
        seen = 0
        for event in yaml.parse(skeleton, Loader=_LOADER):
            if isinstance(event, yaml.ScalarEvent) and _TOKEN in event.value:
                if not (_PLACEHOLDER.fullmatch(event.value) and event.style in (None, "")
                        and event.tag is None and event.anchor is None and event.implicit[0]):
                    return None
                seen += 1
        docs = list(yaml.load_all(skeleton, Loader=_LOADER))
    except yaml.YAMLError:
        return None  # the full render reports it
    if seen != count or not all(isinstance(d, dict) or d is None for d in docs):
        return None
    found: list[int] = []
    if not _plain_tree(docs, set(), found) or sorted(found) != list(range(count)):
        return None
    return [d for d in docs if d is not None]


def _plain_tree(node: Any, containers: set[int], found: list[int]) -> bool:
    """No node reachable twice (aliases), only dicts, lists and immutable scalars."""
    if isinstance(node, (dict, list)):
        if id(node) in containers:
            return False
        containers.add(id(node))
        items = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        return all(_plain_tree(item, containers, found) for item in items)
    if type(node) is str and node.startswith(_TOKEN):
        found.append(_index(node))
    return isinstance(node, _IMMUTABLE)


def _builder(docs: list[Any]) -> Builder | None:
    """One compiled expression that builds fresh documents, ten times faster than walking
    the tree. The code holds only brackets and indices: constants come from a table and
    values from the argument, so no template or app text is ever compiled."""
    constants: list[Any] = []

    def expr(node: Any, key: bool = False) -> str:
        if type(node) is dict:
            return "{" + ", ".join(f"{expr(k, key=True)}: {expr(v)}" for k, v in node.items()) + "}"
        if type(node) is list:
            return "[" + ", ".join(expr(v) for v in node) + "]"
        if type(node) is str and node.startswith(_TOKEN):
            return f"key(v[{_index(node)}])" if key else f"v[{_index(node)}]"
        constants.append(node)
        return f"c[{len(constants) - 1}]"

    try:
        return eval("lambda v: [" + ", ".join(map(expr, docs)) + "]",  # noqa: S307 - see above
                    {"__builtins__": {}, "c": constants, "key": _key})
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # nested deeper than Python parses
        return None  # rendered as text


def _key(value: Any) -> Any:
    if not isinstance(value, (str, int, type(None))) or (type(value) is str and len(value) > _MAX_KEY):
        raise _Unusual  # YAML refuses a mapping as a key, or a long one
    return value


def _index(placeholder: str) -> int:
    return int(placeholder[len(_TOKEN):-1])
