"""The admission webhook: serving it (Kopf's server, our certificates, the webhook
configuration) and translating each review to the runtime's one door and back.

``admit_microapp`` and ``admit_microapp_scale`` build a ``runtime.admission.Request`` from what
Kopf (or the direct webhook server, ``webhook.py``) passes, ask the manager's ``review``, and turn
its ``Verdict`` into warnings or ``kopf.AdmissionError``. Every check lives in the runtime; only
the replica's own state (a standby, a manager not built yet) is answered here.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kopf

from .. import metrics
from ..api import types as api
from ..core.shard import Shard
from ..runtime import bootstrap, webhookca
from ..runtime.admission import Request, Verdict
from ..runtime.kube import Kube, KubeError
from ..runtime.leader import Elector
from ..runtime.manager import STARTING, Manager
from . import certs
from .config import OperatorConfig
from .webhook import WebhookServer

WEBHOOK_CONFIGURATION = "microapp.dev"
log = logging.getLogger(__name__)


# --- serving ----------------------------------------------------------------------------


async def serve_webhook(
    settings: kopf.OperatorSettings, cfg: OperatorConfig, kube: Kube, memo: kopf.Memo, owner_ref: Any
) -> None:
    """Kopf's webhook server with our certificate, and the webhook configuration: the chart's
    (``webhook_configuration``: only its caBundle is ours) or one Kopf manages for us."""
    service = cfg.webhook_service  # "namespace/name": register a Service, not a URL
    host = cfg.webhook_host
    names = [host] if not service else [f"{service.split('/')[1]}.{service.split('/')[0]}.svc", host]
    cert = await _certificate(cfg, kube, names, owner_ref)
    assert cfg.webhook_port is not None
    settings.admission.server = WebhookServer(
        addr=cfg.webhook_addr,
        port=cfg.webhook_port,
        host=names[0],
        certfile=str(cert.certfile),
        pkeyfile=str(cert.keyfile),
        cadata=cert.ca_pem,
        service=tuple(service.split("/", 1)) if service else None,  # type: ignore[arg-type]
        direct=ADMISSION,
        memo=memo,
    )
    configuration = cfg.webhook_configuration
    if configuration:
        if not cfg.webhook_tls_dir:  # with cert-manager, its cainjector fills caBundle
            await webhookca.inject(kube, configuration, cert.ca_pem)
            memo.ca_task = asyncio.create_task(_keep_ca_bundle(kube, configuration, cert.ca_pem))
    elif cfg.webhook_register and cfg.shard.sharded:
        await kube.apply(shard_webhook(cfg.shard, settings.admission.server, cert.ca_pem))
    elif cfg.webhook_register:
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


async def _certificate(cfg: OperatorConfig, kube: Kube, names: list[str], owner_ref: Any) -> certs.ServingCert:
    """cert-manager's files, or ours signed by the shared CA in a Secret, or by a CA of our own."""
    if cfg.webhook_tls_dir:
        tls = Path(cfg.webhook_tls_dir)
        return certs.ServingCert((tls / "ca.crt").read_bytes(), tls / "tls.crt", tls / "tls.key")
    cert_dir = Path(cfg.webhook_cert_dir or tempfile.mkdtemp(prefix="microapp-webhook-"))
    if not cfg.webhook_ca_secret:
        return certs.generate(cert_dir, names)
    namespace, _, secret = cfg.webhook_ca_secret.partition("/")
    ca_pem, ca_key = await webhookca.shared_ca(
        kube,
        namespace,
        secret,
        make=certs.new_ca,
        expiry=certs.not_after,
        now=datetime.now(UTC),
        owner=bootstrap.owner_in(owner_ref, namespace),
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


# --- reviews ----------------------------------------------------------------------------


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
    request = Request(operation, dict(body), dict(old) if old else None, dict(userinfo), dryrun)
    _answer(await _manager(memo).review(request), warnings)


async def admit_microapp_scale(
    body: kopf.Body, dryrun: bool, userinfo: kopf.UserInfo, warnings: list[str], memo: kopf.Memo, **_: Any
) -> None:
    """`kubectl scale` goes through the same checks: it must not bypass the budget."""
    request = Request("UPDATE", dict(body), None, dict(userinfo), dryrun, subresource="scale")
    _answer(await _manager(memo).review(request), warnings)


def _manager(memo: kopf.Memo) -> Manager:
    """This replica's manager, if it may answer: a standby refuses at once (only the leader's
    ledger counts; the Service sends reviews to the leader, this answers the few that reach a
    standby during a failover)."""
    elector: Elector | None = memo.get("elector")
    if elector is not None and not elector.leading.is_set():
        metrics.admission_denials.labels("Standby").inc()
        raise kopf.AdmissionError(
            f"this microapp operator replica is on standby ({elector.holder or 'no replica'} "
            "leads); retry in a few seconds",
            code=503,
        )
    manager: Manager | None = memo.get("manager")
    if manager is None:
        metrics.admission_denials.labels("OperatorStarting").inc()
        _answer(STARTING, [])
    return manager  # type: ignore[return-value]


def _answer(verdict: Verdict, warnings: list[str]) -> None:
    """Warnings always; a denial as Kopf's AdmissionError."""
    warnings.extend(verdict.warnings)
    if not verdict.allowed:
        raise kopf.AdmissionError(verdict.message, code=verdict.code)


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
