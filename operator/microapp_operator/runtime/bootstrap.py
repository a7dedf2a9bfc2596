"""The catalog a fresh installation starts with: the built-in AppTemplates and a default
PlatformPolicy, created by the leader when they are absent.

Why the operator and not Helm templates: Helm maps every object of a release before it creates
any, so a chart cannot hold CRDs and objects of those CRDs in one install. Create-if-absent
never overwrites: a platform team's edits to the policy stay, and AppTemplates are immutable
by name (``web-service-1.0.0``). Uninstalling leaves them, like the CRDs and the MicroApps
that use them.

What is the installation's own, though (the leader Lease, the webhook CA Secret with its
private key), is owned by the chart's ServiceAccount and goes with the release.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ..api.kinds import RESOURCES
from .kube import Kube, KubeError, resource_of

log = logging.getLogger(__name__)
SERVICE_ACCOUNT = RESOURCES[("v1", "ServiceAccount")]


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
                continue  # there already: never overwritten
            raise
        created.append(name)
        log.info("created %s (absent at start)", name)
    return created


OwnerRef = tuple[str, dict[str, Any]]  # (the owner's namespace, the ownerReference)


async def owner_reference(kube: Kube, service_account: str | None) -> OwnerRef | None:
    """The ownerReference of ``NAMESPACE/NAME`` (the chart's ServiceAccount) for what the operator
    creates beside it (the Lease, the webhook CA Secret): deleting the release then deletes them.
    None (and said) if it is not there: the objects are then simply kept."""
    if not service_account:
        return None
    namespace, _, name = service_account.partition("/")
    found = await kube.get(SERVICE_ACCOUNT, namespace, name)
    if found is None:
        log.warning(
            "--owned-by-service-account %s not found: the Lease and the webhook CA Secret will outlive an uninstall",
            service_account,
        )
        return None
    return namespace, {"apiVersion": "v1", "kind": "ServiceAccount", "name": name, "uid": found["metadata"]["uid"]}


def owner_in(owner: OwnerRef | None, namespace: str) -> dict[str, Any] | None:
    """The ownerReference for an object in ``namespace``, only if the owner lives there too: a
    namespaced owner in another namespace counts as absent, and the garbage collector would
    delete the object at once."""
    if owner is None or owner[0] != namespace:
        return None
    return owner[1]
