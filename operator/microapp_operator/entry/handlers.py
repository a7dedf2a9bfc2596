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
import base64
import logging
import tempfile
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kopf

from .. import metrics
from ..api import types as api
from ..core import budget, catalog, identity
from ..core.app import AppMeta
from ..core.shard import SHARD_LABEL, Shard
from ..runtime import bootstrap, credentials, podrole, webhookca
from ..runtime.kube import Kube, KubeError
from ..runtime.leader import Elector
from ..runtime.manager import Manager
from . import certs
from .endpoints import serve_metrics
from .webhook import WebhookServer

WEBHOOK_CONFIGURATION = "microapp.dev"
log = logging.getLogger(__name__)


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


def tune(settings: kopf.OperatorSettings) -> None:
    """Kopf's settings for this operator."""
    settings.posting.enabled = False  # our own Events, only for meaningful steps
    settings.watching.server_timeout = 270
    settings.networking.request_timeout = 60
    # Memory at thousands of apps: Kopf lists the MicroApps 500 at a time (not all at once), and
    # a per-object worker lets go of its last event 0.5 s after it (not 5 s): at a start with
    # 5,000 apps every worker held its app's full body at once.
    settings.watching.chunk_size = 500
    settings.queueing.idle_timeout = 0.5
    # Only raw event handlers: nothing compares an object with its last handled state, yet Kopf
    # would deep-copy every event's body to build that state (4% of the CPU of a rollout).
    settings.persistence.diffbase_storage = NoDiffBase()


class NoDiffBase(kopf.DiffBaseStorage):
    """No last-handled state: right for an operator with no on.create/update/delete handlers."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Connect, serve the webhook, and start the manager (with --leader-elect: once elected)."""
    tune(settings)
    cfg = memo.get("config") or {}
    kube = await Kube.connect()
    cfg["owner_ref"] = await bootstrap.owner_reference(kube, cfg.get("owner"))
    if cfg.get("webhook_port") is not None:
        await _serve_webhook(settings, cfg, kube, memo)
    shard = cfg.get("shard") or Shard()
    memo.manager = Manager(
        kube,
        workers=int(cfg.get("workers", 4)),
        resync=float(cfg.get("resync", 300)),
        on_fatal=lambda reason: _stop(memo, reason),
        shard=shard,
        lease_namespace=str(cfg.get("lease", "")).partition("/")[0],
        lease_prefix=str(cfg.get("lease_prefix") or ""),
        routine_events=bool(cfg.get("routine_events", True)),
    )
    memo.elector = None
    if cfg.get("leader_elect"):
        work = await _elected(memo, cfg, kube)
        logger.info("standby until elected: lease %s identity %s", cfg["lease"], cfg["identity"])
    else:
        work = _run(memo, cfg, kube)
    if cfg.get("metrics_port"):
        memo.metrics_runner = await serve_metrics(
            cfg["metrics_port"], cfg.get("metrics_addr", "127.0.0.1"), lambda: _readiness(memo)
        )
    memo.manager_task = asyncio.create_task(work, name="microapp-manager")
    memo.manager_task.add_done_callback(lambda task: _ended(memo, task))
    logger.info("manager started")


