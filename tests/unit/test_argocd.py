"""The MicroApp health check and actions, run by Argo CD's own code (the argocd CLI built from
the Go module proxy) over the fixtures captured from the live operator: every case of
health_test.yaml and actions/action_test.yaml, laid out as Argo CD's resource_customizations."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argocd import CUSTOMIZATION, ROOT, TESTDATA, argocd_binary, health, list_actions, run_action, stamp

HEALTH_CASES = yaml.safe_load((CUSTOMIZATION / "health_test.yaml").read_text())["tests"]
ACTION_TESTS = yaml.safe_load((CUSTOMIZATION / "actions" / "action_test.yaml").read_text())
TIMES = {
    "microapp.dev/wake": timedelta(0),
    "microapp.dev/restore": timedelta(0),
    "microapp.dev/last-activity": timedelta(0),
    "microapp.dev/snooze-until": timedelta(days=7),
}


@pytest.fixture(scope="module")
def argocd() -> str:
    return argocd_binary()


def test_argocd_cm_and_chart_copies_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "hack" / "argocd_cm.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_every_fixture_has_a_health_case_and_the_required_states_are_there() -> None:
    inputs = {Path(c["inputPath"]).stem for c in HEALTH_CASES}
    assert inputs == {p.stem for p in TESTDATA.glob("*.yaml")}
    assert {"progressing-generation", "stalled", "idle", "retired"} <= inputs


@pytest.mark.parametrize("case", HEALTH_CASES, ids=[Path(c["inputPath"]).stem for c in HEALTH_CASES])
def test_health(argocd: str, case: dict[str, Any]) -> None:
    status, message = health(argocd, CUSTOMIZATION / case["inputPath"])
    assert {"status": status, "message": message} == case["healthStatus"]


@pytest.mark.parametrize(
    "case", ACTION_TESTS["discoveryTests"], ids=[Path(c["inputPath"]).stem for c in ACTION_TESTS["discoveryTests"]]
)
def test_discovery(argocd: str, case: dict[str, Any]) -> None:
    found = list_actions(argocd, CUSTOMIZATION / "actions" / case["inputPath"])
    assert sorted(found, key=lambda a: a["name"]) == sorted(case["result"], key=lambda a: a["name"])


@pytest.mark.parametrize(
    "case",
    ACTION_TESTS["actionTests"],
    ids=[f"{c['action']}-{Path(c['inputPath']).stem}" for c in ACTION_TESTS["actionTests"]],
)
def test_action(argocd: str, case: dict[str, Any]) -> None:
    before = yaml.safe_load((CUSTOMIZATION / "actions" / case["inputPath"]).read_text())
    result = run_action(argocd, CUSTOMIZATION / "actions" / case["inputPath"], case["action"])
    expected = yaml.safe_load((CUSTOMIZATION / "actions" / case["expectedOutputPath"]).read_text())
    assert stamp(result) == stamp(expected)
    # Only annotations change (never spec or labels Git holds), and the times written are now's.
    assert {k: v for k, v in result.items() if k != "metadata"} == {k: v for k, v in before.items() if k != "metadata"}
    assert {k: v for k, v in result["metadata"].items() if k != "annotations"} == {
        k: v for k, v in before["metadata"].items() if k != "annotations"
    }
    written = {
        k: v
        for k, v in result["metadata"]["annotations"].items()
        if (before["metadata"].get("annotations") or {}).get(k) != v
    }
    assert len(written) == 1, written
    ((key, value),) = written.items()
    at = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(at - datetime.now(UTC) - TIMES[key]) < timedelta(minutes=5), (key, value)
