"""A test OIDC issuer on loopback: keys made here, discovery and JWKS served by a small aiohttp
server in a thread of its own, and ID tokens signed (or forged) on demand."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "microapp-portal"


class Issuer:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # not published
        self.jwks_fetches = 0
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key, alg in (("rsa-1", self.rsa, RSAAlgorithm), ("ec-1", self.ec, ECAlgorithm)):
            jwk = alg.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256" if kid.startswith("rsa") else "ES256"})
        return {"keys": keys}

    def token(
        self,
        user: str = "alice@example.com",
        groups: list[str] | None = None,
        *,
        kid: str = "rsa-1",
        audience: str = AUDIENCE,
        issuer: str | None = None,
        lifetime: int = 600,
        key: Any = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body = {
            "iss": issuer or self.url,
            "aud": audience,
            "sub": uuid.uuid4().hex,
            "email": user,
            "email_verified": True,
            "groups": groups or [],
            "iat": now,
            "exp": now + lifetime,
            **claims,
        }
        alg = "ES256" if kid.startswith("ec") else "RS256"
        signing = key or (self.ec if alg == "ES256" else self.rsa)
        return jwt.encode(body, signing, algorithm=alg, headers={"kid": kid})

    def unsigned(self, user: str = "alice@example.com", groups: list[str] | None = None) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "email": user, "groups": groups or [], "exp": now + 600}
        return jwt.encode(body, None, algorithm="none")

    def app(self) -> web.Application:
        async def discovery(_: web.Request) -> web.Response:
            return web.json_response({"issuer": self.url, "jwks_uri": f"{self.url}/keys"})

        async def keys(_: web.Request) -> web.Response:
            self.jwks_fetches += 1
            return web.json_response(self.jwks())

        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", discovery)
        app.router.add_get("/keys", keys)
        return app

    async def start_here(self) -> None:
        """Serve on the running loop (unit tests)."""
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop_here(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def start_thread(self) -> None:
        """Serve from a thread of its own (for a portal in another process)."""
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start_here())
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        if not ready.wait(10):
            raise AssertionError("the test OIDC issuer did not start")

    def stop_thread(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self.stop_here(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
