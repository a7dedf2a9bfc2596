"""Values remembered by the identity of the object they are computed from (pure helper).

For objects the operator treats as immutable once built (a template's parameter schema, the
PlatformPolicy): hashing or serializing their content would cost more than the value. Each
entry holds its object, so an ``id`` is never reused while the entry lives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ByIdentity(Generic[K, V]):
    """``build(obj)``, computed once per object (at most ``size`` objects, then forgotten)."""

    def __init__(self, build: Callable[[K], V], size: int = 64) -> None:
        self.build = build
        self.size = size
        self._entries: dict[int, tuple[K, V]] = {}

    def __call__(self, obj: K) -> V:
        hit = self._entries.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        value = self.build(obj)  # an exception is not remembered
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[id(obj)] = (obj, value)
        return value
