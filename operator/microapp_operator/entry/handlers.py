"""Kopf wiring: the thinnest possible shell.

Kopf watches MicroApps, the catalog, budgets and the policy and hands every event to the
runtime's manager. Only raw event handlers are used (``@kopf.on.event``): Kopf then keeps no
state on the objects at all, no annotations, no finalizers, no ``status.kopf``, so the
operator never writes a MicroApp's spec or metadata and an unchanged app costs no writes.
Retries and backoff live in the work queue. Admission (``@kopf.on.validate``) asks the same
manager, which calls the same pure core as the reconciler.

Every handler is ``async`` although none awaits: Kopf runs plain functions in a thread pool,
and the runtime's state (apps, catalog, ledger, work queue) belongs to the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

import kopf

from .. import metrics
from ..api import types as api
from ..core import budget, identity
from ..core.app import AppMeta
from ..runtime.kube import Kube
from ..runtime.manager import Manager
from . import certs
from .endpoints import serve_metrics
from .webhook import WebhookServer

WEBHOOK_CONFIGURATION = "microapp.dev"
log = logging.getLogger(__name__)


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Connect, start the child cache and the reconcile workers, and serve the webhook."""
    settings.posting.enabled = False          # our own Events, only for meaningful steps
    settings.watching.server_timeout = 270
    settings.networking.request_timeout = 60
    cfg = memo.get("config") or {}
    if cfg.get("webhook_port") is not None:
        host = cfg.get("webhook_host", "127.0.0.1")
        cert_dir = Path(cfg.get("webhook_cert_dir") or tempfile.mkdtemp(prefix="microapp-webhook-"))
        service = cfg.get("webhook_service")  # "namespace/name": register a Service, not a URL
        names = [host] if not service else [f"{service.split('/')[1]}.{service.split('/')[0]}.svc", host]
        cert = certs.generate(cert_dir, names)
        settings.admission.server = WebhookServer(
            addr=cfg.get("webhook_addr", "127.0.0.1"), port=cfg["webhook_port"], host=names[0],
            certfile=str(cert.certfile), pkeyfile=str(cert.keyfile), cadata=cert.ca_pem,
            service=tuple(service.split("/", 1)) if service else None, direct=ADMISSION, memo=memo)
        if cfg.get("webhook_register", True):
            settings.admission.managed = WEBHOOK_CONFIGURATION
    kube = await Kube.connect()
    memo.manager = Manager(kube, workers=int(cfg.get("workers", 4)), resync=float(cfg.get("resync", 300)),
                           on_fatal=lambda reason: _stop(memo, reason))
    if cfg.get("metrics_port"):
        memo.metrics_runner = await serve_metrics(cfg["metrics_port"], cfg.get("metrics_addr", "127.0.0.1"),
                                                  memo.manager.ready)
    memo.manager_task = asyncio.create_task(memo.manager.run(), name="microapp-manager")
    logger.info("manager started")


def _stop(memo: kopf.Memo, reason: str) -> None:
    """A background task died: stop Kopf (the process exits non-zero and is restarted)."""
    memo.failed = reason
    stop = (memo.get("config") or {}).get("stop_flag")
    if stop is not None:
        stop.set()


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    runner = memo.get("metrics_runner")
    if runner is not None:
        await runner.cleanup()
    task = memo.get("manager_task")
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await memo.manager.kube.close()


@kopf.on.event(api.GROUP, api.VERSION, "microapps")
async def microapp_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.manager.app_event(event.get("type"), event["object"])


@kopf.on.event(api.GROUP, api.VERSION, "apptemplates")
async def apptemplate_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.manager.template_event(event.get("type"), event["object"])


@kopf.on.event(api.GROUP, api.VERSION, "platformpolicies")
async def policy_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.manager.policy_event(event.get("type"), event["object"])


@kopf.on.event(api.GROUP, api.VERSION, "teambudgets")
async def teambudget_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.manager.budget_event(event.get("type"), event["object"])


