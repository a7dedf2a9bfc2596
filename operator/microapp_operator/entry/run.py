"""``microapp run``: the operator in the foreground (Kopf on asyncio, or uvloop if asked; the runtime's manager)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import socket
import sys
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import OperatorConfig

DEFAULT_LIVENESS = "http://127.0.0.1:8080/healthz"


def add_parser(sub: Any) -> None:
    """The ``run`` subcommand and its options."""
    run = sub.add_parser("run", help="run the operator in the foreground")
    run.add_argument(
        "--namespace", "-n", action="append", help="watch only this namespace (repeatable); default: all namespaces"
    )
    run.add_argument(
        "--liveness",
        default=DEFAULT_LIVENESS,
        help=f"liveness endpoint URL, '' to disable (default {DEFAULT_LIVENESS})",
    )
    run.add_argument("--workers", type=int, default=4, help="concurrent reconciles (default 4)")
    run.add_argument(
        "--resync-seconds",
        type=float,
        default=300,
        help="look at every app again once per this period, jittered; 0 disables (default 300)",
    )
    run.add_argument("--metrics-port", type=int, default=8081, help="/metrics port, 0 to disable (default 8081)")
    run.add_argument("--metrics-addr", default="127.0.0.1", help="/metrics address (default 127.0.0.1)")
    _add_webhook_options(run)
    _add_replica_options(run)
    run.add_argument(
        "--create-builtin-templates",
        action="store_true",
        help="create the built-in AppTemplates that do not exist yet (never overwrites)",
    )
    run.add_argument(
        "--create-default-policy",
        metavar="FILE",
        help="create this PlatformPolicy if it does not exist yet (never overwrites)",
    )
    run.add_argument(
        "--no-webhook",
        action="store_true",
        help="do not serve admission (budgets and policy are then only checked after the fact)",
    )
    run.add_argument(
        "--no-routine-events",
        dest="routine_events",
        action="store_false",
        help="post only Warning and lifecycle Events, not the routine Applied, Pruned, TemplateResolved "
        "and Ready ones (status says the same; at thousands of apps they are a quarter of the "
        "operator's writes)",
    )
    run.add_argument(
        "--event-loop",
        choices=["asyncio", "uvloop"],
        default="asyncio",
        help="asyncio (default) or uvloop (faster, but a connect cancelled while the API server is "
        "down can leave uvloop holding a stale transport on a socket, and every later connect on "
        "that descriptor fails until the process restarts: MagicStack/uvloop#653)",
    )
    run.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="text for people (default), json for log pipelines: one object per line",
    )
    run.add_argument("--verbose", action="store_true", help="more logging")
    run.add_argument("--debug", action="store_true", help="debug logging")
    run.set_defaults(func=command)


def _add_webhook_options(run: Any) -> None:
    """Where the admission webhook listens, its certificates and its registration."""
    run.add_argument("--webhook-port", type=int, default=9443, help="admission webhook port (default 9443)")
    run.add_argument("--webhook-addr", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    run.add_argument(
        "--webhook-host",
        help="host name or IP the API server uses to reach the webhook "
        "(default: --webhook-addr; in a cluster: the Service's DNS name)",
    )
    run.add_argument(
        "--webhook-cert-dir",
        help="where to write the generated CA and serving certificate (default: a private temporary directory)",
    )
    run.add_argument(
        "--webhook-service",
        metavar="NAMESPACE/NAME",
        help="register the webhook as this Service (in-cluster) instead of a URL",
    )
    run.add_argument(
        "--webhook-no-register",
        action="store_true",
        help="serve the webhook but leave the ValidatingWebhookConfiguration alone (benchmarks)",
    )
    run.add_argument(
        "--webhook-ca-secret",
        metavar="NAMESPACE/NAME",
        help="keep the webhook CA in this Secret, shared by every replica (default: a new CA "
        "per process, fine for one replica)",
    )
    run.add_argument(
        "--webhook-configuration",
        metavar="NAME",
        help="the ValidatingWebhookConfiguration the chart installed: keep its caBundle current "
        "and leave the rest alone (default: the operator manages its own, named microapp.dev)",
    )
    run.add_argument(
        "--owned-by-service-account",
        metavar="NAMESPACE/NAME",
        help="make this ServiceAccount (the chart's) the owner of the Lease and the webhook CA Secret "
        "the operator creates, so that deleting it (helm uninstall) deletes them too",
    )
    run.add_argument(
        "--webhook-tls-dir",
        metavar="DIR",
        help="serve tls.crt/tls.key from DIR, with ca.crt as the CA (cert-manager's Secret, mounted)",
    )


def _add_replica_options(run: Any) -> None:
    """Active/standby replicas and shards."""
    run.add_argument(
        "--leader-elect",
        action="store_true",
        help="run active/standby: only the holder of a Lease reconciles and admits",
    )
    run.add_argument(
        "--leader-elect-lease", metavar="NAMESPACE/NAME", help="the Lease (default: $POD_NAMESPACE/microapp-operator)"
    )
    run.add_argument(
        "--leader-elect-identity",
        help="this replica's name in the Lease (default: $POD_NAME, else host name and a random suffix)",
    )
    run.add_argument(
        "--leader-elect-lease-duration",
        type=float,
        default=8.0,
        help="seconds a standby waits after the last renewal before it takes over (default 8)",
    )
    run.add_argument(
        "--shard",
        metavar="NAME",
        help="act only on the namespaces of this shard (label microapp.dev/shard=NAME); needs "
        "--shards and --leader-elect",
    )
    run.add_argument(
        "--shards",
        metavar="A,B,...",
        help="every shard's name; the first also takes namespaces with no or an unknown microapp.dev/shard label",
    )
    run.add_argument(
        "--shard-lease-prefix",
        metavar="NAMESPACE/PREFIX",
        help="shard X elects its leader on the Lease PREFIX-X, which the other shards read to "
        "see whether it is alive (default: $POD_NAMESPACE/microapp-operator)",
    )


def config(args: argparse.Namespace, stop: asyncio.Event) -> OperatorConfig:
    """What the startup handler needs, from the command line and the Pod's environment."""
    from .config import OperatorConfig

    home = os.environ.get("POD_NAMESPACE") or _own_namespace()
    shard = _shard(args)
    lease = args.leader_elect_lease or f"{home}/microapp-operator"
    prefix = args.shard_lease_prefix or f"{home}/microapp-operator"
    if shard.sharded:
        if "/" not in prefix:
            raise SystemExit(f"--shard-lease-prefix {prefix}: expected NAMESPACE/PREFIX")
        own = f"{prefix}-{shard.name}"
        if args.leader_elect_lease and args.leader_elect_lease != own:
            raise SystemExit(
                f"--leader-elect-lease {args.leader_elect_lease} disagrees with --shard-lease-prefix: "
                f"shard {shard.name}'s Lease is {own}; drop one of the two flags"
            )
        lease = own
    identity = (
        args.leader_elect_identity or os.environ.get("POD_NAME") or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"
    )
    return OperatorConfig(
        stop_flag=stop,
        workers=args.workers,
        resync=args.resync_seconds,
        metrics_port=args.metrics_port,
        metrics_addr=args.metrics_addr,
        webhook_port=None if args.no_webhook else args.webhook_port,
        webhook_addr=args.webhook_addr,
        webhook_host=args.webhook_host or args.webhook_addr,
        webhook_cert_dir=args.webhook_cert_dir,
        webhook_service=args.webhook_service,
        webhook_ca_secret=args.webhook_ca_secret,
        webhook_register=not args.webhook_no_register,
        webhook_configuration=args.webhook_configuration,
        webhook_tls_dir=args.webhook_tls_dir,
        leader_elect=args.leader_elect,
        lease=lease,
        identity=identity,
        pod=os.environ.get("POD_NAME"),
        create_templates=args.create_builtin_templates,
        create_policy=_policy(args.create_default_policy),
        lease_duration=args.leader_elect_lease_duration,
        shard=shard,
        routine_events=args.routine_events,
        owner=args.owned_by_service_account,
        lease_prefix=prefix.partition("/")[2] if shard.sharded else "",
    )


