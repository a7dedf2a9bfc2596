"""Kopf handlers: the thin shell around the core.

Each handler reads what Kopf hands it, calls a pure core function, and writes ``status``
through Kopf's patch. Nothing here writes a MicroApp's spec or metadata: Kopf's own
bookkeeping is moved into ``status.kopf`` (see :func:`configure`) so GitOps tools never see
drift, and no finalizer is added (children go away through ownerReferences).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Callable

import kopf

from . import api
from . import status as appstatus

# Injected clock, replaced in tests that need a fixed time.
clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # noqa: E731


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Keep Kopf's state in status, post only warnings as Events, identify as the operator."""
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf.progress")
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(
        field="status.kopf.last-handled-configuration")
    settings.persistence.finalizer = f"{api.GROUP}/finalizer"
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 270
    settings.networking.request_timeout = 60


@kopf.on.resume(api.GROUP, api.VERSION, "microapps")
@kopf.on.create(api.GROUP, api.VERSION, "microapps")
@kopf.on.update(api.GROUP, api.VERSION, "microapps")
def reconcile_microapp(name: str, meta: kopf.Meta, status: kopf.Status, patch: kopf.Patch,
                       logger: kopf.Logger, **_: Any) -> None:
    """Record that the current generation was seen; rendering comes with the catalog."""
    generation = int(meta.get("generation") or 0)
    desired = appstatus.pending(name=name, generation=generation, old_status=dict(status),
                                now=clock())
    patch.status.update(desired)
    logger.info("reconciled generation=%s phase=%s", generation, desired["phase"])
