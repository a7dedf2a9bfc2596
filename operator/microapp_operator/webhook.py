"""Webhook server variants: Kopf's URL-based server, or a Service reference for in-cluster.

The API server cannot always resolve cluster DNS names, so in a cluster the managed
ValidatingWebhookConfiguration should point at a Service (``clientConfig.service``) rather
than a URL. Kopf's server yields URL client configs; this subclass rewrites them.
"""

from __future__ import annotations

from typing import AsyncIterator

import kopf
from kopf._cogs.structs import reviews


class ServiceWebhookServer(kopf.WebhookServer):
    """Listen like ``kopf.WebhookServer``; register ``service: {namespace, name, port}``."""

    def __init__(self, *, service_namespace: str, service_name: str, service_port: int = 443,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.service = reviews.WebhookClientConfigService(namespace=service_namespace, name=service_name,
                                                          port=service_port, path="/")

    async def __call__(self, fn: reviews.WebhookFn) -> AsyncIterator[reviews.WebhookClientConfig]:
        async for config in super().__call__(fn):
            yield reviews.WebhookClientConfig(caBundle=config.get("caBundle"), service=dict(self.service))  # type: ignore[typeddict-item]
