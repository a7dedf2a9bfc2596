"""The leader's label on its own Pod, which the webhook Service selects.

Why a label and not readiness: a standby that is not Ready blocks a Deployment's rolling
update (the new Pods never become Ready while the old leader holds the Lease) and makes any
PodDisruptionBudget refuse to evict the leader, so a node drain hangs. So every healthy
replica is Ready, and admission reaches only the leader because the webhook Service selects
``microapp.dev/leader=true``. A new leader first takes the label off every other Pod (a killed
leader's Pod may still carry it), then puts it on its own; a replica that starts takes it off
its own Pod until it is elected.
"""

from __future__ import annotations

import logging

from ..api.kinds import LEADER_LABEL, POD
from .kube import Kube, KubeError

log = logging.getLogger(__name__)


async def lead(kube: Kube, namespace: str, pod: str, *, peers: str = "") -> None:
    """Move the label to ``pod`` from the Pods ``peers`` selects (sharded: this shard's Pods,
    ``microapp.dev/shard=<name>``; the other shards' leaders keep theirs)."""
    selector = ",".join(s for s in (f"{LEADER_LABEL}=true", peers) if s)
    listing = await kube.list(POD, namespace=namespace, label_selector=selector, metadata_only=True)
    for item in listing.get("items") or []:
        name = item["metadata"]["name"]
        if name != pod:
            await _set(kube, namespace, name, None)
            log.info("leader label removed from pod %s/%s (a former leader)", namespace, name)
    await _set(kube, namespace, pod, "true")


async def stand_by(kube: Kube, namespace: str, pod: str) -> None:
    """Not the leader (yet): no label on our own Pod."""
    await _set(kube, namespace, pod, None)


async def _set(kube: Kube, namespace: str, pod: str, value: str | None) -> None:
    try:
        await kube.merge_patch(POD, namespace, pod, {"metadata": {"labels": {LEADER_LABEL: value}}}, counted=False)
    except KubeError as exc:
        if exc.status != 404 or value is not None:  # a former leader's Pod may be gone: fine
            raise
