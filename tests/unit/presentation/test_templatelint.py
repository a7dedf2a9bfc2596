"""Template lint: schema, examples rendered by the operator's pipeline, rendered-object rules,
guardrails, versions and changelog; each finding names file, template, example and fix."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import catalog
from microapp_operator.presentation import templatelint

BUILTIN_OBJECTS = catalog.builtin_objects()
WEB = next(o for o in BUILTIN_OBJECTS if o["spec"]["templateName"] == "web-service")


def web(version: str = "1.2.0", **spec: Any) -> dict[str, Any]:
    """The built-in web-service as a new version, with ``spec`` changes."""
    obj = copy.deepcopy(WEB)
    obj["metadata"]["name"] = f"web-service-{version}"
    obj["spec"].update({"version": version, "changelog": [{"version": version, "note": "Faster."}], **spec})
    return obj


def lint(
    *objs: dict[str, Any], policy: dict[str, Any] | None = None, published: list[api.AppTemplateSpec] | None = None
) -> list[str]:
    sources = [templatelint.Source(f"t{i}.yaml", o) for i, o in enumerate(objs)]
    return templatelint.lint(
        sources,
        catalog.builtin() if published is None else published,
        api.PlatformPolicySpec.model_validate(policy or {}),
    )


def test_the_builtin_templates_lint_clean() -> None:
    assert lint(*BUILTIN_OBJECTS) == []


def test_a_new_version_with_a_changelog_lints_clean() -> None:
    assert lint(web("1.2.0")) == []


def test_a_new_version_must_be_greater_and_in_the_changelog() -> None:
    assert lint(web("0.9.0", changelog=[])) == [
        "t0.yaml: AppTemplate web-service@0.9.0: spec.version 0.9.0 is not greater than 1.1.0, the newest "
        "published version of web-service; use e.g. 1.1.1 or 1.2.0",
        "t0.yaml: AppTemplate web-service@0.9.0: spec.changelog has no entry for 0.9.0; add "
        "- {version: 0.9.0, note: what changed and what apps must do}",
    ]


def test_a_prerelease_is_older_than_its_release() -> None:
    assert "is not greater than 1.1.0" in lint(web("1.1.0-rc.1"))[0]
    assert lint(web("1.1.1-rc.1")) == []


def test_a_published_version_must_not_change() -> None:
    changed = web("1.0.0", changelog=WEB["spec"]["changelog"], description="Edited after publishing.")
    changed["metadata"]["name"] = "web-service-1.0.0"
    assert lint(changed) == [
        "t0.yaml: AppTemplate web-service@1.0.0: differs from the published version; a published AppTemplate is "
        "immutable: publish it as a new version (e.g. 1.1.1 or 1.2.0) with a changelog entry"
    ]
    deprecated = copy.deepcopy(WEB)
    deprecated["spec"]["deprecated"] = True  # the one field that may change
    assert lint(deprecated) == []


def test_a_template_nobody_published_needs_only_a_changelog_entry() -> None:
    assert lint(web("0.1.0"), published=[]) == []


def test_the_same_version_twice_is_refused() -> None:
    assert lint(web("1.2.0"), web("1.2.0")) == [
        "t1.yaml: AppTemplate web-service@1.2.0: also defined in t0.yaml; keep one file per version"
    ]


def test_the_object_name_carries_the_version() -> None:
    obj = web("1.2.0")
    obj["metadata"]["name"] = "web-service"
    assert lint(obj) == [
        "t0.yaml: AppTemplate web-service@1.2.0: metadata.name is web-service; name it "
        "web-service-1.2.0 (NAME-VERSION), so publishing a version never replaces another"
    ]


def test_an_invalid_json_schema_is_named_with_its_place() -> None:
    obj = web("1.2.0")
    obj["spec"]["parameters"] = {"type": "object", "properties": {"replicas": {"type": "integr"}}}
    found = lint(obj)
    assert found == [
        "t0.yaml: AppTemplate web-service@1.2.0: spec.parameters: not a valid JSON Schema "
        "(Draft 2020-12): 'integr' is not valid under any of the given schemas "
        "(at properties/replicas/type)"
    ]
    obj["spec"]["parameters"] = {"type": "array"}
    assert "the schema must have type: object" in lint(obj)[0]


def test_examples_are_required_and_unique() -> None:
    assert lint(web("1.2.0", examples=[])) == [
        "t0.yaml: AppTemplate web-service@1.2.0: spec.examples: none; add at least one (e.g. - {name: basic}): "
        "the catalog shows it and lint renders it"
    ]
    assert lint(web("1.2.0", examples=[{"name": "a"}, {"name": "a"}])) == [
        "t0.yaml: AppTemplate web-service@1.2.0: spec.examples: a appears more than once; give each example "
        "its own name"
    ]


def test_example_parameters_are_validated_against_the_schema() -> None:
    found = lint(web("1.2.0", examples=[{"name": "ok"}, {"name": "bad", "spec": {"parameters": {"autoscale": {}}}}]))
    assert found == [
        "t0.yaml: AppTemplate web-service@1.2.0, example bad (spec.examples[1]): "
        "spec.parameters.autoscale: 'max' is a required property"
    ]


def test_an_example_with_an_invalid_spec_names_the_field() -> None:
    found = lint(web("1.2.0", examples=[{"name": "big", "spec": {"replicas": 5000}}]))
    assert found == [
        "t0.yaml: AppTemplate web-service@1.2.0, example big (spec.examples[0]): "
        "spec.replicas: Input should be less than or equal to 1000"
    ]


def test_rendered_objects_must_pass_the_operators_rules() -> None:
    manifests = WEB["spec"]["manifests"].replace(
        "      containers:\n", "      hostNetwork: true\n      containers:\n", 1
    )
    found = lint(web("1.2.0", manifests=manifests))
    assert len(found) == 3 and all(", example " in f for f in found)
    assert found[0].startswith("t0.yaml: AppTemplate web-service@1.2.0, example internal-api (spec.examples[0]): ")
    assert found[0].endswith("hostNetwork is not allowed")


def test_a_template_that_does_not_render_says_why() -> None:
    found = lint(web("1.2.0", manifests="kind: [unclosed", examples=[{"name": "basic"}]))
    assert len(found) == 1 and found[0].startswith("t0.yaml: AppTemplate web-service@1.2.0, example basic")


def test_examples_must_pass_the_guardrails_of_the_policy() -> None:
    policy = {"guardrails": {"allowedRegistries": ["registry.internal/"], "maxReplicas": 4}}
    assert lint(
        web(
            "1.2.0",
            examples=[
                {"name": "wide", "spec": {"parameters": {"autoscale": {"max": 6}}}},
                {"name": "foreign", "spec": {"image": "docker.io/nginx:1.27"}},
            ],
        ),
        policy=policy,
    ) == [
        "t0.yaml: AppTemplate web-service@1.2.0, example wide (spec.examples[0]): the autoscaler's maximum "
        "(spec.parameters) is 6; the platform allows at most 4 replicas",
        "t0.yaml: AppTemplate web-service@1.2.0, example foreign (spec.examples[1]): spec.image 'docker.io/nginx:1.27' "
        "is not from an allowed registry (registry.internal/)",
    ]


def test_documents_that_are_not_apptemplates_or_do_not_parse_are_named() -> None:
    bad = web("1.2.0", tags=["Not A Tag"], unknown=1)
    assert lint(bad, {"kind": "ConfigMap"}) == [
        "t0.yaml: AppTemplate web-service-1.2.0: spec.tags[0]: String should match pattern "
        "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' (kubectl explain apptemplate.spec.tags describes the field)",
        "t0.yaml: AppTemplate web-service-1.2.0: spec.unknown: unknown field; check the spelling "
        "(kubectl explain apptemplate.spec.unknown describes the field)",
        "t1.yaml: a ConfigMap is not an AppTemplate; keep only AppTemplates in the template directory",
    ]


def test_golden_files_are_named_by_template_version_and_example() -> None:
    spec = catalog.builtin()[0]
    assert templatelint.golden_path(spec, spec.examples[0]) == "golden/scheduled-job@1.0.0/nightly-report.yaml"


def test_render_pins_the_exact_version_and_prints_like_microapp_render() -> None:
    specs = {t.template_name: t for t in catalog.builtin()}
    app, result = templatelint.render(specs["scheduled-job"], specs["scheduled-job"].examples[0])
    assert result.resolution.version == "1.0.1" and app.name == "nightly-report"
    text = templatelint.rendered_text(result.objects)
    assert "kind: CronJob" in text and "schedule: 0 2 * * *" in text and "timeZone: Europe/Berlin" in text


@pytest.mark.parametrize(
    "expected,actual,diff",
    [
        ("a\nb\n", "a\nb\n", []),
        (
            "a\nb\n",
            "a\nc\n",
            ["--- g.yaml (golden)\n", "+++ g.yaml (rendered now)\n", "@@ -1,2 +1,2 @@\n", " a\n", "-b\n", "+c\n"],
        ),
    ],
)
def test_diff_is_unified_from_golden_to_now(expected: str, actual: str, diff: list[str]) -> None:
    assert templatelint.diff(expected, actual, "g.yaml") == diff