def _ended(memo: kopf.Memo, task: asyncio.Task[None]) -> None:
    """The manager (or the election around it) must run until the operator stops: if it ends
    by itself (the starting catalog refused, the Lease lost), stop so that the Pod restarts."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.critical(
            "the manager failed to run: %s: %s; stopping the operator so that it is restarted",
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        _stop(memo, f"the manager failed to run: {type(exc).__name__}: {exc}")
    elif not memo.get("failed"):
        _stop(memo, "the manager stopped")


async def _elected(memo: kopf.Memo, cfg: dict[str, Any], kube: Kube) -> Coroutine[Any, Any, None]:
    """The manager, run once this replica holds the Lease (and, in a Pod, wears the leader label)."""
    namespace, _, name = str(cfg["lease"]).partition("/")
    duration = float(cfg.get("lease_duration", 8.0))
    memo.elector = Elector(
        kube,
        namespace,
        name,
        str(cfg["identity"]),
        duration=duration,
        renew_deadline=duration * 0.75,
        renew_every=duration / 4,
        retry=min(1.0, duration / 8),
        owner=bootstrap.owner_in(cfg.get("owner_ref"), namespace),
    )
    pod = cfg.get("pod")
    if pod:
        await podrole.stand_by(kube, namespace, pod)

    async def lead() -> None:
        if pod:
            shard: Shard = cfg.get("shard") or Shard()
            await podrole.lead(kube, namespace, pod, peers=f"{SHARD_LABEL}={shard.name}" if shard.sharded else "")
        await _run(memo, cfg, kube)

    return memo.elector.run(lead, on_lost=lambda reason: _stop(memo, reason))


async def _run(memo: kopf.Memo, cfg: dict[str, Any], kube: Kube) -> None:
    """The manager, after creating the starting catalog if asked to (see runtime/bootstrap.py)."""
    objects = catalog.builtin_objects() if cfg.get("create_templates") else []
    if cfg.get("create_policy"):
        objects.append(cfg["create_policy"])
    if objects:
        await bootstrap.create_missing(kube, objects)
    await memo.manager.run()


async def _serve_webhook(settings: kopf.OperatorSettings, cfg: dict[str, Any], kube: Kube, memo: kopf.Memo) -> None:
    """Kopf's webhook server with our certificate, and the webhook configuration: the chart's
    (``webhook_configuration``: only its caBundle is ours) or one Kopf manages for us."""
    host = cfg.get("webhook_host", "127.0.0.1")
    service = cfg.get("webhook_service")  # "namespace/name": register a Service, not a URL
    names = [host] if not service else [f"{service.split('/')[1]}.{service.split('/')[0]}.svc", host]
    cert = await _certificate(cfg, kube, names)
    settings.admission.server = WebhookServer(
        addr=cfg.get("webhook_addr", "127.0.0.1"),
        port=cfg["webhook_port"],
        host=names[0],
        certfile=str(cert.certfile),
        pkeyfile=str(cert.keyfile),
        cadata=cert.ca_pem,
        service=tuple(service.split("/", 1)) if service else None,
        direct=ADMISSION,
        memo=memo,
    )
    configuration = cfg.get("webhook_configuration")
    if configuration:
        if not cfg.get("webhook_tls_dir"):  # with cert-manager, its cainjector fills caBundle
            await webhookca.inject(kube, configuration, cert.ca_pem)
            memo.ca_task = asyncio.create_task(_keep_ca_bundle(kube, configuration, cert.ca_pem))
    elif cfg.get("webhook_register", True) and (cfg.get("shard") or Shard()).sharded:
        await kube.apply(shard_webhook(cfg["shard"], settings.admission.server, cert.ca_pem))
    elif cfg.get("webhook_register", True):
        settings.admission.managed = WEBHOOK_CONFIGURATION


def shard_webhook(shard: Shard, server: WebhookServer, ca_pem: bytes) -> dict[str, Any]:
    """A shard's own ValidatingWebhookConfiguration (out of a cluster; the chart renders the same
    one per shard): Kopf's two webhooks, limited to the shard's namespaces."""
    base = f"https://{server.host}:{server.port}"
    hooks = []
    for hook, (_, operations) in ADMISSION.items():
        resource = "microapps/scale" if hook == "admission-scale" else "microapps"
        hooks.append(
            {
                "name": f"{hook}.{shard.name}.microapp.dev",
                "sideEffects": "NoneOnDryRun",
                "failurePolicy": "Fail",
                "matchPolicy": "Equivalent",
                "timeoutSeconds": 30,
                "admissionReviewVersions": ["v1"],
                "namespaceSelector": shard.namespace_selector() or {},
                "clientConfig": {"url": f"{base}/{hook}", "caBundle": base64.b64encode(ca_pem).decode()},
                "rules": [
                    {
                        "apiGroups": [api.GROUP],
                        "apiVersions": [api.VERSION],
                        "resources": [resource],
                        "operations": sorted(operations),
                        "scope": "*",
                    }
                ],
            }
        )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": f"{WEBHOOK_CONFIGURATION}-{shard.name}"},
        "webhooks": hooks,
    }


async def _certificate(cfg: dict[str, Any], kube: Kube, names: list[str]) -> certs.ServingCert:
    """cert-manager's files, or ours signed by the shared CA in a Secret, or by a CA of our own."""
    if cfg.get("webhook_tls_dir"):
        tls = Path(cfg["webhook_tls_dir"])
        return certs.ServingCert((tls / "ca.crt").read_bytes(), tls / "tls.crt", tls / "tls.key")
    cert_dir = Path(cfg.get("webhook_cert_dir") or tempfile.mkdtemp(prefix="microapp-webhook-"))
    if not cfg.get("webhook_ca_secret"):
        return certs.generate(cert_dir, names)
    namespace, _, secret = str(cfg["webhook_ca_secret"]).partition("/")
    ca_pem, ca_key = await webhookca.shared_ca(
        kube,
        namespace,
        secret,
        make=certs.new_ca,
        expiry=certs.not_after,
        now=datetime.now(UTC),
        owner=bootstrap.owner_in(cfg.get("owner_ref"), namespace),
    )
    return certs.serving(cert_dir, names, ca_pem, ca_key)


