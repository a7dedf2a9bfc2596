"""What the portal's handlers share: the portal itself and how a page is drawn."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ...core.approval import may_approve
from ...presentation import html
from ...runtime.kube import Kube
from .auth import FormTokens, Identity
from .oidc import Verifier
from .source import Source

SIGN_OUT = "/oauth2/sign_out"  # oauth2-proxy ends its session there
HTMX = "htmx-2.0.11.min.js"  # vendored from the npm package htmx.org@2.0.11 (Zero-Clause BSD)


@dataclass
class Portal:
    """What the handlers share: the portal's own connection, the cached catalog and policy, how
    people sign in, and the form-token key."""

    kube: Kube
    source: Source
    tokens: FormTokens
    dev: Identity | None = None
    verifier: Verifier | None = None


PORTAL = web.AppKey("portal", Portal)


def page(request: web.Request, template: str, *, status: int = 200, **context: object) -> web.Response:
    """A page of the portal for the signed-in user."""
    ident = request.get("identity")
    signout = None if request.app[PORTAL].dev else SIGN_OUT
    snap = request.app[PORTAL].source.snapshot  # the last read (each page reads it first): no request here
    groups = set(ident.groups) if ident else set()
    nav_teams = [t.name for t in (snap.policy.teams or [] if snap else []) if groups & set(t.groups or [])]
    approver = bool(snap and ident and may_approve(username=ident.user, groups=ident.groups, policy=snap.policy))
    body = html.portal(
        template,
        htmx=HTMX,
        user=ident.user if ident else "nobody",
        signout=signout,
        nav_teams=nav_teams,
        nav_approver=approver,
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html")


def message(request: web.Request, status: int, title: str, *lines: str, href: str = "", text: str = "") -> web.Response:
    """A page that says one thing (a refusal, a missing app), in ``role=alert``."""
    return page(request, "message", status=status, title=title, lines=lines, link=href, link_text=text)
