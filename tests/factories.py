"""The one MicroApp builder of the tests: unit, integration, chaos and delivery tests build their
MicroApps here, each naming only what it is about.

``microapp()`` is a valid app (owner alice, team finance, web-service@^1 from the internal
registry); keyword arguments are spec fields laid over it, ``annotations`` over the owner and
team, and a value of None removes that field or annotation. ``spec=`` replaces the whole spec
(taken as it is).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

API_VERSION = "microapp.dev/v1alpha1"
OWNER = "microapp.dev/owner"
TEAM = "microapp.dev/team"
COST_CENTER = "microapp.dev/cost-center"


def microapp(
    name: str = "shop",
    namespace: str = "ns",
    *,
    owner: str | None = "alice",
    team: str | None = "finance",
    annotations: Mapping[str, str | None] | None = None,
    uid: str | None = None,
    generation: int | None = None,
    typed: bool = True,
    spec: Mapping[str, Any] | None = None,
    status: Mapping[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A MicroApp as the API server holds it (``typed``: with apiVersion and kind, as kubectl
    applies it; without: as the core's parsers are handed a body)."""
    ann = {OWNER: owner, TEAM: team, **(annotations or {})}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if uid is not None:
        metadata["uid"] = uid
    if generation is not None:
        metadata["generation"] = generation
    metadata["annotations"] = {k: v for k, v in ann.items() if v is not None}
    if spec is not None and fields:
        raise TypeError("give spec= or spec fields, not both")
    if spec is None:
        merged = {"template": "web-service@^1", "image": "registry.internal/shop:1.0", **fields}
        spec = {k: v for k, v in merged.items() if v is not None}
    body: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "MicroApp"} if typed else {}
    body["metadata"] = metadata
    body["spec"] = dict(spec)  # as given: a spec= is taken whole, None values included
    if status is not None:
        body["status"] = dict(status)
    return body
