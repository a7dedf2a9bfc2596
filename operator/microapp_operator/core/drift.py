"""Is a live object already what we would apply? (pure)

Server-side apply of an unchanged object is still a write request; at thousands of apps a
resync would hammer the API server. The reconciler applies only when some field we set
differs from the live object. Fields the server or other controllers add are ignored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

HASH_ANNOTATION = "microapp.dev/applied-hash"

# Paths whose live value legitimately differs from what was applied.
_IGNORED_TOP = {"status"}


def contains(live: Any, desired: Any) -> bool:
    """True when every field of ``desired`` has the same value in ``live``."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(contains(live[k], v) if k in live else omitted(v) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(contains(lv, dv) for lv, dv in zip(live, desired))
        )
    if isinstance(desired, bool) or isinstance(live, bool):
        return live is desired
    if (
        isinstance(desired, (int, float))
        and isinstance(live, str)
        or isinstance(live, (int, float))
        and isinstance(desired, str)
    ):
        return str(live) == str(desired)  # quantities: 1 vs "1"
    return bool(live == desired)


def omitted(value: Any) -> bool:
    """The API server drops empty values of omitempty fields (``env: []``, ``value: ""``)."""
    return value is None or value is False or value in ("", 0) or value == [] or value == {}


def with_hash(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy carrying the hash of what is applied. "Live contains desired" cannot see a field
    that was dropped from the desired object (an annotation, a map key); the hash can."""
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:20]
    meta = dict(obj.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), HASH_ANNOTATION: digest}
    return {**obj, "metadata": meta}


def in_sync(live: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    """Whether applying ``desired`` would change nothing we own."""
    if live is None:
        return False
    return contains(
        {k: v for k, v in live.items() if k not in _IGNORED_TOP},
        {k: v for k, v in desired.items() if k not in _IGNORED_TOP},
    )
