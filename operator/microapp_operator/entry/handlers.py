"""Kopf wiring: the thinnest possible shell, one module per concern.

Importing this module registers every handler: the login (here), starting and stopping
(``startup``), the watch events (``events``) and, with ``register_admission()``, the admission
webhooks (``admission``: serving them and translating reviews to the runtime's one door).
Kopf watches MicroApps, the catalog, budgets and the policy and hands every event to the
runtime's manager; retries and backoff live in the work queue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import kopf

from ..runtime import kubeconfig
from . import events, startup  # noqa: F401 - importing them registers their handlers
from .admission import ADMISSION, WEBHOOK_CONFIGURATION, register_admission, shard_webhook
from .startup import tune

__all__ = ["ADMISSION", "WEBHOOK_CONFIGURATION", "login", "register_admission", "shard_webhook", "tune"]


@kopf.on.login()
async def login(**_: Any) -> kopf.ConnectionInfo:
    """Kopf's connection, from the same credentials as ours (``runtime.kubeconfig``). Without a
    login handler Kopf looks for a client library to find them, and importing one costs about
    40 MB. A token that rotates is given an expiry, so Kopf asks again."""
    creds = kubeconfig.load()
    auth = await creds.authorization() or ""
    token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
    user, password = creds.basic if creds.basic and token is None else (None, None)
    rotating = creds.token_file is not None or creds.exec_spec is not None
    return kopf.ConnectionInfo(
        server=creds.server,
        ca_data=creds.ca_data,
        insecure=creds.insecure or None,
        token=token,
        scheme="Bearer" if token else None,
        username=user,
        password=password,
        certificate_data=creds.cert_data,
        private_key_data=creds.key_data,
        default_namespace=creds.namespace,
        expiration=datetime.now(UTC) + timedelta(minutes=5) if rotating else None,
    )
