"""The portal's web server (aiohttp): who is asking, the browser hardening, the static files.

Every response carries a Content-Security-Policy of ``'self'`` only (no inline script or style,
no eval), ``frame-ancestors 'none'``, and ``Cache-Control: no-store`` on anything but the static
files. The identity comes from the local mode's flags or a verified ID token, never from a header
a client sets (``Impersonate-*``, ``X-Remote-User``, ``X-Forwarded-User``, ... are not read). A
change (POST) must be same-site and carry a form token signed for this user. The portal sets no
cookie: oauth2-proxy's session cookie (``SameSite``) is the only one.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

import aiohttp
from aiohttp import web

from ...runtime.kube import Kube, KubeError
from . import approvals, apps, edit, oidc, pages, propose, showback
from .auth import FormTokens, Identity, Refused, checked, cross_site
from .common import PORTAL, Portal, message
from .feeds import Feeds
from .source import Source

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # (no-referrer would make form posts say Origin: null)
    "X-Frame-Options": "DENY",
}
log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def identify(portal: Portal, request: web.Request) -> Identity:
    """The signed-in identity: the local mode's, or the verified bearer token's."""
    if portal.dev is not None:
        return portal.dev
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused("sign in first: the portal expects your ID token (Authorization: Bearer, from oauth2-proxy)")
    assert portal.verifier is not None
    return checked(await portal.verifier.identity(token.strip()))


@web.middleware
async def hardening(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on everything; ``no-store`` on all but the static files; the server's own
    time in ``Server-Timing`` (what ``make bench`` reads)."""
    start = time.perf_counter()
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        resp = exc
    resp.headers.update(SECURITY_HEADERS)
    resp.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.2f}"
    if not request.path.startswith("/static/"):
        resp.headers["Cache-Control"] = "no-store"
    return resp


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is asking (refused: 401), and for a change: same-site with a valid form token (403)."""
    if request.path.startswith("/static/") or request.path == "/healthz":
        return await handler(request)
    portal = request.app[PORTAL]
    try:
        request["identity"] = await identify(portal, request)
    except Refused as exc:
        return message(request, 401, "Not signed in", str(exc))
    if request.method in ("GET", "HEAD"):
        return await handler(request)
    if request.method != "POST":
        return message(request, 405, "Not allowed", f"the portal does not take {request.method} requests")
    why = cross_site(request.headers, host=request.host)
    if why:
        log.warning("cross-site change refused path=%s why=%s", request.path, why)
        return message(request, 403, "Refused", f"a change must come from the portal's own page ({why})")
    form = await request.post()
    if not portal.tokens.valid(str(form.get("csrf", "")), request["identity"].user):
        return message(
            request,
            403,
            "Refused",
            "the form has expired or was not made for you; reload the page and submit it again",
        )
    request["form"] = form
    return await handler(request)


@web.middleware
async def cluster_trouble(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An API server that does not answer as it should: a page that says so, never a traceback."""
    try:
        return await handler(request)
    except KubeError as exc:
        log.warning("cluster read failed path=%s error=%s", request.path, exc)
        return message(
            request, 503, "The cluster did not answer", f"{exc.status}: {exc.message}", "try again in a moment"
        )


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def make_app(portal: Portal) -> web.Application:
    app = web.Application(middlewares=[hardening, guard, cluster_trouble], client_max_size=256 * 1024)
    app[PORTAL] = portal
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", Path(str(resources.files(__package__).joinpath("static"))))
    pages.routes(app.router)
    showback.routes(app.router)
    approvals.routes(app.router)
    edit.routes(app.router)
    propose.routes(app.router)
    apps.routes(app.router)
    app[apps.FEEDS] = feeds = Feeds(portal.kube)

    async def stop_feeds(_: web.Application) -> None:
        await feeds.close()

    app.on_cleanup.append(stop_feeds)
    return app


async def build(args: argparse.Namespace, dev: Identity | None, key_file: Path | None) -> web.Application:
    """The application with its connections (closed when it stops)."""
    kube = await Kube.connect(user_agent="microapp-portal/0.1")
    session = aiohttp.ClientSession(trust_env=False)
    verifier = None
    if dev is None:
        settings = oidc.Settings(
            issuer=args.oidc_issuer,
            client_id=args.oidc_client_id,
            username_claim=args.oidc_username_claim,
            groups_claim=args.oidc_groups_claim,
            username_prefix=args.oidc_username_prefix,
            groups_prefix=args.oidc_groups_prefix,
        )
        verifier = oidc.Verifier(settings, session)
    portal = Portal(kube, Source(kube), FormTokens.from_file(key_file), dev=dev, verifier=verifier)
    app = make_app(portal)

    async def close(_: web.Application) -> None:
        await session.close()
        await kube.close()

    app.on_cleanup.append(close)
    return app
