"""Objects kept as compact JSON bytes: the operator's caches at thousands of apps.

A decoded object takes about four times its JSON in Python objects (a MicroApp with its
status: 2 KB of JSON, about 8-10 KB decoded). The child cache and the world's MicroApps keep
each object packed (orjson) with the few fields read often beside it, and decode it on each
read; every reader therefore gets its own copy, and none can change what is kept.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import orjson


class Packed(NamedTuple):
    """One kept object: its resourceVersion, and the object as JSON bytes."""

    rv: str | None
    data: bytes

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> "Packed":
        return cls((obj.get("metadata") or {}).get("resourceVersion"), orjson.dumps(obj))

    def unpack(self) -> dict[str, Any]:
        return dict(orjson.loads(self.data))
