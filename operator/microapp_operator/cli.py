"""The ``microapp`` command: run the operator, and offline tools that call the same core."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Sequence

from . import crdgen

DEFAULT_LIVENESS = "http://127.0.0.1:8080/healthz"


def _cmd_crds(args: argparse.Namespace) -> int:
    """Write (or, with --check, compare) the generated CRDs in every output directory."""
    outputs = [Path(o) for o in args.output or ["crds"]]
    if args.check:
        stale = [out / name for out in outputs for name, text in crdgen.render_all().items()
                 if not (out / name).exists() or (out / name).read_text() != text]
        for path in stale:
            print(f"{path}: differs from the API types; run 'make crds' and commit", file=sys.stderr)
        return 1 if stale else 0
    for out in outputs:
        for path in crdgen.write_all(out):
            print(f"wrote {path}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    """Run the operator in the foreground against $KUBECONFIG (or in-cluster config)."""
    import kopf

    from . import handlers  # noqa: F401  (registers the handlers)

    kopf.configure(verbose=args.verbose, debug=args.debug)
    if not args.debug:  # one line per handled event is noise; our controller logs what matters
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    namespaces = args.namespace or []
    try:
        asyncio.run(kopf.operator(
            standalone=True,
            clusterwide=not namespaces,
            namespaces=namespaces,
            liveness_endpoint=args.liveness or None,
        ))
    except KeyboardInterrupt:
        return 130
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="microapp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the operator in the foreground")
    run.add_argument("--namespace", "-n", action="append",
                     help="watch only this namespace (repeatable); default: all namespaces")
    run.add_argument("--liveness", default=DEFAULT_LIVENESS,
                     help=f"liveness endpoint URL, '' to disable (default {DEFAULT_LIVENESS})")
    run.add_argument("--verbose", action="store_true", help="more logging")
    run.add_argument("--debug", action="store_true", help="debug logging")
    run.set_defaults(func=_cmd_run)

    crds = sub.add_parser("crds", help="generate the CRDs from the API types")
    crds.add_argument("--output", "-o", action="append",
                      help="directory, repeatable (default crds/)")
    crds.add_argument("--check", action="store_true",
                      help="exit 1 if the files in --output differ from a fresh generation")
    crds.set_defaults(func=_cmd_crds)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
