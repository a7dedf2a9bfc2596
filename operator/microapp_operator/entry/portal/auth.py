"""Who is asking, and whether a change really comes from the portal's own page.

An :class:`Identity` is made only from a verified ID token (``oidc``) or the local mode's flags;
never from a request header a client could set. An identity the portal would impersonate is
refused when its user or a group starts with ``system:`` (impersonating ``system:masters`` would
make anyone cluster-admin). A change (POST) must carry a form token the portal signed for this
user (an HMAC of the user and an expiry) and, when the browser says where it comes from
(``Origin``, ``Sec-Fetch-Site``), come from the portal itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

RESERVED = "system:"
TOKEN_LIFETIME = 8 * 3600  # seconds a form token is good for


class Refused(Exception):
    """Not an identity the portal acts for: the message says why, for the person."""


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...] = ()


def checked(identity: Identity) -> Identity:
    """The identity, or :class:`Refused` when impersonating it could reach past RBAC."""
    if not identity.user:
        raise Refused("the sign-in names no user")
    reserved = [n for n in (identity.user, *identity.groups) if n.startswith(RESERVED)]
    if reserved:
        raise Refused(
            f"the portal does not act for {', '.join(reserved)}: names starting with {RESERVED} are "
            "the cluster's own; sign in with your personal account"
        )
    return identity


def loopback(host: str) -> bool:
    """Is this listen address on this machine only (127.0.0.0/8, ::1, localhost)?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class FormTokens:
    """Form tokens: ``expiry.signature``, the signature an HMAC-SHA256 of the user and the expiry."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the form-token key must be at least 16 bytes")
        self.key = key

    @classmethod
    def from_file(cls, path: Path | None) -> FormTokens:
        """The key in ``path`` (a mounted Secret), or a fresh one (local mode: tokens end with the process)."""
        return cls(path.read_bytes().strip() if path else secrets.token_bytes(32))

    def _sign(self, user: str, expiry: int) -> str:
        mac = hmac.new(self.key, f"{user}\n{expiry}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def issue(self, user: str, *, now: float | None = None) -> str:
        expiry = int((now if now is not None else time.time()) + TOKEN_LIFETIME)
        return f"{expiry}.{self._sign(user, expiry)}"

    def valid(self, token: str, user: str, *, now: float | None = None) -> bool:
        expiry_text, _, signature = token.partition(".")
        if not expiry_text.isdigit() or not signature:
            return False
        expiry = int(expiry_text)
        if expiry < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(signature, self._sign(user, expiry))


def cross_site(headers: Mapping[str, str], *, host: str) -> str | None:
    """Why a change request comes from another site (None: it does not, as far as the browser
    tells): ``Sec-Fetch-Site`` other than same-origin or none, or an ``Origin`` whose host is not
    the one asked (the scheme may differ behind a TLS-terminating proxy)."""
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {site}"
    origin = headers.get("Origin")
    if origin is not None and (origin == "null" or urlsplit(origin).netloc != host):
        return f"Origin {origin} is not this portal"
    return None
