"""PolicyReports: pass per compliant app, fail per violation, rewritten only on change."""

from __future__ import annotations

from datetime import UTC, datetime

from microapp_operator.core import policyreport

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def test_report_results_and_summary() -> None:
    rep = policyreport.report("ns", {"good": ("u1", []), "bad": ("u2", ["image 'x' is not allowed", "too big"])}, T0)
    assert rep["apiVersion"] == "wgpolicyk8s.io/v1alpha2" and rep["metadata"]["name"] == "microapp-operator"
    assert rep["summary"] == {"pass": 1, "fail": 2, "warn": 0, "error": 0, "skip": 0}
    assert [(r["resources"][0]["name"], r["result"], r["message"]) for r in rep["results"]] == [
        ("bad", "fail", "image 'x' is not allowed"),
        ("bad", "fail", "too big"),
        ("good", "pass", "complies with PlatformPolicy default"),
    ]
    assert rep["results"][0]["timestamp"] == {"seconds": int(T0.timestamp()), "nanos": 0}


def test_same_ignores_timestamps() -> None:
    a = policyreport.report("ns", {"x": ("u", [])}, T0)
    b = policyreport.report("ns", {"x": ("u", [])}, T0.replace(year=2027))
    assert policyreport.same(a, b)
    assert not policyreport.same(a, policyreport.report("ns", {"x": ("u", ["v"])}, T0))
    assert not policyreport.same(None, a)
