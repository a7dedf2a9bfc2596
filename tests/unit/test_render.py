"""Rendering treats user values as data; templates run sandboxed; parameters are checked."""

from __future__ import annotations

import pytest

from microapp_operator import api, render


def template(manifests: str, parameters: dict | None = None) -> api.AppTemplateSpec:
    return api.AppTemplateSpec(template_name="probe", version="1.0.0", runtime="container",
                               parameters=parameters, manifests=manifests)


CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ app.name }}
data:
  value: {{ params.value }}
"""


def ctx(value: object) -> dict:
    return {"app": {"name": "app"}, "params": {"value": value}}


HOSTILE = {
    "yaml-injection": "x\nkind: ClusterRole",
    "document-injection": "x\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole",
    "jinja-expression": "{{ 7*7 }}",
    "jinja-statement": "{% for i in range(3) %}x{% endfor %}",
    "flow-mapping": "{kind: ClusterRole}",
    "quote-breakout": "\"}\nkind: ClusterRole",
    "anchor": "&a [*a]",
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_user_values_stay_literal_strings(value: str) -> None:
    [obj] = render.render(template(CONFIGMAP), ctx(value))
    assert obj["kind"] == "ConfigMap"
    assert obj["data"]["value"] == value


def test_sandbox_blocks_python_internals() -> None:
    evil = template("kind: ConfigMap\nx: {{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(render.RenderError, match="sandbox forbids|failed to render"):
        render.render(evil, ctx(""))


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(render.RenderError, match="syntax error on line 2"):
        render.render(template("kind: ConfigMap\nx: {{ app.name \n"), ctx(""))


def test_undefined_value_is_an_error_not_empty() -> None:
    with pytest.raises(render.RenderError, match="has no attribute 'nope'"):
        render.render(template("kind: ConfigMap\nx: {{ app.nope }}\n"), ctx(""))


def test_invalid_yaml_output_is_reported() -> None:
    bad = template("kind: ConfigMap\nname: {{ app.name }}-suffix\n")
    with pytest.raises(render.RenderError, match="rendered invalid YAML"):
        render.render(bad, ctx(""))


def test_huge_output_is_refused() -> None:
    big = template("kind: ConfigMap\ndata: {{ 'x' * 600000 }}\n")
    with pytest.raises(render.RenderError, match="the limit is"):
        render.render(big, ctx(""))


def test_templates_are_compiled_once() -> None:
    t = template(CONFIGMAP)
    assert render.compiled(t) is render.compiled(t)


SCHEMA = {"type": "object", "additionalProperties": False, "required": ["schedule"],
          "properties": {"schedule": {"type": "string", "format": "cron"},
                         "autoscale": {"type": "object", "properties": {
                             "max": {"type": "integer", "maximum": 20},
                             "min": {"type": "integer", "default": 1}}}}}

PARAMS = {
    "missing-required": ({}, ["spec.parameters: 'schedule' is a required property"]),
    "unknown-key": ({"schedule": "@daily", "extra": 1},
                    ["spec.parameters: Additional properties are not allowed ('extra' was unexpected); "
                     "remove it or check the template's parameters (kubectl get apptemplate -o yaml)"]),
    "nested-path": ({"schedule": "@daily", "autoscale": {"max": 50}},
                    ["spec.parameters.autoscale.max: 50 is greater than the maximum of 20"]),
    "bad-cron": ({"schedule": "61 * * * *"},
                 ["spec.parameters.schedule: '61 * * * *' is not a cron schedule (five fields, e.g. '0 6 * * 1-5', or @daily)"]),
    "six-field-cron": ({"schedule": "0 0 * * * *"},
                       ["spec.parameters.schedule: '0 0 * * * *' is not a cron schedule (five fields, e.g. '0 6 * * 1-5', or @daily)"]),
    "valid": ({"schedule": "0 6 * * 1-5", "autoscale": {"max": 3}}, []),
}


@pytest.mark.parametrize("params,expected", PARAMS.values(), ids=PARAMS.keys())
def test_parameter_errors_name_the_path(params: dict, expected: list[str]) -> None:
    assert render.validate_parameters(SCHEMA, params) == expected


def test_no_schema_means_no_parameters() -> None:
    assert render.validate_parameters(None, {"a": 1}) == ["spec.parameters: this template takes no parameters; remove them"]
    assert render.validate_parameters(None, None) == []


def test_broken_or_remote_schema_does_not_crash() -> None:
    assert "schema is invalid" in render.validate_parameters({"type": 12}, {})[0]
    remote = {"$ref": "https://example.com/schema.json"}
    assert "cannot be evaluated" in render.validate_parameters(remote, {"a": 1})[0]


def test_template_parameters_fill_defaults_and_declare_unset() -> None:
    params = render.template_parameters(SCHEMA, {"autoscale": {"max": 3}})
    assert params == {"schedule": None, "autoscale": {"max": 3, "min": 1}}
