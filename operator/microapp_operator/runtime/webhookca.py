"""The webhook CA shared by every replica, kept in a Secret in the operator's namespace.

The first replica to start creates it; the others read it (a create that loses the race gets
409 and reads the winner's). A CA within ``renew_before`` of its end is replaced at the
version it was read at, so two replicas renewing at once write it once. Each replica then
signs its own serving certificate with it, and all of them register the same caBundle.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..api.kinds import SECRET, WEBHOOK_CONFIGURATION
from .kube import Kube, KubeError

log = logging.getLogger(__name__)
MakeCA = Callable[[], tuple[bytes, bytes]]  # -> (certificate PEM, key PEM)
Expiry = Callable[[bytes], datetime]  # certificate PEM -> not after


async def shared_ca(
    kube: Kube,
    namespace: str,
    name: str,
    *,
    make: MakeCA,
    expiry: Expiry,
    now: datetime,
    renew_before: timedelta = timedelta(days=30),
    owner: Mapping[str, Any] | None = None,
) -> tuple[bytes, bytes]:
    """The CA (certificate PEM, key PEM) every replica uses, created or renewed if need be.
    ``owner``: an ownerReference (the chart's ServiceAccount) that takes the Secret with it
    when deleted; a Secret made before it was given gets it added."""
    for _ in range(5):
        secret = await kube.get(SECRET, namespace, name)
        found = _read(secret)
        if found is not None and expiry(found[0]) - now > renew_before:
            if secret is not None and owner is not None and not owned(secret, owner):
                meta = {
                    **secret["metadata"],
                    "ownerReferences": [*(secret["metadata"].get("ownerReferences") or []), dict(owner)],
                }
                try:  # (the Role grants update on this Secret, not patch)
                    await kube.replace({**secret, "metadata": meta}, counted=False)
                except KubeError as exc:
                    if exc.status != 409:
                        raise
                    continue  # another replica changed it meanwhile: read it again
            return found
        cert, key = make()
        body = _secret(namespace, name, cert, key)
        if owner is not None:
            body["metadata"]["ownerReferences"] = [dict(owner)]
        try:
            if secret is None:
                await kube.create(body, counted=False)
                log.info("webhook CA created in Secret %s/%s", namespace, name)
            else:
                body["metadata"]["resourceVersion"] = secret["metadata"]["resourceVersion"]
                await kube.replace(body, counted=False)
                log.info(
                    "webhook CA in Secret %s/%s %s",
                    namespace,
                    name,
                    "renewed (it was close to expiry)" if found else "replaced (it was unreadable)",
                )
            return cert, key
        except KubeError as exc:
            if exc.status != 409:
                raise
            # another replica wrote it first: use theirs
    raise KubeError(
        409,
        f"the webhook CA Secret {namespace}/{name} keeps changing; is another "
        "operator installation using the same name?",
    )


def owned(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    return any(ref.get("uid") == owner.get("uid") for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


def _read(secret: dict[str, Any] | None) -> tuple[bytes, bytes] | None:
    data = (secret or {}).get("data") or {}
    try:
        return base64.b64decode(data["ca.crt"]), base64.b64decode(data["ca.key"])
    except (KeyError, ValueError):
        return None


def _secret(namespace: str, name: str, cert: bytes, key: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "microapp-operator", "app.kubernetes.io/component": "webhook-ca"},
        },
        "data": {"ca.crt": base64.b64encode(cert).decode(), "ca.key": base64.b64encode(key).decode()},
    }


async def inject(kube: Kube, configuration: str, ca_pem: bytes) -> int:
    """Put the CA into every webhook of the chart's ValidatingWebhookConfiguration whose
    caBundle differs (only the caBundle: names, rules and the Service stay the chart's).
    Returns how many webhooks were updated."""
    live = await kube.get(WEBHOOK_CONFIGURATION, None, configuration)
    if live is None:
        raise KubeError(
            404,
            f"the ValidatingWebhookConfiguration {configuration} does not exist; install "
            "the chart (it owns it), or run without --webhook-configuration to let the "
            "operator manage its own",
        )
    bundle = base64.b64encode(ca_pem).decode()
    stale = [w["name"] for w in live.get("webhooks") or [] if (w.get("clientConfig") or {}).get("caBundle") != bundle]
    if stale:
        await kube.merge_patch(
            WEBHOOK_CONFIGURATION,
            "",
            configuration,
            strategic=True,
            counted=False,
            patch={"webhooks": [{"name": n, "clientConfig": {"caBundle": bundle}} for n in stale]},
        )
        log.info("caBundle updated in %s for %s", configuration, ", ".join(stale))
    return len(stale)
