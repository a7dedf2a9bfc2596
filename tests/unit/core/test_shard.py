"""The shard rules: selection, the webhook's namespaceSelector, the hand-over steps, split teams."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from microapp_operator.core.shard import (
    HOLDER_ANNOTATION,
    SHARD_LABEL,
    Shard,
    Step,
    holder_patch,
    split,
    split_message,
    step,
)

A = Shard.parse("a", ["a", "b", "c"])
B = Shard.parse("b", ["a", "b", "c"])


@pytest.mark.parametrize(
    "name, names, message",
    [
        (None, ["a", "b"], "--shards needs --shard"),
        ("a", [], "needs --shards"),
        ("d", ["a", "b"], "--shard d is not one of --shards a,b"),
        ("a", ["a", "a"], "listed twice"),
        ("A_b", ["A_b"], "not a valid label value"),
    ],
)
def test_a_wrong_command_line_names_the_flag_and_the_fix(name: str | None, names: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Shard.parse(name, names)


def test_every_namespace_has_exactly_one_shard_and_the_default_takes_the_unlabelled() -> None:
    shards = [Shard.parse(n, ["a", "b", "c"]) for n in "abc"]
    for labels, owner in (
        ({}, "a"),
        ({SHARD_LABEL: "b"}, "b"),
        ({SHARD_LABEL: "c"}, "c"),
        ({SHARD_LABEL: "typo"}, "a"),
        ({SHARD_LABEL: "a"}, "a"),
    ):
        assert [s.name for s in shards if s.selects("ns", labels)] == [owner]


def _matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """The API server's reading of matchExpressions (NotIn matches a missing label)."""
    for expr in (selector or {}).get("matchExpressions", []):
        value = labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and value in expr["values"]:
            return False
    return True


@pytest.mark.parametrize(
    "labels", [{}, {SHARD_LABEL: "a"}, {SHARD_LABEL: "b"}, {SHARD_LABEL: "c"}, {SHARD_LABEL: "gone"}, {"other": "x"}]
)
def test_the_webhook_selector_routes_admission_to_the_same_shard_as_selects(labels: dict[str, str]) -> None:
    for shard in (Shard.parse(n, ["a", "b", "c"]) for n in "abc"):
        assert _matches(shard.namespace_selector(), labels) == shard.selects("ns", labels)


def test_unsharded_selects_everything_or_the_listed_namespaces() -> None:
    assert Shard().selects("any", {SHARD_LABEL: "b"}) and Shard().namespace_selector() is None
    only = Shard.parse(None, [], ["team-a"])
    assert only.selects("team-a", None) and not only.selects("team-b", None)


def ns(labels: dict[str, str] | None = None, holder: str | None = None, rv: str = "7") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "n1",
            "resourceVersion": rv,
            "labels": labels or {},
            "annotations": {HOLDER_ANNOTATION: holder} if holder else {},
        }
    }


@pytest.mark.parametrize(
    "namespace, alive, expected",
    [
        (ns({SHARD_LABEL: "b"}, holder="b"), True, Step.OWN),
        (ns({SHARD_LABEL: "a"}, holder="b"), True, Step.RELEASE),  # moved to a: b stops, then clears
        (ns({SHARD_LABEL: "b"}, holder="a"), True, Step.WAIT),  # a has not released yet
        (ns({SHARD_LABEL: "b"}, holder="a"), False, Step.CLAIM),  # a is dead: its Lease ran out
        (ns({SHARD_LABEL: "b"}, holder="removed-shard"), True, Step.CLAIM),
        (ns({SHARD_LABEL: "b"}), True, Step.CLAIM),
        (ns({SHARD_LABEL: "c"}), True, Step.IGNORE),
        (ns({SHARD_LABEL: "c"}, holder="a"), True, Step.IGNORE),
    ],
)
def test_the_hand_over_steps(namespace: dict[str, Any], alive: bool, expected: Step) -> None:
    assert step(B, namespace, holder_alive=alive) is expected


def test_unsharded_never_hands_over() -> None:
    assert step(Shard(), ns(holder="b")) is Step.OWN
    assert step(Shard.parse(None, [], ["other"]), ns()) is Step.IGNORE


def test_the_holder_write_is_conditional_on_the_version_it_was_decided_on() -> None:
    assert holder_patch(ns(rv="42"), "b") == {
        "metadata": {"resourceVersion": "42", "annotations": {HOLDER_ANNOTATION: "b"}}
    }
    assert holder_patch(ns(rv="43"), None)["metadata"]["annotations"] == {HOLDER_ANNOTATION: None}


def test_a_team_split_across_shards_is_found_and_explained() -> None:
    labels = {"team-x": {SHARD_LABEL: "b"}, "team-y": {}, "other": {SHARD_LABEL: "b"}}
    found = split(A, ["team-*"], labels)
    assert found == {"a": ["team-y"], "b": ["team-x"]}
    message = split_message("finance", found)
    assert "shard a: team-y; shard b: team-x" in message and f"{SHARD_LABEL}=<one shard>" in message
    assert split(A, ["other"], labels) == {"b": ["other"]}
    assert split(Shard(), ["team-*"], labels) == {}
