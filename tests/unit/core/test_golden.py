"""Rendered objects stay byte-identical across refactors: the full pipeline (template,
parameters, telemetry, access objects, suspend) over the built-in templates and option
combinations, compared by digest with ``tests/fixtures/golden/desired.json``.

A deliberate change of rendered output regenerates the file:
``python -m tests.unit.core.test_golden --update`` (review the diff of the cases it names).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import catalog, plan
from tests.factories import microapp

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden" / "desired.json"
CATALOG = catalog.builtin()
TEMPLATES = {
    "web": ("web-service@1.0.0", [None, {"autoscale": {"max": 4}}, {"healthPath": "/ready"}]),
    "web11": ("web-service@^1", [None, {"probe": "http", "healthPath": "/ready"}]),
    "worker": ("worker", [None, {"args": ["--queue", "x\nkind: ClusterRole", "{{ 7*7 }}"]}]),
    "job": ("scheduled-job", [{"schedule": "0 6 * * 1-5"}, {"schedule": "@daily", "timeZone": "Europe/Berlin"}]),
    "fn": ("serverless-function", [None, {"minScale": 1, "maxScale": 3}]),
    "hook": ("webhook-handler", [{"concurrencyTarget": 5}]),
}
POLICIES = {
    "plain": {},
    "sandbox": {
        "teams": [{"name": "finance", "groups": ["finance-devs"], "namespaces": ["team-*"], "sandbox": True}],
        "telemetry": {
            "sidecarImage": "otel/c:1",
            "endpoint": "http://gw.obs:4317",
            "resources": {"cpu": "20m", "memory": "32Mi"},
        },
        "guardrails": {"ingressNamespace": "edge"},
    },
}


def cases() -> Iterator[tuple[str, dict[str, Any], dict[str, Any], bool, str | None]]:
    """(id, app, policy, podmonitor, pinned) over templates x parameters x options."""
    for (short, (ref, params_list)), (pname, pol) in itertools.product(TEMPLATES.items(), POLICIES.items()):
        for i, params in enumerate(params_list):
            for expose, telemetry, suspend, access, podmonitor in itertools.product(
                ("none", "internal", "public"), (True, False), (False, True), (False, True), (False, True)
            ):
                ann = {}
                if access:
                    ann["microapp.dev/editors"] = "user:bob@example.com, group:finance-devs"
                    ann["microapp.dev/viewers"] = "group:finance-devs, serviceaccount:team-a:ci"
                spec: dict[str, Any] = {
                    "template": ref,
                    "image": "registry.internal/shop:1.0",
                    "telemetry": {"enabled": telemetry},
                    "suspend": suspend,
                    "expose": expose,
                    "env": [{"name": "MODE", "value": 'prod: "x"'}],
                    "resources": {"cpu": "250m", "memory": "256Mi"},
                    "replicas": 2,
                }
                if expose == "public":
                    spec["host"] = "shop.example.com"
                if params is not None:
                    spec["parameters"] = params
                body = microapp(
                    "shop", "team-a", owner="alice@example.com", annotations=ann, uid="u-1", generation=3, spec=spec
                )
                ident = (
                    f"{short}{i}-{pname}-{expose}-tel{int(telemetry)}-sus{int(suspend)}"
                    f"-acc{int(access)}-pm{int(podmonitor)}"
                )
                yield ident, body, pol, podmonitor, None


def digest(body: dict[str, Any], pol: dict[str, Any], podmonitor: bool, pinned: str | None) -> str:
    try:
        p = plan.desired(
            plan.parse(body),
            CATALOG,
            pinned=pinned,
            policy=api.PlatformPolicySpec.model_validate(pol),
            podmonitor=podmonitor,
        )
        out: Any = {"objects": list(p.objects), "url": p.url, "inventory": p.inventory()}
    except plan.PlanError as exc:
        out = {"error": exc.reason.value, "problems": exc.problems}
    text = json.dumps(out, sort_keys=False, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def current() -> dict[str, str]:
    return {ident: digest(body, pol, pm, pinned) for ident, body, pol, pm, pinned in cases()}


def test_rendered_objects_are_byte_identical_to_the_golden_digests() -> None:
    golden = json.loads(GOLDEN.read_text())
    now = current()
    assert len(now) == len(golden) > 500
    changed = sorted(k for k in golden if now.get(k) != golden[k])
    assert not changed, f"{len(changed)} cases render differently, e.g. {changed[:5]}"


if __name__ == "__main__":
    if "--update" not in sys.argv:
        pytest.exit("usage: python -m tests.unit.core.test_golden --update")
    GOLDEN.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
