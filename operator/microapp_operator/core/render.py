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
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
import yaml

from ..api import types as api
from . import sandbox, skeleton
from .sandbox import RenderError, RenderLimit  # noqa: F401 - the pipeline's typed error lives here

MAX_OUTPUT = 512 * 1024
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def _finalize(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        raise RenderError(f"template uses an undefined value: {value._undefined_message}")
    sandbox.charge()
    held = skeleton.placeholder(value)  # while a skeleton renders
    if held is not None:
        return held
    text = json.dumps(value, ensure_ascii=False, sort_keys=False)
    # JSON escapes C0 controls; YAML refuses DEL, C1 controls and U+FFFE/U+FFFF raw, and folds NEL
    # and the line and paragraph separators: escape those too (YAML reads \uXXXX back as the same).
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _UNPRINTABLE.search(text) else text


@functools.lru_cache(maxsize=1)
def _environment() -> sandbox.Sandbox:
    return sandbox.Sandbox(
        undefined=jinja2.StrictUndefined, finalize=_finalize, autoescape=False, keep_trailing_newline=True
    )


@functools.lru_cache(maxsize=512)
def _compile(name: str, version: str, digest: str, source: str) -> jinja2.Template:
    """Compiled template, cached by (name, version, content digest)."""
    try:
        return _environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template {name}@{version} has a syntax error on line {exc.lineno}: {exc.message}") from None


def compiled(template: api.AppTemplateSpec) -> jinja2.Template:
    return _compile(template.template_name, template.version, _digest(template.manifests), template.manifests)


@functools.lru_cache(maxsize=512)
def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


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


def context(
    values: AppValues, parameters: Mapping[str, Any], labels: Mapping[str, str], selector: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "app": values.__dict__.copy(),
        "params": dict(parameters),
        "labels": dict(labels),
        "selector": dict(selector),
    }


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
    if not skeleton.writes_straight(digest, template.manifests, _environment()) or not skeleton.pays(digest):
        return render_text(template, ctx)
    with skeleton.recording() as recorded:
        try:
            text: str | None = _generate(jinja_template, ctx)
        except RenderLimit as exc:  # the text path would only spend the budget again
            raise RenderError(f"template {template.template_name}@{template.version}: {exc}") from None
        except Exception:  # noqa: BLE001 - the full render below raises the proper RenderError
            text = None
    if text is not None:
        try:
            return skeleton.fill(digest, text, recorded, limit=MAX_OUTPUT)
        except skeleton.Unusual:
            pass
    return render_text(template, ctx)


def render_text(template: api.AppTemplateSpec, ctx: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Render the text in full and parse it: the reference behaviour, and every error."""
    where = f"template {template.template_name}@{template.version}"
    jinja_template = compiled(template)  # (a syntax error names the template already)
    try:
        text = _generate(jinja_template, ctx)
    except RenderError as exc:
        raise RenderError(f"{where}: {exc}") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{where}: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise RenderError(f"{where} tried something the sandbox forbids: {exc}") from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise RenderError(f"{where} failed to render: {exc}") from None
    except RecursionError:
        raise RenderError(f"{where} recursed too deeply (a macro calling itself?)") from None
    except MemoryError:
        raise RenderError(f"{where} ran out of memory while rendering") from None
    return list(_documents(text, where))


def _generate(template: jinja2.Template, ctx: Mapping[str, Any]) -> str:
    """The rendered text, within the sandbox's budget; stops as soon as it passes MAX_OUTPUT."""
    parts, size = [], 0
    with sandbox.budget():
        for chunk in template.generate(**ctx):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise RenderLimit(f"rendered more than {MAX_OUTPUT} bytes; the limit is {MAX_OUTPUT}")
            parts.append(chunk)
    return "".join(parts)


def _documents(text: str, where: str) -> Iterator[dict[str, Any]]:
    try:
        docs = list(yaml.load_all(text, Loader=skeleton.LOADER))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" on rendered line {mark.line + 1}" if mark is not None else ""
        raise RenderError(f"{where} rendered invalid YAML{line}: {getattr(exc, 'problem', exc)}") from None
    except UnicodeEncodeError as exc:
        raise RenderError(
            f"{where} rendered text that is not valid Unicode ({exc.reason}); "
            f"check the app's values for broken characters"
        ) from None
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise RenderError(f"{where}: rendered document {i + 1} is not an object")
        yield doc
