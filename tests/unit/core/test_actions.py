"""Actions' patches (pure): the same result as the Argo CD actions on their own test data, and
which actions each state allows (as discovery.lua and explain's lifecycle actions say)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from microapp_operator.core import actions
from microapp_operator.presentation import explain

ACTIONS_DIR = (
    Path(__file__).resolve().parents[3] / "manifests/argocd/resource_customizations/microapp.dev/MicroApp/actions"
)
TESTS = yaml.safe_load((ACTIONS_DIR / "action_test.yaml").read_text())
STAMP = datetime(2026, 1, 1, tzinfo=UTC)  # the time the expected outputs hold (tests/unit/test_argocd.py stamps them)
BY_ARGO = {v: k for k, v in actions.ARGOCD_NAMES.items()}


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(out.get(k), v)
    return out


def patch_for(name: str) -> dict:
    if name == "snooze":  # Argo CD's snooze is a week from now
        return actions.snooze(now=STAMP - timedelta(days=7), period=timedelta(days=7))
    return {"keep-alive": actions.keep_alive, "wake": actions.wake, "restore": actions.restore}[name](now=STAMP)


@pytest.mark.parametrize("case", TESTS["actionTests"], ids=lambda c: c["action"])
def test_patch_gives_the_argocd_actions_output(case: dict) -> None:
    before = yaml.safe_load((ACTIONS_DIR / case["inputPath"]).read_text())
    expected = yaml.safe_load((ACTIONS_DIR / case["expectedOutputPath"]).read_text())
    assert merge(before, patch_for(BY_ARGO[case["action"]])) == expected


@pytest.mark.parametrize("case", TESTS["discoveryTests"], ids=lambda c: Path(c["inputPath"]).stem)
def test_allowed_matches_argocd_discovery(case: dict) -> None:
    app = yaml.safe_load((ACTIONS_DIR / case["inputPath"]).read_text())
    enabled = {BY_ARGO[a["name"]] for a in case["result"] if not a["disabled"]}
    assert {a for a in actions.allowed(app) if a in actions.ARGOCD_NAMES} == enabled


@pytest.mark.parametrize("case", TESTS["discoveryTests"], ids=lambda c: Path(c["inputPath"]).stem)
def test_explains_lifecycle_actions_are_allowed(case: dict) -> None:
    app = yaml.safe_load((ACTIONS_DIR / case["inputPath"]).read_text())
    expl = explain.build(app, children={}, pods=[], events=[], budgets=[], policy={}, now=STAMP)
    assert {a.name for a in expl.lifecycle.actions} <= set(actions.allowed(app))


def test_scale_snooze_and_delete() -> None:
    assert actions.scale(3) == {"spec": {"replicas": 3}}
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(actions.ActionError, match="spec.replicas"):
            actions.scale(bad)
    with pytest.raises(actions.ActionError, match="maxReplicas 10"):
        actions.scale(11, max_replicas=10)
    until = STAMP + timedelta(days=2)
    assert actions.snooze(now=STAMP, until=until) == {
        "metadata": {"annotations": {"microapp.dev/snooze-until": "2026-01-03T00:00:00Z"}}
    }
    with pytest.raises(actions.ActionError, match="not in the future"):
        actions.snooze(now=STAMP, until=STAMP)
    with pytest.raises(actions.ActionError, match="at most 366 days"):
        actions.snooze(now=STAMP, period=timedelta(days=400))
    app = {"metadata": {"name": "shop", "namespace": "ns", "uid": "u1", "resourceVersion": "42"}}
    with pytest.raises(actions.ActionError, match=r"type the app's name \(shop\)"):
        actions.delete(app, confirmation="sho")
    gone = actions.delete(app, confirmation=" shop ")
    assert (gone.namespace, gone.name, gone.body["preconditions"]) == (
        "ns",
        "shop",
        {"uid": "u1", "resourceVersion": "42"},
    )
    assert actions.allowed({**app, "metadata": {**app["metadata"], "deletionTimestamp": "x"}}) == ()