def _shard(args: argparse.Namespace) -> Any:
    """--shard/--shards/--namespace, checked now: a mistake stops the start with the fix."""
    from ..core.shard import Shard

    try:
        shard = Shard.parse(args.shard, (args.shards or "").split(","), args.namespace or [])
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    if shard.sharded and not args.leader_elect:
        raise SystemExit(
            f"--shard {shard.name} needs --leader-elect: the other shards read its Lease to know "
            "whether it is alive before they take its namespaces"
        )
    return shard


def _policy(path: str | None) -> dict[str, Any] | None:
    """The --create-default-policy file, checked now: a bad file stops the start with its reason."""
    if not path:
        return None
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            policy = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        raise SystemExit(f"--create-default-policy {path}: cannot read it: {exc}") from None
    if not isinstance(policy, dict) or policy.get("kind") != "PlatformPolicy":
        raise SystemExit(f"--create-default-policy {path}: not a PlatformPolicy (kind: PlatformPolicy expected)")
    return policy


def _own_namespace() -> str:
    """In a Pod, its namespace (from the ServiceAccount mount); elsewhere ``default``."""
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"


def command(args: argparse.Namespace) -> int:
    """Run the operator in the foreground against $KUBECONFIG (or in-cluster config)."""
    import kopf

    from . import handlers  # registers the watch handlers

    if not args.no_webhook:
        handlers.register_admission()

    kopf.configure(verbose=args.verbose, debug=args.debug)
    if args.log_format == "json":
        from . import logs

        logs.use_json()
    if not args.debug:  # one line per handled event is noise; our controller logs what matters
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").disabled = True  # one line per admission review
    # Long-lived objects (modules, the catalog) leave the young generations; collections get
    # rarer: fewer pauses in the middle of an admission review.
    gc.freeze()
    gc.set_threshold(20000, 50, 100)
    from . import diagnostics

    diagnostics.install()
    namespaces = args.namespace or []
    stop = asyncio.Event()  # set by the manager when a background task dies
    memo = kopf.Memo(config=config(args, stop))
    try:
        _event_loop(args.event_loop)(
            kopf.operator(
                standalone=True,
                clusterwide=not namespaces,
                namespaces=namespaces,
                liveness_endpoint=args.liveness or None,
                stop_flag=stop,
                memo=memo,
            )
        )
    except KeyboardInterrupt:
        return 130
    if memo.get("failed"):
        print(f"microapp operator stopped: {memo.failed}", file=sys.stderr)
        return 1
    return 0


def _event_loop(name: str) -> Any:
    """The function that runs the operator's coroutine to completion on the chosen loop."""
    if name == "uvloop":
        import uvloop

        return uvloop.run
    return asyncio.run