async def _keep_ca_bundle(kube: Kube, configuration: str, ca_pem: bytes, every: float = 60.0) -> None:
    """Put the caBundle back if an apply of the configuration (a GitOps sync) dropped it."""
    while True:
        await asyncio.sleep(every)
        try:
            await webhookca.inject(kube, configuration, ca_pem)
        except KubeError as exc:
            log.warning("caBundle not checked configuration=%s error=%s", configuration, exc)


def _readiness(memo: kopf.Memo) -> tuple[bool, str]:
    """/readyz: a healthy standby is Ready too (see runtime/podrole.py for why admission reaches
    only the leader all the same); the leader once synced."""
    elector: Elector | None = memo.get("elector")
    if memo.manager.failed:
        return False, memo.manager.failed
    if elector is not None and not elector.leading.is_set():
        return True, f"standby: {elector.holder or 'nobody yet'} holds the lease"
    if not memo.manager.synced.is_set():
        return False, "syncing: catalog, child watches and the first pass over all apps"
    return True, "ok"


def _stop(memo: kopf.Memo, reason: str) -> None:
    """A background task died: stop Kopf (the process exits non-zero and is restarted)."""
    memo.failed = reason
    stop = (memo.get("config") or {}).get("stop_flag")
    if stop is not None:
        stop.set()


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    if memo.get("ca_task") is not None:
        memo.ca_task.cancel()
    runner = memo.get("metrics_runner")
    if runner is not None:
        await runner.cleanup()
    task = memo.get("manager_task")
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if memo.get("elector") is not None:
            await _hand_over(memo)
        await memo.manager.kube.close()


async def _hand_over(memo: kopf.Memo) -> None:
    """A clean stop: off the webhook Service, then the Lease free, so a standby takes over now."""
    pod = (memo.get("config") or {}).get("pod")
    if pod and memo.elector.holds():
        try:
            await podrole.stand_by(memo.manager.kube, memo.elector.namespace, pod)
        except Exception as exc:  # noqa: BLE001 - best effort: the next leader removes it anyway
            log.warning("leader label not removed error=%s", exc)
    await memo.elector.release()


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
    """Admission waits for the first full sync: before it the ledger is incomplete. A standby
    refuses at once: only the leader's ledger counts (the Service sends reviews to the leader;
    this answers the few that reach a standby during a failover)."""
    elector: Elector | None = memo.get("elector")
    if elector is not None and not elector.leading.is_set():
        metrics.admission_denials.labels("Standby").inc()
        raise kopf.AdmissionError(
            f"this microapp operator replica is on standby ({elector.holder or 'no replica'} "
            "leads); retry in a few seconds",
            code=503,
        )
    manager: Manager | None = memo.get("manager")
    if manager is not None and manager.synced.is_set():
        return manager  # the usual case, without a timer task per review
    try:
        if manager is None:
            raise TimeoutError
        await asyncio.wait_for(manager.synced.wait(), timeout=10)
    except TimeoutError:
        metrics.admission_denials.labels("OperatorStarting").inc()
        raise kopf.AdmissionError(
            "the microapp operator is still starting and cannot check budgets and policy yet; retry in a few seconds",
            code=503,
        ) from None
    return manager


