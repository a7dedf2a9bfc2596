"""The catalog a fresh installation starts with: the built-in AppTemplates and a default
PlatformPolicy, created by the leader when they are absent.

Why the operator and not Helm templates: Helm maps every object of a release before it creates
any, so a chart cannot hold CRDs and objects of those CRDs in one install. Create-if-absent
never overwrites: a platform team's edits to the policy stay, and AppTemplates are immutable
by name (``web-service-1.0.0``). Uninstalling leaves them, like the CRDs and the MicroApps
that use them.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping

from .kube import Kube, KubeError, resource_of

log = logging.getLogger(__name__)


async def create_missing(kube: Kube, objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Create each object that does not exist yet; return the names created. A read first: a
    refused create still counts as a write in the API server's audit log, and every election
    would otherwise send one per object."""
    created = []
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if await kube.get(resource_of(obj), obj["metadata"].get("namespace"), obj["metadata"]["name"]) is not None:
            continue
        try:
            await kube.create(obj)
        except KubeError as exc:
            if exc.status == 409:
                continue   # there already: never overwritten
            raise
        created.append(name)
        log.info("created %s (absent at start)", name)
    return created
