"""Kopf wiring: the thinnest possible shell, one module per concern.

Importing this module registers every handler: the login (here), starting and stopping
(``startup``), the watch events (``events``) and, with ``register_admission()``, the admission
webhooks (``admission``: serving them and translating reviews to the runtime's one door).
Kopf watches MicroApps, the catalog, budgets and the policy and hands every event to the
runtime's manager; retries and backoff live in the work queue.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf

from ..runtime import credentials
from . import events, startup  # noqa: F401 - importing them registers their handlers
from .admission import ADMISSION, WEBHOOK_CONFIGURATION, register_admission, shard_webhook
from .startup import tune

__all__ = ["ADMISSION", "WEBHOOK_CONFIGURATION", "login", "register_admission", "shard_webhook", "tune"]


@kopf.on.login()
async def login(**_: Any) -> kopf.ConnectionInfo:
    """Kopf's connection, from the same credentials as ours (``runtime.credentials``: the
    ``kubernetes`` package's ``kubernetes.config``), in a thread since an exec plugin may run. A
    token is given an expiry, so Kopf asks again as tokens rotate (and after a 401 by itself)."""

    def read() -> tuple[credentials.Login, str]:
        found = credentials.load()
        return found, found.authorization() or ""

    found, auth = await asyncio.to_thread(read)
    scheme, _, token = auth.partition(" ")
    config = found.config
    return kopf.ConnectionInfo(
        server=found.server,
        ca_path=config.ssl_ca_cert or None,
        insecure=(not config.verify_ssl) or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=config.cert_file or None,
        private_key_path=config.key_file or None,
        default_namespace=found.namespace,
        expiration=datetime.now(UTC) + timedelta(minutes=5) if token else None,
    )
