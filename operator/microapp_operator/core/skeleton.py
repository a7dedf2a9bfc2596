"""The skeleton cache: render a template once with placeholders, parse it once per distinct
control flow, then build each app's documents by filling in its values (pure, process-wide
caches).

Parsing the rendered YAML is most of a render's cost, and the text only varies in the values
its ``{{ }}`` write. While a skeleton is rendered, ``render._finalize`` hands every value to
:func:`record` and writes a placeholder; the parsed skeleton becomes one compiled expression
that builds fresh documents from the values. Anything unusual raises :class:`Unusual`, and
the caller renders the text in full instead (the reference behaviour).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster
# While a skeleton is rendered, expressions are recorded here and replaced by placeholders.
_RECORDED: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("microapp_render_values", default=None)
TOKEN = f"mappv{secrets.token_hex(8)}x"  # a plain YAML string no template or value can predict


def placeholder(value: Any) -> str | None:
    """The placeholder for ``value`` while a skeleton is being rendered, else None."""
    recorded = _RECORDED.get()
    if recorded is None:
        return None
    recorded.append(value)
    return f"{TOKEN}{len(recorded) - 1}y"


@contextlib.contextmanager
def recording() -> Iterator[list[Any]]:
    """Record the values written while the block renders a skeleton."""
    recorded: list[Any] = []
    token = _RECORDED.set(recorded)
    try:
        yield recorded
    finally:
        _RECORDED.reset(token)


class Unusual(Exception):
    """This render needs the full text path."""


Builder = Callable[[list[Any]], list[dict[str, Any]]]
_SKELETONS: OrderedDict[tuple[str, str], Builder | None] = OrderedDict()
_SKELETON_CACHE_SIZE = 256
_HIT_MISS: dict[str, tuple[int, int]] = {}  # template digest -> skeleton cache (hits, misses)
_MISSES_BEFORE_JUDGING = 64
_PLACEHOLDER = re.compile(re.escape(TOKEN) + r"\d+y")
# Characters a JSON string may carry raw (json.dumps escapes the C0 controls) that YAML reads
# back unchanged inside double quotes: no C1 controls, line or paragraph separators, BOM.
_PLAIN_TEXT = re.compile("[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*")
_IMMUTABLE = (str, int, float, bool, type(None), bytes, datetime.date)
_MAX_KEY = 160  # libyaml limits implicit keys to 1024 characters, and JSON may escape 1 to 6


# Statements under which every {{ }} goes straight into the output text. Anything else (filter
# and autoescape blocks, {% set %} blocks, macros, call blocks) could transform or capture the
# written text, and would see placeholders instead of JSON.
_STRAIGHT = (
    jinja2.nodes.Template,
    jinja2.nodes.Output,
    jinja2.nodes.For,
    jinja2.nodes.If,
    jinja2.nodes.With,
    jinja2.nodes.Assign,
    jinja2.nodes.Expr,
    jinja2.nodes.Helper,
)


@functools.lru_cache(maxsize=512)
def writes_straight(digest: str, source: str, environment: jinja2.Environment) -> bool:
    """Whether the skeleton may be used for this template (by its digest; parsed once)."""
    try:
        tree = environment.parse(source)
    except jinja2.TemplateSyntaxError:
        return False
    return all(isinstance(node, _STRAIGHT) for node in tree.find_all(jinja2.nodes.Node))


def fill(digest: str, skeleton: str, recorded: list[Any], *, limit: int) -> list[dict[str, Any]]:
    """The documents of the skeleton with the recorded values filled in."""
    values, size = [], len(skeleton)  # (placeholders included: an upper bound is enough)
    for value in recorded:
        converted, bound = _as_yaml(value)
        values.append(converted)
        size += bound
    if size > limit:
        raise Unusual  # near the limit: let the full render measure exactly
    build = _parsed(digest, skeleton, len(recorded))
    if build is None:
        raise Unusual
    return build(values)


def _as_yaml(value: Any) -> tuple[Any, int]:
    """(what YAML reads back from ``json.dumps(value)``, an upper bound of that JSON's length);
    _Unusual when that is not simply the value itself."""
    kind = type(value)
    if kind is str:
        if not (value.isascii() and value.isprintable()) and not _PLAIN_TEXT.fullmatch(value):
            raise Unusual  # (printable ASCII, the usual case, is \x20-\x7e: checked in C)
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
                raise Unusual
            out[k], n = _as_yaml(v)
            size += 6 * len(k) + n + 6
        return out, size
    raise Unusual  # floats (YAML 1.1 reads 1e+20 as a string), tuples, anything exotic


def pays(digest: str) -> bool:
    """False for a template whose control flow differs for nearly every app (a miss costs
    about twice a full-text render): it is rendered as text from then on."""
    hits, misses = _HIT_MISS.get(digest, (0, 0))
    return misses < _MISSES_BEFORE_JUDGING or hits >= misses


def _parsed(digest: str, skeleton: str, count: int) -> Builder | None:
    """What builds the skeleton's documents from the values, made once per (template,
    skeleton); None when a placeholder is anywhere but a whole plain scalar, once each, in a
    tree without shared nodes."""
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
    if skeleton.count(TOKEN) != count:
        return None  # a placeholder in a comment, an anchor, a tag, or glued to other text
    try:
        seen = 0
        for event in yaml.parse(skeleton, Loader=LOADER):
            if isinstance(event, yaml.ScalarEvent) and TOKEN in event.value:
                if not (
                    _PLACEHOLDER.fullmatch(event.value)
                    and event.style in (None, "")
                    and event.tag is None
                    and event.anchor is None
                    and event.implicit[0]
                ):
                    return None
                seen += 1
        docs = list(yaml.load_all(skeleton, Loader=LOADER))
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
    if type(node) is str and node.startswith(TOKEN):
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
        if type(node) is str and node.startswith(TOKEN):
            return f"key(v[{_index(node)}])" if key else f"v[{_index(node)}]"
        constants.append(node)
        return f"c[{len(constants) - 1}]"

    try:
        return eval(
            "lambda v: [" + ", ".join(map(expr, docs)) + "]",  # noqa: S307 - see above
            {"__builtins__": {}, "c": constants, "key": _key},
        )
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # nested deeper than Python parses
        return None  # rendered as text


def _key(value: Any) -> Any:
    if not isinstance(value, (str, int, type(None))) or (type(value) is str and len(value) > _MAX_KEY):
        raise Unusual  # YAML refuses a mapping as a key, or a long one
    return value


def _index(text: str) -> int:
    return int(text[len(TOKEN) : -1])
