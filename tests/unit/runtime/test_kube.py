"""The Kubernetes layer's pure parts: how long a throttled server asks us to wait."""

from __future__ import annotations

import asyncio

import pytest

from microapp_operator.runtime.kube import KubeError, _retry_after


@pytest.mark.parametrize(
    "headers,seconds",
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"Retry-After": "86400"}, 300.0),
        ({"Retry-After": "-2"}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),
        ({}, None),
    ],
)
def test_retry_after_in_seconds_capped(headers: dict, seconds: float | None) -> None:
    assert _retry_after(headers) == seconds


@pytest.mark.parametrize(
    "status,transient",
    [(0, True), (409, True), (429, True), (503, True), (400, False), (403, False), (404, False), (422, False)],
)
def test_which_errors_pass(status: int, transient: bool) -> None:
    assert KubeError(status, "x").transient is transient


def test_the_proxy_is_read_from_the_environment_once_and_the_session_does_not_trust_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiohttp re-reads proxies and ~/.netrc per request when the session trusts the environment."""
    from kubernetes.client import Configuration

    from microapp_operator.runtime.credentials import Login
    from microapp_operator.runtime.kube import Kube, env_proxy

    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "")
    assert env_proxy("https://10.0.0.1:6443") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert env_proxy("https://10.0.0.1:6443") == "http://proxy.corp:3128"
    monkeypatch.setenv("NO_PROXY", "10.0.0.1")
    assert env_proxy("https://10.0.0.1:6443") is None

    async def check() -> None:
        kube = await Kube.connect(Login(Configuration(host="https://10.0.0.1:6443")), user_agent="t/1")
        assert kube.session.trust_env is False and kube.proxy is None
        assert kube.session.headers["User-Agent"] == "t/1"
        await kube.close()

    asyncio.run(check())


def test_a_connection_that_breaks_mid_answer_is_a_transient_kube_error() -> None:
    """Against a real socket: the server promises a body and hangs up half-way."""
    from kubernetes.client import Configuration

    from microapp_operator.runtime.credentials import Login
    from microapp_operator.runtime.kube import Kube

    async def check() -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"items"')
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        kube = await Kube.connect(Login(Configuration(host=f"http://127.0.0.1:{port}")))
        try:
            with pytest.raises(KubeError) as caught:
                await kube.request("GET", "/api/v1/namespaces")
            assert caught.value.status == 0 and caught.value.transient
            assert "API server unreachable" in caught.value.message
        finally:
            await kube.close()
            server.close()

    asyncio.run(check())
