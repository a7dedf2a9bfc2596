"""The Kubernetes layer's pure parts: how long a throttled server asks us to wait."""

from __future__ import annotations

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