async def admit_microapp(
    body: kopf.Body,
    old: kopf.Body | None,
    operation: str,
    dryrun: bool,
    userinfo: kopf.UserInfo,
    warnings: list[str],
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """Who asks, the policy, the spec and the budget, at `kubectl apply` time."""
    with metrics.admission_duration.time():
        await _admit(body, old, operation, dryrun, userinfo, warnings, memo)


async def _admit(
    body: kopf.Body,
    old: kopf.Body | None,
    operation: str,
    dryrun: bool,
    userinfo: kopf.UserInfo,
    warnings: list[str],
    memo: kopf.Memo,
) -> None:
    manager = await _ready(memo)
    _sharded(manager, body)
    previous = dict(old) if old else None
    conflicts = await manager.admission.collisions(body) if operation == "CREATE" else []
    decision = manager.admission.admit(dict(body), previous, user=dict(userinfo), dryrun=dryrun, conflicts=conflicts)
    _answer(decision, operation, warnings)
    moved = identity.transfer(AppMeta.of(body), AppMeta.of(previous) if previous else None)
    if moved and not dryrun:
        manager.record(previous or {}, "Normal", "OwnershipTransferred", f"{moved} (by {userinfo.get('username')})")


async def admit_microapp_scale(
    body: kopf.Body, dryrun: bool, userinfo: kopf.UserInfo, warnings: list[str], memo: kopf.Memo, **_: Any
) -> None:
    """`kubectl scale` goes through the same checks: it must not bypass the budget."""
    manager = await _ready(memo)
    _sharded(manager, body)
    meta = body.get("metadata") or {}
    current = manager.world.apps.get((meta.get("namespace", ""), meta.get("name", "")))
    if current is None:
        return  # not seen yet: the reconciler will flag it
    replicas = (body.get("spec") or {}).get("replicas")
    # The scale update bumps the app's generation: reserve for that one.
    generation = int(current["metadata"].get("generation") or 1) + 1
    scaled = {
        **current,
        "metadata": {**current["metadata"], "generation": generation},
        "spec": {**(current.get("spec") or {}), "replicas": replicas},
    }
    with metrics.admission_duration.time():
        _answer(manager.admission.admit(scaled, current, user=dict(userinfo), dryrun=dryrun), "SCALE", warnings)


def _sharded(manager: Manager, body: kopf.Body) -> None:
    """Only the shard that holds the namespace decides (see runtime/handover.py)."""
    meta = AppMeta.of(body)
    refused = manager.handover.refusal(meta.namespace, meta.team)
    if refused is not None:
        metrics.admission_denials.labels("Shard").inc()
        raise kopf.AdmissionError(refused[1], code=refused[0])


def _answer(decision: budget.Decision, operation: str, warnings: list[str]) -> None:
    """Warnings always; a denial as Kopf's AdmissionError; counted either way."""
    warnings.extend(decision.warnings)
    metrics.admission_requests.labels(operation, str(decision.allowed).lower()).inc()
    if not decision.allowed:
        metrics.admission_denials.labels(decision.reason.value if decision.reason else "Denied").inc()
        raise kopf.AdmissionError(decision.message, code=403)


# webhook id -> (handler, operations). The server answers these directly (see webhook.py).
ADMISSION = {
    "admission": (admit_microapp, frozenset({"CREATE", "UPDATE"})),
    "admission-scale": (admit_microapp_scale, frozenset({"UPDATE"})),
}


def register_admission() -> None:
    """The validating webhooks (skipped with --no-webhook: Kopf refuses handlers without a server).

    Persistent: the configuration stays when the operator stops, so admission fails closed."""
    kopf.on.validate(
        api.GROUP,
        api.VERSION,
        "microapps",
        id="admission",
        operations=["CREATE", "UPDATE"],
        side_effects=True,
        persistent=True,
    )(admit_microapp)
    kopf.on.validate(
        api.GROUP,
        api.VERSION,
        "microapps",
        id="admission-scale",
        subresource="scale",
        operations=["UPDATE"],
        side_effects=True,
        persistent=True,
    )(admit_microapp_scale)
