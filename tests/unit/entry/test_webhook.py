"""The webhook server: a Service reference in-cluster, and our reviews answered directly as Kopf would."""

from __future__ import annotations

import functools
import json
import ssl
import unittest.mock
from pathlib import Path

import aiohttp
import kopf

from microapp_operator.entry import certs, handlers
from microapp_operator.entry.webhook import WebhookServer, answer


async def test_service_client_config(tmp_path: Path) -> None:
    cert = certs.generate(tmp_path, ["microapp-operator.microapp-system.svc"])
    server = WebhookServer(
        service=("microapp-system", "microapp-operator"),
        addr="127.0.0.1",
        port=0,
        certfile=str(cert.certfile),
        pkeyfile=str(cert.keyfile),
        cadata=cert.ca_pem,
    )

    async def fn(*_: object, **__: object) -> dict:
        return {}

    gen = server(fn)
    config = await gen.__anext__()
    await gen.aclose()
    assert "url" not in config
    assert config["service"] == {"namespace": "microapp-system", "name": "microapp-operator", "port": 443, "path": "/"}
    assert config["caBundle"]


def _review(operation: str = "CREATE", **request: object) -> dict:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u-1",
            "operation": operation,
            "object": {"metadata": {"name": "a"}},
            "oldObject": None,
            "dryRun": True,
            "userInfo": {"username": "alice"},
            **request,
        },
    }


async def test_direct_answer_passes_kopf_kwargs_and_returns_warnings() -> None:
    seen: dict = {}

    async def handler(
        body: dict,
        old: object,
        operation: str,
        dryrun: bool,
        userinfo: dict,
        warnings: list[str],
        memo: object,
        **_: object,
    ) -> None:
        seen.update(body=body, operation=operation, dryrun=dryrun, user=userinfo["username"], memo=memo)
        warnings.append("estimated cost 1.00 USD/month")

    response = await answer(_review(), handler, frozenset({"CREATE"}), memo="the-memo")
    assert response == {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "u-1", "allowed": True, "warnings": ["estimated cost 1.00 USD/month"]},
    }
    assert seen == {
        "body": {"metadata": {"name": "a"}},
        "operation": "CREATE",
        "dryrun": True,
        "user": "alice",
        "memo": "the-memo",
    }


async def test_direct_answer_denies_like_kopf() -> None:
    async def deny(warnings: list[str], **_: object) -> None:
        warnings.append("estimated cost 9.00 USD/month")
        raise kopf.AdmissionError("over budget", code=403)

    response = (await answer(_review(), deny, frozenset({"CREATE"}), memo=None))["response"]
    assert response["allowed"] is False
    assert response["status"] == {"message": "over budget", "code": 403}
    assert response["warnings"] == ["estimated cost 9.00 USD/month"]


async def test_direct_answer_fails_closed_on_a_bug() -> None:
    async def broken(**_: object) -> None:
        raise KeyError("spec")

    response = (await answer(_review(), broken, frozenset({"CREATE"}), memo=None))["response"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 500
    assert "failed to check this request" in response["status"]["message"]
    assert "KeyError('spec')" not in response["status"]["message"] and "'spec'" not in response["status"]["message"]


async def test_direct_answer_allows_operations_the_handler_does_not_take() -> None:
    async def deny(**_: object) -> None:
        raise kopf.AdmissionError("no")

    response = (await answer(_review("DELETE"), deny, frozenset({"CREATE", "UPDATE"}), memo=None))["response"]
    assert response == {"uid": "u-1", "allowed": True}


def test_direct_ids_are_the_registered_validating_webhooks() -> None:
    registry = kopf.OperatorRegistry()
    with unittest.mock.patch.object(kopf.on, "validate", functools.partial(kopf.on.validate, registry=registry)):
        handlers.register_admission()
    registered = {h.id: set(h.operations or []) for h in registry._webhooks.get_all_handlers()}
    assert registered == {hid: set(ops) for hid, (_, ops) in handlers.ADMISSION.items()}


async def test_server_answers_direct_ids_refuses_garbage_and_passes_the_rest_to_kopf(tmp_path: Path) -> None:
    """A real TLS server on localhost: what the API server would see."""
    cert = certs.generate(tmp_path, ["127.0.0.1"])

    async def handler(warnings: list[str], **_: object) -> None:
        warnings.append("estimated cost 1.00 USD/month")

    kopf_calls: list[str | None] = []

    async def kopf_fn(request: dict, *, webhook: str | None = None, **_: object) -> dict:
        kopf_calls.append(webhook)
        return {"response": {"uid": request["request"]["uid"], "allowed": True}}

    server = WebhookServer(
        addr="127.0.0.1",
        port=0,
        host="127.0.0.1",
        certfile=str(cert.certfile),
        pkeyfile=str(cert.keyfile),
        cadata=cert.ca_pem,
        direct={"admission": (handler, frozenset({"CREATE"}))},
    )
    gen = server(kopf_fn)
    url = (await gen.__anext__())["url"].rstrip("/")
    ssl_context = ssl.create_default_context(cadata=cert.ca_pem.decode())
    try:
        async with aiohttp.ClientSession() as session:

            async def post(path: str, data: bytes) -> tuple[int, object]:
                async with session.post(f"{url}/{path}", data=data, ssl=ssl_context) as resp:
                    return resp.status, (await resp.json() if resp.status == 200 else await resp.text())

            status, body = await post("admission", json.dumps(_review()).encode())
            assert status == 200 and body["response"]["warnings"] == ["estimated cost 1.00 USD/month"]
            assert (await post("admission", b"{not json"))[0] == 400
            assert (await post("admission", b"[1, 2]"))[0] == 400
            status, body = await post("other", json.dumps(_review()).encode())
            assert status == 200 and kopf_calls == ["other"]
    finally:
        await gen.aclose()
