"""The fake Kubernetes layer keeps the real one's interface, so shell tests stay honest."""

from __future__ import annotations

import inspect

import pytest

from microapp_operator.runtime.kube import Kube
from tests.fake_kube import FakeKube

VERBS = [
    "get",
    "apply",
    "create",
    "replace",
    "merge_patch",
    "delete",
    "patch_status",
    "event",
    "list",
    "pages",
    "watch",
    "close",
]


@pytest.mark.parametrize("verb", VERBS)
def test_fake_has_the_same_signature_as_kube(verb: str) -> None:
    real, fake = inspect.signature(getattr(Kube, verb)), inspect.signature(getattr(FakeKube, verb))
    assert list(real.parameters) == list(fake.parameters), f"FakeKube.{verb} drifted from Kube.{verb}"
    assert [p.kind for p in real.parameters.values()] == [p.kind for p in fake.parameters.values()]


def test_every_public_method_the_runtime_calls_is_faked() -> None:
    public = {n for n, _ in inspect.getmembers(Kube, inspect.isfunction) if not n.startswith("_")}
    assert public - {"request", "connect"} <= set(VERBS), "a new Kube method needs a FakeKube twin"
