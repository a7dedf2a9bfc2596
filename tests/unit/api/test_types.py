"""The pydantic API types accept the documented examples and refuse bad values by field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from microapp_operator.api import crdgen
from microapp_operator.api import types as api

ROOT = Path(__file__).resolve().parents[3]


def test_sample_microapp_parses() -> None:
    doc = yaml.safe_load((ROOT / "samples" / "expense-approvals.yaml").read_text())
    spec = api.MicroAppSpec.model_validate(doc["spec"])
    assert spec.template == "web-service@^1"
    assert spec.resources is not None and spec.resources.cpu == "250m"
    assert spec.budget is not None and spec.budget.monthly_limit == "40"
    assert spec.lifecycle is not None and spec.lifecycle.on_retire == "Archive"


def test_default_policy_parses() -> None:
    doc = yaml.safe_load((ROOT / "manifests" / "policy" / "platformpolicy-default.yaml").read_text())
    spec = api.PlatformPolicySpec.model_validate(doc["spec"])
    assert spec.pricing is not None and spec.pricing.memory_gi_b_hour == "0.004237"
    assert spec.teams is not None and spec.teams[0].namespaces == ["team-finance"]


@pytest.mark.parametrize("value", ["250m", "1", 2, "512Mi", "1.5", "2Gi"], ids=str)
def test_quantities_accepted(value: object) -> None:
    assert api.Resources.model_validate({"cpu": value}).cpu == value


@pytest.mark.parametrize("value", ["lots", "1 GB", "-", "2gi"])
def test_bad_quantity_names_the_field(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        api.Resources.model_validate({"memory": value})
    assert "memory" in str(err.value) and "not a Kubernetes quantity" in str(err.value)


def test_spec_is_immutable_in_memory() -> None:
    spec = api.MicroAppSpec.model_validate({"template": "worker", "image": "r/x:1"})
    with pytest.raises(ValidationError):
        spec.replicas = 3  # type: ignore[misc]
    assert spec.model_copy(update={"replicas": 3}).replicas == 3


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        api.MicroAppSpec.model_validate({"template": "worker", "image": "r/x:1", "replica": 2})
    assert "replica" in str(err.value)


def test_apptemplate_catalog_fields_parse_and_stay_immutable() -> None:
    spec = api.AppTemplateSpec.model_validate(
        {
            "templateName": "web",
            "version": "1.1.0",
            "runtime": "container",
            "manifests": "",
            "tags": ["http", "api"],
            "examples": [{"name": "basic", "spec": {"parameters": {"a": 1}}}],
            "changelog": [{"version": "1.1.0", "note": "Faster."}],
        }
    )
    assert spec.tags == ["http", "api"] and spec.examples[0].spec == {"parameters": {"a": 1}}
    assert spec.changelog[0].version == "1.1.0"
    for bad in (
        {"tags": ["Not A Tag"]},
        {"examples": [{"name": "Bad_Name"}]},
        {"changelog": [{"version": "v1", "note": "x"}]},
    ):
        with pytest.raises(ValidationError):
            api.AppTemplateSpec.model_validate(
                {"templateName": "web", "version": "1.1.0", "runtime": "container", "manifests": "", **bad}
            )
    kind = next(k for k in crdgen.KINDS if k.kind == "AppTemplate")
    schema = crdgen.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    rules = [r["rule"] for r in schema["x-kubernetes-validations"]]
    assert any(
        "self.tags == oldSelf.tags" in r
        and "self.examples == oldSelf.examples" in r
        and "self.changelog == oldSelf.changelog" in r
        for r in rules
    )
    assert (schema["properties"]["tags"]["maxItems"], schema["properties"]["examples"]["maxItems"]) == (20, 10)
