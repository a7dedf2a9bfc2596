"""The rendered telemetry sidecar configurations, loaded by a real collector: the core
distribution (the default sidecarImage's) at the version hack/versions.env pins, built from the
Go module proxy by hack/build-otelcol.sh with the release's own component list. Every collector
configuration the golden set renders passes `otelcol validate`; a component outside that
distribution is refused with the collector's own message. `make test` and `make unit` build the
collector first (`make tools`); without it these tests fail, they never skip."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from microapp_operator.api import types as api
from microapp_operator.core import catalog, plan, telemetry
from tests.helpers import ROOT, VERSIONS
from tests.unit.core import test_golden

GATEWAY = ROOT / "manifests" / "telemetry" / "gateway.yaml"


@pytest.fixture(scope="module")
def otelcol() -> str:
    proc = subprocess.run([str(ROOT / "hack" / "build-otelcol.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, f"the collector did not build (hack/build-otelcol.sh):\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().splitlines()[-1]


def validate(otelcol: str, config: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.yaml"
    path.write_text(config)
    return subprocess.run([otelcol, "validate", f"--config={path}"], capture_output=True, text=True, timeout=60)


def golden_configs() -> dict[str, str]:
    """Each distinct rendered collector configuration of the golden set, by the first case that renders it."""
    found: dict[str, str] = {}
    for ident, body, pol, podmonitor, pinned in test_golden.cases():
        try:
            desired = plan.desired(
                plan.parse(body),
                test_golden.CATALOG,
                pinned=pinned,
                policy=api.PlatformPolicySpec.model_validate(pol),
                podmonitor=podmonitor,
            )
        except plan.PlanError:
            continue
        for obj in desired.objects:
            if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-otel"):
                found.setdefault(obj["data"]["config.yaml"], ident)
    return {ident: config for config, ident in found.items()}


CONFIGS = golden_configs()


def test_the_golden_set_renders_collector_configurations() -> None:
    assert len(CONFIGS) >= 2  # one per policy endpoint at least


@pytest.mark.parametrize("ident", sorted(CONFIGS))
def test_every_rendered_collector_configuration_loads(otelcol: str, ident: str, tmp_path: Path) -> None:
    proc = validate(otelcol, CONFIGS[ident], tmp_path)
    assert proc.returncode == 0, f"{ident}: the collector refused the rendered configuration:\n{proc.stderr}"
    # (validate accepts deprecated aliases silently: the loop test checks the running sidecar's log for them)


def test_a_component_outside_the_distribution_is_refused(otelcol: str, tmp_path: Path) -> None:
    """The transform processor is in the contrib distribution only: a sidecar rendered with it would crash-loop."""
    config = json.loads(next(iter(CONFIGS.values())))
    config["processors"]["transform"] = {"metric_statements": []}
    config["service"]["pipelines"]["metrics"]["processors"].append("transform")
    proc = validate(otelcol, json.dumps(config), tmp_path)
    assert proc.returncode != 0
    assert "'processors' unknown type: \"transform\"" in proc.stderr, proc.stderr


def test_the_shipped_gateway_configuration_loads(otelcol: str, tmp_path: Path) -> None:
    proc = validate(otelcol, GATEWAY.read_text(), tmp_path)
    assert proc.returncode == 0, f"manifests/telemetry/gateway.yaml:\n{proc.stderr}"


def test_default_sidecar_image_is_the_version_the_tests_build() -> None:
    version = VERSIONS["OTELCOL_VERSION"]
    assert telemetry.DEFAULT_IMAGE == f"otel/opentelemetry-collector:{version}"
    policy = yaml.safe_load((ROOT / "manifests" / "policy" / "platformpolicy-default.yaml").read_text())
    assert policy["spec"]["telemetry"]["sidecarImage"] == telemetry.DEFAULT_IMAGE


def test_the_sidecar_of_the_default_policy_is_the_built_distribution() -> None:
    """A web service under the default policy: its sidecar runs DEFAULT_IMAGE with the rendered configuration."""
    app = {
        "metadata": {"name": "shop", "namespace": "team-a", "uid": "u", "annotations": {"microapp.dev/team": "a"}},
        "spec": {"template": "web-service", "image": "registry.internal/shop:1"},
    }
    objs = plan.desired(plan.parse(app), catalog.builtin(), policy=api.PlatformPolicySpec()).objects
    deploy = next(o for o in objs if o["kind"] == "Deployment")
    sidecar = deploy["spec"]["template"]["spec"]["containers"][-1]
    assert sidecar["image"] == telemetry.DEFAULT_IMAGE
    assert sidecar["args"] == ["--config=/etc/otel/config.yaml"]
