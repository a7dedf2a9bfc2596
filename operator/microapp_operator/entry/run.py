"""``microapp run``: the operator in the foreground (Kopf, uvloop, the runtime's manager)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from typing import Any

DEFAULT_LIVENESS = "http://127.0.0.1:8080/healthz"


def add_parser(sub: Any) -> None:
    """The ``run`` subcommand and its options."""
    run = sub.add_parser("run", help="run the operator in the foreground")
    run.add_argument("--namespace", "-n", action="append",
                     help="watch only this namespace (repeatable); default: all namespaces")
    run.add_argument("--liveness", default=DEFAULT_LIVENESS,
                     help=f"liveness endpoint URL, '' to disable (default {DEFAULT_LIVENESS})")
    run.add_argument("--workers", type=int, default=4, help="concurrent reconciles (default 4)")
    run.add_argument("--resync-seconds", type=float, default=300,
                     help="look at every app again once per this period, jittered; 0 disables (default 300)")
    run.add_argument("--metrics-port", type=int, default=8081, help="/metrics port, 0 to disable (default 8081)")
    run.add_argument("--metrics-addr", default="127.0.0.1", help="/metrics address (default 127.0.0.1)")
    run.add_argument("--webhook-port", type=int, default=9443, help="admission webhook port (default 9443)")
    run.add_argument("--webhook-addr", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    run.add_argument("--webhook-host", help="host name or IP the API server uses to reach the webhook "
                     "(default: --webhook-addr; in a cluster: the Service's DNS name)")
    run.add_argument("--webhook-cert-dir", help="where to write the generated CA and serving certificate "
                     "(default: a private temporary directory)")
    run.add_argument("--webhook-service", metavar="NAMESPACE/NAME",
                     help="register the webhook as this Service (in-cluster) instead of a URL")
    run.add_argument("--webhook-no-register", action="store_true",
                     help="serve the webhook but leave the ValidatingWebhookConfiguration alone (benchmarks)")
    run.add_argument("--no-webhook", action="store_true",
                     help="do not serve admission (budgets and policy are then only checked after the fact)")
    run.add_argument("--log-format", choices=["text", "json"], default="text",
                     help="text for people (default), json for log pipelines: one object per line")
    run.add_argument("--verbose", action="store_true", help="more logging")
    run.add_argument("--debug", action="store_true", help="debug logging")
    run.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    """Run the operator in the foreground against $KUBECONFIG (or in-cluster config)."""
    import kopf
    import uvloop

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
    namespaces = args.namespace or []
    stop = asyncio.Event()  # set by the manager when a background task dies
    config = {"stop_flag": stop, "workers": args.workers, "resync": args.resync_seconds, "metrics_port": args.metrics_port, "metrics_addr": args.metrics_addr,
              "webhook_port": None if args.no_webhook else args.webhook_port,
              "webhook_addr": args.webhook_addr, "webhook_host": args.webhook_host or args.webhook_addr,
              "webhook_cert_dir": args.webhook_cert_dir, "webhook_service": args.webhook_service,
              "webhook_register": not args.webhook_no_register}
    memo = kopf.Memo(config=config)
    try:
        uvloop.run(kopf.operator(
            standalone=True,
            clusterwide=not namespaces,
            namespaces=namespaces,
            liveness_endpoint=args.liveness or None,
            stop_flag=stop,
            memo=memo,
        ))
    except KeyboardInterrupt:
        return 130
    if memo.get("failed"):
        print(f"microapp operator stopped: {memo.failed}", file=sys.stderr)
        return 1
    return 0
