"""The webhook server: Kopf's, answering our own reviews directly, and optionally registered
as a Service.

Kopf's generic admission dispatch (causes, per-object memories, handler progression, loggers)
cost about a third of the time of a whole review, and one event loop serves every review, so
at 20 concurrent requests each one waits for the others. Reviews for the webhook ids in
``direct`` therefore go straight to their handler, called with the same keyword arguments
Kopf would pass (and parsed with orjson); any other id still goes through Kopf. Kopf keeps
serving TLS, reloading the certificate and managing the ValidatingWebhookConfiguration from
the ``@kopf.on.validate`` registrations.

In a cluster, the API server cannot always resolve cluster DNS names, so the managed
configuration should point at a Service (``clientConfig.service``) rather than a URL;
``service`` makes the server register that instead.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp.web
import kopf
import orjson
from kopf._cogs.structs import reviews

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]


class WebhookServer(kopf.WebhookServer):
    """``kopf.WebhookServer`` plus direct handlers and an optional Service registration."""

    def __init__(
        self,
        *,
        direct: Mapping[str, tuple[Handler, frozenset[str]]] | None = None,
        memo: Any = None,
        service: tuple[str, str] | None = None,
        service_port: int = 443,
        **kwargs: Any,
    ) -> None:
        """``direct``: webhook id -> (handler, operations it takes); ``memo``: passed to them;
        ``service``: (namespace, name) to register instead of the URL."""
        super().__init__(**kwargs)
        self.direct = dict(direct or {})
        self.memo = memo
        self.service = (
            None
            if service is None
            else reviews.WebhookClientConfigService(namespace=service[0], name=service[1], port=service_port, path="/")
        )

    async def __call__(self, fn: reviews.WebhookFn) -> AsyncIterator[reviews.WebhookClientConfig]:
        async for config in super().__call__(fn):
            if self.service is not None:
                config = reviews.WebhookClientConfig(
                    caBundle=config.get("caBundle"),  # type: ignore[typeddict-item]
                    service=dict(self.service),
                )  # type: ignore[typeddict-item]
            yield config

    async def _serve(self, fn: reviews.WebhookFn, request: aiohttp.web.Request) -> aiohttp.web.Response:  # type: ignore[override]
        """Our webhook ids straight to their handler (orjson: parsing the review is a good part of
        what is left); any other id as Kopf serves it."""
        webhook = request.match_info.get("id")
        if webhook not in self.direct:
            return await super()._serve(fn, request)
        try:
            review = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            raise aiohttp.web.HTTPBadRequest(reason=f"the body is not JSON: {exc}") from None
        if not isinstance(review, dict):
            raise aiohttp.web.HTTPBadRequest(reason="the body is not an AdmissionReview")
        response = await answer(review, *self.direct[webhook], memo=self.memo)
        return aiohttp.web.Response(body=orjson.dumps(response), content_type="application/json")


async def answer(
    request: Mapping[str, Any], handler: Handler, operations: frozenset[str], *, memo: Any
) -> reviews.Response:
    """One AdmissionReview answered the way Kopf answers it: allowed unless the handler raises;
    ``kopf.AdmissionError`` carries the message and code; its warnings are returned."""
    payload = request.get("request") or {}
    operation = payload.get("operation")
    warnings: list[str] = []
    status: dict[str, Any] | None = None
    if operation in operations:
        new, old = payload.get("object"), payload.get("oldObject")
        try:
            await handler(
                body=new if new is not None else old,
                old=old,
                new=new,
                operation=operation,
                subresource=payload.get("subResource"),
                dryrun=bool(payload.get("dryRun")),
                userinfo=payload.get("userInfo") or {},
                warnings=warnings,
                memo=memo,
            )
        except kopf.AdmissionError as exc:
            status = {"message": str(exc) or "refused", "code": exc.code or 500}
        except Exception as exc:  # noqa: BLE001 - fail closed with a message, as Kopf does
            log.exception("admission handler %s failed", getattr(handler, "__name__", handler))
            status = {
                "message": "the microapp operator failed to check this request (an internal error, "
                f"{type(exc).__name__}; its log has the details); retry, and report it if it persists",
                "code": 500,
            }
    response: dict[str, Any] = {"uid": payload.get("uid", ""), "allowed": status is None}
    if warnings:
        response["warnings"] = [str(w) for w in warnings]
    if status is not None:
        response["status"] = status
    return {
        "apiVersion": request.get("apiVersion", "admission.k8s.io/v1"),  # type: ignore[return-value]
        "kind": request.get("kind", "AdmissionReview"),
        "response": response,
    }
