"""OIDC sign-in: an ID token (``Authorization: Bearer``, as oauth2-proxy passes it) verified
against the issuer's keys, its claims mapped to a user and groups as kube-apiserver's
``--oidc-*`` flags map them.

PyJWT verifies: the signature with a key of the issuer's JWKS (found through discovery), RS256 or
ES256 only (never ``none``, never an HMAC), ``iss``, ``aud``, ``exp`` and ``nbf`` with a small
clock skew. A ``kid`` not in the keys causes one JWKS refetch, at most every
:data:`REFETCH_EVERY` seconds (a stream of forged kids cannot make the portal hammer the issuer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt

from .auth import Identity, Refused, checked, loopback

ALGORITHMS = ("RS256", "ES256")
SKEW = 30  # seconds of clock skew allowed on exp, nbf and iat
REFETCH_EVERY = 60.0  # seconds between JWKS fetches caused by an unknown kid
DISCOVERY = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Settings:
    """The flags, with kube-apiserver's meaning."""

    issuer: str
    client_id: str
    username_claim: str = "email"
    groups_claim: str = "groups"
    username_prefix: str | None = None  # None: the issuer URL and # for claims other than email; "-": none
    groups_prefix: str = ""

    def user_prefix(self) -> str:
        if self.username_prefix == "-":
            return ""
        if self.username_prefix is None:
            return "" if self.username_claim == "email" else f"{self.issuer}#"
        return self.username_prefix


def issuer_problem(issuer: str) -> str | None:
    """Why ``--oidc-issuer`` is unusable: it must be https (http only on loopback, for tests)."""
    url = urlsplit(issuer)
    if url.scheme == "https" and url.hostname:
        return None
    if url.scheme == "http" and url.hostname and loopback(url.hostname):
        return None
    return f"--oidc-issuer {issuer!r}: use the issuer's https:// URL (as in its tokens' iss claim)"


def identity_of(claims: Mapping[str, Any], settings: Settings) -> Identity:
    """The user and groups of verified claims, prefixed; :class:`Refused` naming the claim otherwise."""
    name = claims.get(settings.username_claim)
    if not isinstance(name, str) or not name:
        raise Refused(f"the token has no {settings.username_claim!r} claim to name the user")
    if settings.username_claim == "email" and claims.get("email_verified") is False:
        raise Refused("the token's email is not verified (email_verified: false)")
    raw = claims.get(settings.groups_claim) or []
    groups = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else []
    if not all(isinstance(g, str) for g in groups):
        raise Refused(f"the token's {settings.groups_claim!r} claim is not a list of names")
    return checked(Identity(settings.user_prefix() + name, tuple(settings.groups_prefix + g for g in groups if g)))


class Verifier:
    """Verifies bearer tokens for one issuer and audience."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at = float("-inf")
        self.lock = asyncio.Lock()

    async def identity(self, token: str) -> Identity:
        """Who the token names; :class:`Refused` when it is not a valid ID token for this portal."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Refused("the sign-in token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise Refused(f"the sign-in token's algorithm {header.get('alg')!r} is not accepted (RS256, ES256)")
        key = await self._key(str(header.get("kid") or ""))
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[header["alg"]],
                audience=self.settings.client_id,
                issuer=self.settings.issuer,
                leeway=SKEW,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Refused(f"the sign-in token is not valid: {exc}") from None
        return identity_of(claims, self.settings)

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid in self.keys:
            return self.keys[kid]
        async with self.lock:
            if kid not in self.keys and time.monotonic() - self.fetched_at >= REFETCH_EVERY:
                await self._fetch()
        if kid in self.keys:
            return self.keys[kid]
        if not kid and len(self.keys) == 1:
            return next(iter(self.keys.values()))
        raise Refused(f"the sign-in token's key {kid!r} is not one of the issuer's keys")

    async def _fetch(self) -> None:
        """Discovery, then the JWKS (errors leave the old keys; the next unknown kid retries later)."""
        self.fetched_at = time.monotonic()
        try:
            config = await self._json(self.settings.issuer.rstrip("/") + DISCOVERY)
            if config.get("issuer") != self.settings.issuer:
                raise Refused(f"the issuer's discovery document names issuer {config.get('issuer')!r}")
            jwks = await self._json(str(config["jwks_uri"]))
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            raise Refused(f"the sign-in cannot be checked now: the issuer's keys are unreachable ({exc})") from None
        keys = {}
        for k in jwks.get("keys") or []:
            if k.get("use", "sig") != "sig":
                continue
            try:
                keys[str(k.get("kid") or "")] = jwt.PyJWK.from_dict(k)
            except jwt.PyJWTError:
                continue  # a key type PyJWT cannot use: not one of ours
        self.keys = keys

    async def _json(self, url: str) -> dict[str, Any]:
        async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
            resp.raise_for_status()
            return dict(await resp.json(content_type=None))
