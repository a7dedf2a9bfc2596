"""Kubernetes resource quantities as Decimals (pure), with apimachinery's grammar.

Shared by the rendered-object rules (which refuse what does not parse), the cost model and
the guardrails. Values past 10^18 (an exabyte, an exa-core) are refused: no real request is
that large, and Decimal arithmetic on them would overflow.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..api.base import QUANTITY_PATTERN

_SUFFIX = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_GRAMMAR = re.compile(QUANTITY_PATTERN)
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")
_LIMIT = Decimal(10) ** 18


class QuantityError(ValueError):
    """Not a Kubernetes quantity (or an absurd one)."""


GIB = Decimal(2) ** 30


def quantity(value: Any) -> Decimal:
    """A Kubernetes quantity as a Decimal (cores for CPU, bytes for memory)."""
    if value is None:
        return Decimal(0)
    return _quantity(str(value).strip())


@functools.lru_cache(maxsize=4096)
def _quantity(text: str) -> Decimal:
    """Cached: every estimate parses the same few dozen quantities (Decimals are immutable)."""
    m = _QUANTITY.match(text)
    if not m or not _GRAMMAR.match(text) or len(text) > 64:
        raise QuantityError(f"{text[:64]!r} is not a Kubernetes quantity (examples: 250m, 1, 512Mi, 2Gi)")
    try:
        value = Decimal(m.group(1)) * _SUFFIX[m.group(2) or ""]
    except InvalidOperation:
        raise QuantityError(f"{text!r} is not a Kubernetes quantity") from None
    if not value.is_finite() or abs(value) > _LIMIT:
        raise QuantityError(f"{text!r} is out of range for a Kubernetes quantity")
    return value
