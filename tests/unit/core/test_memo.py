"""Values remembered by object identity."""

from __future__ import annotations

import pytest

from microapp_operator.core.memo import ByIdentity


def test_computed_once_per_object_not_per_equal_content() -> None:
    calls: list[dict] = []
    cached = ByIdentity(lambda obj: calls.append(obj) or len(obj), size=4)
    a, b = {"x": 1}, {"x": 1}
    assert [cached(a), cached(a), cached(b)] == [1, 1, 1]
    assert [c is a for c in calls] == [True, False]  # a once, then the equal but distinct b


def test_failures_are_not_remembered_and_size_is_bounded() -> None:
    attempts = []

    def build(obj: list) -> int:
        attempts.append(1)
        if not obj:
            raise ValueError("empty")
        return len(obj)

    cached = ByIdentity(build, size=2)
    empty: list = []
    for _ in range(2):
        with pytest.raises(ValueError):
            cached(empty)
    assert len(attempts) == 2
    objs = [[1], [1, 2], [1, 2, 3]]
    assert [cached(o) for o in objs] == [1, 2, 3]
    assert len(cached._entries) <= 2
