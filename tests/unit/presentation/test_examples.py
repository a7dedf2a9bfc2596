"""A template's examples become complete MicroApps; its schema becomes parameter rows."""

from __future__ import annotations

from microapp_operator.api import types as api
from microapp_operator.core import catalog, plan
from microapp_operator.presentation import examples

WEB = next(t for t in catalog.builtin() if t.template_name == "web-service")


def test_an_example_is_a_microapp_with_placeholders_and_its_spec() -> None:
    ex = api.TemplateExample(name="autoscaled", spec={"parameters": {"autoscale": {"max": 4}}, "template": "other"})
    app = examples.app(WEB, ex)
    assert app["kind"] == "MicroApp" and app["metadata"]["name"] == "autoscaled"
    assert app["metadata"]["annotations"] == {"microapp.dev/owner": "you@example.com", "microapp.dev/team": "TEAM"}
    assert app["spec"] == {
        "template": "web-service@^1",
        "image": "registry.internal/TEAM/APP:1.0.0",
        "parameters": {"autoscale": {"max": 4}},
    }  # the example cannot switch templates
    assert examples.app(WEB, ex, exact=True)["spec"]["template"] == "web-service@1.0.0"


def test_an_example_may_set_its_own_image() -> None:
    ex = api.TemplateExample(name="own", spec={"image": "registry.internal/shop/web:2.0.0"})
    assert examples.app(WEB, ex)["spec"]["image"] == "registry.internal/shop/web:2.0.0"


def test_every_builtin_example_parses_as_a_microapp() -> None:
    for template in catalog.builtin():
        assert template.examples, template.template_name
        for ex in template.examples:
            assert plan.parse(examples.app(template, ex)).spec.template.startswith(template.template_name)


def test_parameters_are_flattened_with_types_defaults_and_required() -> None:
    rows = {p.name: p for p in examples.parameters(WEB.parameters)}
    assert list(rows) == ["autoscale", "autoscale.min", "autoscale.max", "autoscale.cpuPercent", "healthPath"]
    assert (rows["autoscale"].type, rows["autoscale"].required) == ("object", False)
    assert (rows["autoscale.max"].required, rows["autoscale.min"].default) == (True, 1)  # required inside autoscale
    assert rows["healthPath"].as_dict() == {
        "name": "healthPath",
        "type": "string",
        "default": "/",
        "required": False,
        "description": "HTTP path of the readiness probe.",
    }


def test_types_read_like_documentation() -> None:
    assert examples.type_of({"type": "string", "format": "cron"}) == "string (cron)"
    assert examples.type_of({"type": "array", "items": {"type": "string"}}) == "array of string"
    assert examples.type_of({"type": "string", "enum": ["Allow", "Forbid"]}) == "Allow|Forbid"
    assert examples.type_of({"type": ["integer", "string"]}) == "integer|string"
    assert examples.type_of({}) == "any"


def test_no_or_odd_schema_has_no_parameters() -> None:
    assert examples.parameters(None) == []
    assert examples.parameters({"type": "object", "properties": "not a mapping"}) == []
