"""The operator's settings, from ``microapp run``'s flags and the Pod's environment: one typed,
frozen value that the startup handler reads (``run.config`` builds it)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..core.shard import Shard


@dataclass(frozen=True)
class OperatorConfig:
    stop_flag: asyncio.Event | None = field(default=None, compare=False)  # set to stop Kopf
    workers: int = 4  # concurrent reconciles
    resync: float = 300.0  # seconds between looks at every app; 0 disables
    metrics_port: int = 0  # /metrics, /healthz and /readyz; 0 disables
    metrics_addr: str = "127.0.0.1"
    # The admission webhook (port None: not served)
    webhook_port: int | None = None
    webhook_addr: str = "127.0.0.1"
    webhook_host: str = "127.0.0.1"  # the name or IP the API server dials
    webhook_cert_dir: str | None = None
    webhook_service: str | None = None  # "namespace/name": register a Service, not a URL
    webhook_ca_secret: str | None = None  # "namespace/name": a CA shared by every replica
    webhook_register: bool = True
    webhook_configuration: str | None = None  # the chart's configuration: only its caBundle is ours
    webhook_tls_dir: str | None = None  # cert-manager's files
    # Replicas and shards
    leader_elect: bool = False
    lease: str = ""  # "namespace/name"
    identity: str = ""
    lease_duration: float = 8.0
    pod: str | None = None  # this Pod's name (in a cluster)
    shard: Shard = field(default_factory=Shard)
    lease_prefix: str = ""
    owner: str | None = None  # "namespace/name" of the ServiceAccount that owns what we create
    # What the operator creates and says
    create_templates: bool = False
    create_policy: dict[str, Any] | None = field(default=None, compare=False)
    routine_events: bool = True

    @property
    def lease_namespace(self) -> str:
        return self.lease.partition("/")[0]
