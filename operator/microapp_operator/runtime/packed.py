"""Objects kept as compressed JSON bytes: the operator's caches at thousands of apps.

A decoded object takes about four times its JSON in Python objects (a MicroApp with its
status: 2 KB of JSON, about 8-10 KB decoded). The child cache and the world's MicroApps keep
each object packed, with the few fields read often beside it, and decode it on each read;
every reader therefore gets its own copy, and none can change what is kept.

Packed is orjson, then zlib: the objects the API server returns repeat their keys and its
defaults, so they shrink 2-3 times (about 50 microseconds to pack, 20 to read back, on each
watch event and each read of a child; a settled app's resync reads nothing).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson


class Packed(NamedTuple):
    """One kept object: its resourceVersion, and the object as compressed JSON."""

    rv: str | None
    data: bytes

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Packed:
        return cls((obj.get("metadata") or {}).get("resourceVersion"), zlib.compress(orjson.dumps(obj)))

    def unpack(self) -> dict[str, Any]:
        return dict(orjson.loads(zlib.decompress(self.data)))
