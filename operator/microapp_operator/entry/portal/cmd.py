"""``microapp portal``: the flags (DESIGN.md, "Portal") and the server's start.

Sign-in is OIDC (``--oidc-*``, as kube-apiserver's flags) or, for demos and tests, the local
mode (``--dev-user``, ``--dev-group``), which listens on loopback only.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ..files import UsageError, file_argument
from .auth import Identity, Refused, checked, loopback


def add_parser(sub: Any) -> None:
    cmd = sub.add_parser(
        "portal", help="the web portal: create apps from the catalog in a browser, as yourself (RBAC applies)"
    )
    cmd.add_argument("--listen", default="127.0.0.1:8080", metavar="ADDR:PORT", help="default 127.0.0.1:8080")
    oidc = cmd.add_argument_group("sign-in (OIDC; the same meaning as kube-apiserver's --oidc-* flags)")
    oidc.add_argument("--oidc-issuer", metavar="URL", help="the issuer URL, as in its tokens' iss claim")
    oidc.add_argument("--oidc-client-id", metavar="ID", help="the audience the ID tokens must be for")
    oidc.add_argument("--oidc-username-claim", default="email", metavar="CLAIM", help="default email")
    oidc.add_argument("--oidc-groups-claim", default="groups", metavar="CLAIM", help="default groups")
    oidc.add_argument(
        "--oidc-username-prefix",
        metavar="PREFIX",
        help="default: none for email, else the issuer URL and #; '-' for none",
    )
    oidc.add_argument("--oidc-groups-prefix", default="", metavar="PREFIX", help="default none")
    local = cmd.add_argument_group("local mode (demos and tests; loopback addresses only)")
    local.add_argument("--dev-user", metavar="USER", help="act as this user, without sign-in")
    local.add_argument(
        "--dev-group", action="append", default=[], metavar="GROUP", help="and in this group (repeatable)"
    )
    file_argument(
        cmd.add_argument(
            "--form-key-file",
            metavar="FILE",
            help="the key that signs form tokens (the chart mounts a Secret); default: a new one at each start",
        )
    )
    cmd.set_defaults(func=run)


def listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(f"--listen {text!r}: give ADDR:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


def settings(args: argparse.Namespace) -> tuple[str, int, Identity | None]:
    """The listen address and the local identity, or a UsageError naming the flag to fix."""
    host, port = listen_address(args.listen)
    if args.dev_user:
        if args.oidc_issuer:
            raise UsageError("--dev-user and --oidc-issuer exclude each other: the local mode has no sign-in")
        if not loopback(host):
            raise UsageError(
                f"--listen {args.listen}: the local mode (--dev-user) listens on loopback only "
                "(127.0.0.1, ::1 or localhost), since anyone who reaches it acts as that user"
            )
        try:
            return host, port, checked(Identity(args.dev_user, tuple(args.dev_group)))
        except Refused as exc:
            raise UsageError(f"--dev-user/--dev-group: {exc}") from None
    if not (args.oidc_issuer and args.oidc_client_id):
        raise UsageError("give --oidc-issuer and --oidc-client-id (sign-in), or --dev-user USER for the local mode")
    from .oidc import issuer_problem

    problem = issuer_problem(args.oidc_issuer)
    if problem:
        raise UsageError(problem)
    return host, port, None


def run(args: argparse.Namespace) -> int:
    host, port, dev = settings(args)
    from aiohttp import web

    from .server import build

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    mode = f"local mode as {dev.user} in {', '.join(dev.groups) or 'no group'}" if dev else "OIDC sign-in"
    shown = f"[{host}]" if ":" in host else host

    def announce(_: str) -> None:
        print(f"portal: http://{shown}:{port}/ ({mode})", flush=True)

    key = Path(args.form_key_file) if args.form_key_file else None
    web.run_app(build(args, dev, key), host=host, port=port, print=announce, access_log=None)
    return 0
