"""PolicyReports (wgpolicyk8s.io/v1alpha2) for existing policy dashboards (pure).

One report per namespace, named ``microapp-operator``: a ``pass`` result for each compliant
MicroApp and a ``fail`` result for each violation, so Kyverno/Gatekeeper dashboards (Policy
Reporter and friends) show MicroApp findings next to their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..api import types as api
from ..api.kinds import MANAGED_BY, POLICYREPORT

API_VERSION = POLICYREPORT.api_version
NAME = "microapp-operator"


def report(namespace: str, apps: Mapping[str, tuple[str, list[str]]], now: datetime) -> dict[str, Any]:
    """``apps``: name -> (uid, violations)."""
    stamp = {"seconds": int(now.timestamp()), "nanos": 0}
    results = []
    for name, (uid, violations) in sorted(apps.items()):
        ref = [{"apiVersion": api.API_VERSION, "kind": "MicroApp", "name": name, "namespace": namespace, "uid": uid}]
        base = {
            "policy": "microapp-platform-policy",
            "source": NAME,
            "category": "MicroApp guardrails",
            "resources": ref,
            "timestamp": stamp,
        }
        if not violations:
            results.append(
                {
                    **base,
                    "rule": "guardrails",
                    "result": "pass",
                    "severity": "info",
                    "message": "complies with PlatformPolicy default",
                }
            )
        for v in violations:
            results.append({**base, "rule": "guardrails", "result": "fail", "severity": "medium", "message": v})
    summary = {
        "pass": sum(r["result"] == "pass" for r in results),
        "fail": sum(r["result"] == "fail" for r in results),
        "warn": 0,
        "error": 0,
        "skip": 0,
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "PolicyReport",
        "metadata": {"name": NAME, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY}},
        "summary": summary,
        "results": results,
    }


def same(live: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    """Equal apart from timestamps (a report is rewritten only when findings change)."""

    def strip(obj: Mapping[str, Any] | None) -> Any:
        if obj is None:
            return None
        return (
            obj.get("summary"),
            [{k: v for k, v in r.items() if k != "timestamp"} for r in obj.get("results") or []],
        )

    return strip(live) == strip(desired)
