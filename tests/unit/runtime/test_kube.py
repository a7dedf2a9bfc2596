"""The Kubernetes layer's pure parts: how long a throttled server asks us to wait."""

from __future__ import annotations

import asyncio

import pytest

from microapp_operator.runtime.kube import KubeError, _retry_after


@pytest.mark.parametrize("headers,seconds", [({"Retry-After": "3"}, 3.0), ({"Retry-After": "0.5"}, 0.5),
                                             ({"Retry-After": "86400"}, 300.0), ({"Retry-After": "-2"}, 0.0),
                                             ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, None), ({}, None)])
def test_retry_after_in_seconds_capped(headers: dict, seconds: float | None) -> None:
    assert _retry_after(headers) == seconds


@pytest.mark.parametrize("status,transient", [(0, True), (409, True), (429, True), (503, True), (400, False),
                                              (403, False), (404, False), (422, False)])
def test_which_errors_pass(status: int, transient: bool) -> None:
    assert KubeError(status, "x").transient is transient


def test_the_environment_is_read_once_not_on_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiohttp re-reads proxies and ~/.netrc per request when the session trusts the environment."""
    from kubernetes_asyncio import client

    from microapp_operator.runtime.kube import _environment_once

    async def check() -> None:
        for proxy, expected in (("", None), ("http://proxy.corp:3128", "http://proxy.corp:3128")):
            monkeypatch.setenv("HTTPS_PROXY", proxy)
            monkeypatch.delenv("NO_PROXY", raising=False)
            configuration = client.Configuration(host="https://10.0.0.1:6443")
            api = client.ApiClient(configuration)
            _environment_once(api)
            assert api.rest_client.pool_manager.trust_env is False
            assert (api.rest_client.proxy or None) == expected
            await api.close()
    asyncio.run(check())