async def _ready(memo: kopf.Memo) -> Manager:
    """Admission waits for the first full sync: before it the ledger is incomplete."""
    manager: Manager | None = memo.get("manager")
    if manager is not None and manager.synced.is_set():
        return manager  # the usual case, without a timer task per review
    try:
        if manager is None:
            raise asyncio.TimeoutError
        await asyncio.wait_for(manager.synced.wait(), timeout=10)
    except asyncio.TimeoutError:
        metrics.admission_denials.labels("OperatorStarting").inc()
        raise kopf.AdmissionError("the microapp operator is still starting and cannot check budgets "
                                  "and policy yet; retry in a few seconds", code=503) from None
    return manager


async def admit_microapp(body: kopf.Body, old: kopf.Body | None, operation: str, dryrun: bool,
                         userinfo: kopf.UserInfo, warnings: list[str], memo: kopf.Memo, **_: Any) -> None:
    """Who asks, the policy, the spec and the budget, at `kubectl apply` time."""
    with metrics.admission_duration.time():
        await _admit(body, old, operation, dryrun, userinfo, warnings, memo)


async def _admit(body: kopf.Body, old: kopf.Body | None, operation: str, dryrun: bool,
                 userinfo: kopf.UserInfo, warnings: list[str], memo: kopf.Memo) -> None:
    manager = await _ready(memo)
    previous = dict(old) if old else None
    conflicts = await manager.admission.collisions(body) if operation == "CREATE" else []
    decision = manager.admission.admit(dict(body), previous, user=dict(userinfo), dryrun=dryrun,
                                       conflicts=conflicts)
    _answer(decision, operation, warnings)
    moved = identity.transfer(AppMeta.of(body), AppMeta.of(previous) if previous else None)
    if moved and not dryrun:
        manager.record(previous or {}, "Normal", "OwnershipTransferred",
                       f"{moved} (by {userinfo.get('username')})")


async def admit_microapp_scale(body: kopf.Body, dryrun: bool, userinfo: kopf.UserInfo, warnings: list[str],
                               memo: kopf.Memo, **_: Any) -> None:
    """`kubectl scale` goes through the same checks: it must not bypass the budget."""
    manager = await _ready(memo)
    meta = body.get("metadata") or {}
    current = manager.world.apps.get((meta.get("namespace", ""), meta.get("name", "")))
    if current is None:
        return  # not seen yet: the reconciler will flag it
    replicas = (body.get("spec") or {}).get("replicas")
    # The scale update bumps the app's generation: reserve for that one.
    generation = int(current["metadata"].get("generation") or 1) + 1
    scaled = {**current, "metadata": {**current["metadata"], "generation": generation},
              "spec": {**(current.get("spec") or {}), "replicas": replicas}}
    with metrics.admission_duration.time():
        _answer(manager.admission.admit(scaled, current, user=dict(userinfo), dryrun=dryrun), "SCALE", warnings)


def _answer(decision: budget.Decision, operation: str, warnings: list[str]) -> None:
    """Warnings always; a denial as Kopf's AdmissionError; counted either way."""
    warnings.extend(decision.warnings)
    metrics.admission_requests.labels(operation, str(decision.allowed).lower()).inc()
    if not decision.allowed:
        metrics.admission_denials.labels(decision.reason.value if decision.reason else "Denied").inc()
        raise kopf.AdmissionError(decision.message, code=403)


# webhook id -> (handler, operations). The server answers these directly (see webhook.py).
ADMISSION = {"admission": (admit_microapp, frozenset({"CREATE", "UPDATE"})),
             "admission-scale": (admit_microapp_scale, frozenset({"UPDATE"}))}


def register_admission() -> None:
    """The validating webhooks (skipped with --no-webhook: Kopf refuses handlers without a server).

    Persistent: the configuration stays when the operator stops, so admission fails closed."""
    kopf.on.validate(api.GROUP, api.VERSION, "microapps", id="admission", operations=["CREATE", "UPDATE"],
                     side_effects=True, persistent=True)(admit_microapp)
    kopf.on.validate(api.GROUP, api.VERSION, "microapps", id="admission-scale", subresource="scale",
                     operations=["UPDATE"], side_effects=True, persistent=True)(admit_microapp_scale)
