"""The Jinja sandbox every AppTemplate renders in, with a work and size budget (pure).

Jinja's ``ImmutableSandboxedEnvironment`` stops attribute access toward Python internals and
mutation of lists and dicts; it does not stop a template from running for ever or filling
memory (a loop over a loop, a string doubled a thousand times, a width of 10^9). Every render
therefore gets a budget, counted deterministically (no clock: the same template and values
always stop at the same place):

* steps: loop iterations, calls, filters, attribute and item lookups, operators, output chunks
  (:data:`MAX_STEPS`, about a second of CPU on this machine at most);
* bytes: text and lists built along the way (:data:`MAX_BYTES`), besides the output limit;
* operators that multiply size (``*``, ``**``, ``%`` on text) and filters or methods taking a
  width are checked before they run; ``lipsum``, ``cycler``, ``joiner`` and ``namespace`` are
  not available (``namespace`` is the only way to carry state across loop iterations).

Exceeding a budget raises :class:`RenderLimit`, a RenderError: the app stalls with
TemplateFailed, and other apps keep being served.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment


class RenderError(ValueError):
    """The template or its inputs cannot produce objects; the message says why and where."""


class RenderLimit(RenderError):
    """The template used more work or memory than a render may."""


MAX_STEPS = 1_000_000
MAX_BYTES = 8 * 1024 * 1024
MAX_WIDTH = 256  # widths and indents a filter may pad to
MAX_POWER_BITS = 64  # results of ** above 2^64 are never a manifest value
_COUNTED = "microapp_counted"
_UNSAFE_METHODS = frozenset({"format", "format_map", "center", "ljust", "rjust", "zfill", "expandtabs"})
_REMOVED_FILTERS = ("center", "format", "wordwrap", "urlize", "xmlattr")


@dataclass
class Budget:
    steps: int = MAX_STEPS
    bytes: int = MAX_BYTES


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("microapp_render_budget", default=None)


@contextlib.contextmanager
def budget(steps: int = MAX_STEPS, size: int = MAX_BYTES) -> Iterator[Budget]:
    """One render's budget (nested renders share the outer one)."""
    if _BUDGET.get() is not None:
        yield _BUDGET.get()  # type: ignore[misc]
        return
    current = Budget(steps, size)
    token = _BUDGET.set(current)
    try:
        yield current
    finally:
        _BUDGET.reset(token)


def charge(steps: int = 1, size: int = 0) -> None:
    current = _BUDGET.get()
    if current is None:
        return
    current.steps -= steps
    current.bytes -= size
    if current.steps < 0:
        raise RenderLimit(
            f"the template did more than {MAX_STEPS:,} steps of work (an endless or exponential loop?); simplify it"
        )
    if current.bytes < 0:
        raise RenderLimit(
            f"the template built more than {MAX_BYTES // (1024 * 1024)} MiB of text or lists "
            f"while rendering; simplify it"
        )


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple, dict, set)) else 0


def _counted(value: Any) -> Iterator[Any]:
    """Every loop's iterable: one step per iteration."""
    for item in value:
        charge()
        yield item


def _bounded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that pays for its work and its result."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        charge()
        if name == "indent":
            width = kwargs.get("width", args[1] if len(args) > 1 else 4)
            if (len(width) if isinstance(width, str) else int(width or 0)) > MAX_WIDTH:
                raise RenderLimit(f"indent width over {MAX_WIDTH}")
        if name == "replace":
            texts = [a for a in args if isinstance(a, str)]
            if len(texts) >= 3:
                _check_replace(*texts[:3])
        result = fn(*args, **kwargs)
        charge(size=_size(result))
        return result

    return wrapper


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        count = text.count(old) if old else len(text) + 1
        if len(text) + count * max(len(new) - len(old), 0) > MAX_BYTES:
            raise RenderLimit("replace() would build more text than a render may")


class _Codegen(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        """``a ~ b`` through the budget (doubling a string in a row of statements is exponential)."""
        self.write("environment.bounded_concat(context, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _Codegen

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name in ("lipsum", "cycler", "joiner", "namespace"):
            self.globals.pop(name, None)
        for name in _REMOVED_FILTERS:
            self.filters.pop(name, None)
        self.filters = {name: _bounded(name, fn) for name, fn in self.filters.items()}
        self.filters[_COUNTED] = _counted

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Every ``{% for %}`` iterates through the budget."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _COUNTED, [], [], None, None, lineno=loop.lineno)
        return tree

    def bounded_concat(self, context: jinja2.runtime.Context, parts: tuple[Any, ...]) -> str:
        joined = markup_join(parts) if context.eval_ctx.autoescape else str_join(parts)
        charge(size=len(joined))
        return joined

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        charge()
        if (
            operator == "*"
            and isinstance(right, int)
            and _size(left) * max(right, 0) > MAX_BYTES
            or operator == "*"
            and isinstance(left, int)
            and _size(right) * max(left, 0) > MAX_BYTES
        ):
            raise RenderLimit("the template multiplies text or a list beyond what a render may build")
        if operator == "**" and not _small_power(left, right):
            raise RenderLimit(f"the template computes a power above 2^{MAX_POWER_BITS}")
        if operator == "%" and isinstance(left, str):
            raise RenderLimit("%-formatting of text is not available in templates; compose with ~")
        result = super().call_binop(context, operator, left, right)
        charge(size=_size(result))
        return result

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Text methods that pad to a width (or format with one) are refused outright: their
        result is allocated before any budget could see it."""
        if isinstance(obj, str) and attr in _UNSAFE_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        charge()
        if getattr(__obj, "__name__", "") == "replace" and isinstance(getattr(__obj, "__self__", None), str):
            _check_replace(__obj.__self__, *args[:2])
        result = super().call(__context, __obj, *args, **kwargs)
        charge(size=_size(result))
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        charge()
        if isinstance(obj, str) and attribute in _UNSAFE_METHODS:  # before Jinja wraps str.format
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        charge()
        return super().getitem(obj, argument)


def _small_power(base: Any, exponent: Any) -> bool:
    if not isinstance(base, (int, float)) or not isinstance(exponent, (int, float)):
        return True  # the operator itself raises TypeError
    if abs(base) <= 1 or exponent <= 1:
        return abs(exponent) <= 10_000
    return math.log2(abs(base)) * exponent <= MAX_POWER_BITS
