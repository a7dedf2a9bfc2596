"""Rendering treats user values as data; templates run sandboxed; parameters are checked."""

from __future__ import annotations

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import parameters, render, skeleton


def template(manifests: str, parameters: dict | None = None) -> api.AppTemplateSpec:
    return api.AppTemplateSpec(
        template_name="probe", version="1.0.0", runtime="container", parameters=parameters, manifests=manifests
    )


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
    "quote-breakout": '"}\nkind: ClusterRole',
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


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["schedule"],
    "properties": {
        "schedule": {"type": "string", "format": "cron"},
        "autoscale": {
            "type": "object",
            "properties": {"max": {"type": "integer", "maximum": 20}, "min": {"type": "integer", "default": 1}},
        },
    },
}

PARAMS = {
    "missing-required": ({}, ["spec.parameters: 'schedule' is a required property"]),
    "unknown-key": (
        {"schedule": "@daily", "extra": 1},
        [
            "spec.parameters: Additional properties are not allowed ('extra' was unexpected); "
            "remove it or check the template's parameters (kubectl get apptemplate -o yaml)"
        ],
    ),
    "nested-path": (
        {"schedule": "@daily", "autoscale": {"max": 50}},
        ["spec.parameters.autoscale.max: 50 is greater than the maximum of 20"],
    ),
    "bad-cron": (
        {"schedule": "61 * * * *"},
        ["spec.parameters.schedule: '61 * * * *' is not a cron schedule (five fields, e.g. '0 6 * * 1-5', or @daily)"],
    ),
    "six-field-cron": (
        {"schedule": "0 0 * * * *"},
        ["spec.parameters.schedule: '0 0 * * * *' is not a cron schedule (five fields, e.g. '0 6 * * 1-5', or @daily)"],
    ),
    "valid": ({"schedule": "0 6 * * 1-5", "autoscale": {"max": 3}}, []),
}


@pytest.mark.parametrize("params,expected", PARAMS.values(), ids=PARAMS.keys())
def test_parameter_errors_name_the_path(params: dict, expected: list[str]) -> None:
    assert parameters.validate(SCHEMA, params) == expected


def test_no_schema_means_no_parameters() -> None:
    assert parameters.validate(None, {"a": 1}) == ["spec.parameters: this template takes no parameters; remove them"]
    assert parameters.validate(None, None) == []


def test_broken_or_remote_schema_does_not_crash() -> None:
    assert "schema is invalid" in parameters.validate({"type": 12}, {})[0]
    remote = {"$ref": "https://example.com/schema.json"}
    assert "cannot be evaluated" in parameters.validate(remote, {"a": 1})[0]


def test_template_parameters_fill_defaults_and_declare_unset() -> None:
    params = parameters.for_template(SCHEMA, {"autoscale": {"max": 3}})
    assert params == {"schedule": None, "autoscale": {"max": 3, "min": 1}}


# --- the skeleton cache: exactly what the full text render gives, or not used -------------


def typed(node: object) -> object:
    """A comparable form that also tells 1, 1.0, True and '1' apart, and keeps key order."""
    if isinstance(node, dict):
        return ["dict", [(typed(k), typed(v)) for k, v in node.items()]]
    if isinstance(node, list):
        return ["list", [typed(v) for v in node]]
    return [type(node).__name__, node]


def outcome(fn, tmpl: api.AppTemplateSpec, context: dict) -> object:
    try:
        return typed(fn(tmpl, context))
    except render.RenderError as exc:
        return ["error", str(exc)]


def same_as_full_render(tmpl: api.AppTemplateSpec, context: dict) -> object:
    fast, full = outcome(render.render, tmpl, context), outcome(render.render_text, tmpl, context)
    assert fast == full
    return fast


ODD_STRINGS = [
    "",
    " lead and trail ",
    "line\nbreak",
    "tab\there",
    'quote" and \\ backslash',
    "ünïcödé ✓ 🚀",
    "next\x85line",
    "line\u2028separator",
    "para\u2029graph",
    "bom\ufeffinside",
    "del\x7fchar",
    "c1\x9bcontrol",
    "nul\x00byte",
    "lone\ud800surrogate",
    "yes",
    "on",
    "null",
    "~",
    "0o17",
    "1e5",
    "12:30",
    "- item",
    "key: value",
    "#comment",
    "&anchor",
    "*alias",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "{flow}",
    "[seq]",
    "x" * 2000,
    *HOSTILE.values(),
]
ODD_VALUES = [
    *ODD_STRINGS,
    0,
    -1,
    2**70,
    True,
    False,
    None,
    1.5,
    1e20,
    float("nan"),
    [],
    {},
    [1, "a", None],
    {"k": "v", "n": 1},
    {"nested": {"deeper": ["x", {"y": True}]}},
    {"x" * 300: 1},
    (1, 2),
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_skeleton_render_equals_full_render_for_odd_values(value: object) -> None:
    same_as_full_render(template(CONFIGMAP), ctx(value))
    same_as_full_render(template("kind: ConfigMap\ndata: [{{ params.value }}, {a: {{ params.value }}}]\n"), ctx(value))


ODD_TEMPLATES = {
    "quoted": 'kind: ConfigMap\nname: "{{ params.value }}"\n',
    "single-quoted": "kind: ConfigMap\nname: '{{ params.value }}'\n",
    "glued": "kind: ConfigMap\nname: {{ params.value }}{{ params.value }}\n",
    "digits-after": "kind: ConfigMap\nname: {{ params.value }}5\n",
    "suffix": "kind: ConfigMap\nname: {{ params.value }}-suffix\n",
    "comment": "kind: ConfigMap # {{ params.value }}\nname: x\n",
    "explicit-tag": "kind: ConfigMap\nname: !!str {{ params.value }}\n",
    "local-tag": "kind: ConfigMap\nname: !thing {{ params.value }}\n",
    "anchor-alias": "kind: ConfigMap\na: &x {{ params.value }}\nb: *x\n",
    "anchored-map": "kind: ConfigMap\na: &x {v: {{ params.value }}}\nb: *x\n",
    "merge": "kind: ConfigMap\nbase: &b {v: {{ params.value }}}\nm:\n  <<: *b\n  w: 1\n",
    "merge-placeholder": "kind: ConfigMap\nm:\n  <<: {{ params.value }}\n",
    "block-scalar": "kind: ConfigMap\ndata: |\n  {{ params.value }}\n",
    "key": "kind: ConfigMap\n{{ params.value }}: value\n",
    "flow-key": "kind: ConfigMap\nm: {{ '{' }}{{ params.value }}: 1}\n",
    "two-docs": "kind: ConfigMap\nv: {{ params.value }}\n---\nkind: Secret\nv: {{ params.value }}\n",
    "empty-doc": "---\n---\nkind: ConfigMap\nv: {{ params.value }}\n",
    "not-an-object": "- {{ params.value }}\n",
    "set": "kind: ConfigMap\ns: !!set {a: null}\nv: {{ params.value }}\n",
    "timestamp": "kind: ConfigMap\nt: 2026-11-29\nv: {{ params.value }}\n",
    "constant": "kind: ConfigMap\nc: {{ 'constant' }}\nv: {{ params.value }}\n",
    "loop": "kind: ConfigMap\nitems:\n{%- for i in range(3) %}\n- {{ params.value }}\n{%- endfor %}\n",
    "huge": "kind: ConfigMap\nitems: [{% for i in range(1000) %}{{ params.value }},{% endfor %}]\n",
    "undefined": "kind: ConfigMap\nv: {{ params.nope.deeper }}\n",
    "deep": "kind: ConfigMap\nv: " + "[" * 300 + "{{ params.value }}" + "]" * 300 + "\n",
    # Output that does not go straight into the text: the skeleton would see placeholders.
    "filter-block": "{% filter replace('\"', \"'\") %}kind: ConfigMap\nv: {{ params.value }}\n{% endfilter %}",
    "autoescape": "{% autoescape true %}kind: ConfigMap\nv: {{ params.value }}\n{% endautoescape %}",
    "set-block": "{% set v %}{{ params.value }}{% endset %}kind: ConfigMap\nv: {{ v }}\nw: {{ params.value }}\n",
    "macro": "{% macro m(x) %}{{ x }}{% endmacro %}kind: ConfigMap\nv: {{ m(params.value) }}\n",
    "call-block": "{% macro m() %}[{{ caller() }}]{% endmacro %}kind: ConfigMap\n"
    "v: {% call m() %}{{ params.value }}{% endcall %}\n",
}
ODD_PROBES = ["plain", 7, {"k": "v"}, [1, 2], "line\u2028separator", None, "a: b", "x" * 1100]


@pytest.mark.parametrize("source", ODD_TEMPLATES.values(), ids=ODD_TEMPLATES.keys())
def test_skeleton_render_equals_full_render_for_odd_templates(source: str) -> None:
    for value in ODD_PROBES:
        same_as_full_render(template(source), ctx(value))


def _valid_env(text: str) -> bool:
    """The MicroApp schema refuses some strings (broken Unicode, NUL)."""
    try:
        api.EnvVar.model_validate({"name": "TEXT", "value": text})
    except ValueError:
        return False
    return True


def test_builtin_templates_render_the_same_both_ways() -> None:
    """Every built-in template over varied apps: identical objects, and the cache is used."""
    from microapp_operator.core import catalog, plan, rendered

    skeleton._SKELETONS.clear()
    count = 0
    valid = [t for t in ODD_STRINGS if _valid_env(t)]
    for tmpl in catalog.builtin():
        for i, (text, number) in enumerate(zip(valid, range(1, 100))):
            spec = {
                "template": tmpl.template_name,
                "image": f"registry.internal/{i}:1",
                "replicas": number % 5 + 1,
                "expose": ["internal", "none", "public"][i % 3],
                **({"host": f"h{i}.example.com"} if i % 3 == 2 else {}),
                "resources": {"cpu": f"{number}m", "memory": f"{number}Mi"},
                "env": [{"name": "TEXT", "value": text}],
            }
            params = {
                "web-service": {"autoscale": {"max": number % 7 + 1}} if i % 2 else {},
                "scheduled-job": {"schedule": "0 6 * * 1-5"},
            }.get(tmpl.template_name, {})
            values = plan.app_values(
                plan.App(plan.AppMeta(f"app-{i}", "team-a"), plan.parse_spec({**spec, "parameters": params})), tmpl
            )
            context = render.context(
                values,
                parameters.for_template(tmpl.parameters, params),
                rendered.labels(app=values.name, team="t"),
                rendered.selector(values.name),
            )
            same_as_full_render(tmpl, context)
            count += 1
    assert count > 100
    assert 0 < len(skeleton._SKELETONS) < 40  # one per template and control flow, not one per app


def test_skeleton_is_parsed_once_and_results_are_not_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    skeleton._SKELETONS.clear()
    tmpl = template("kind: ConfigMap\ndata: {{ params.value }}\nfixed: {a: [1, 2]}\n")
    first = render.render(tmpl, ctx({"k": "one"}))
    parses = []
    real = render.yaml.load_all
    monkeypatch.setattr(render.yaml, "load_all", lambda *a, **k: parses.append(1) or real(*a, **k))
    first[0]["fixed"]["a"].append(3)
    first[0]["data"]["k"] = "changed"
    second = render.render(tmpl, ctx({"k": "two"}))
    assert parses == []
    assert second == [{"kind": "ConfigMap", "data": {"k": "two"}, "fixed": {"a": [1, 2]}}]
    value = {"k": ["shared?"]}
    third = render.render(template("kind: ConfigMap\na: {{ params.value }}\nb: {{ params.value }}\n"), ctx(value))
    third[0]["a"]["k"].append("no")
    assert third[0]["b"] == {"k": ["shared?"]} and value == {"k": ["shared?"]}


def test_skeleton_is_used_only_where_output_goes_straight_to_the_text() -> None:
    from microapp_operator.core import catalog

    straight = [
        skeleton.writes_straight(render._digest(t.manifests), t.manifests, render._environment())
        for t in catalog.builtin()
    ]
    assert straight == [True] * len(straight)  # every built-in template gets the fast path
    for name in ("filter-block", "autoescape", "set-block", "macro", "call-block"):
        source = ODD_TEMPLATES[name]
        assert not skeleton.writes_straight(render._digest(source), source, render._environment()), name


def test_a_template_that_keeps_missing_the_cache_is_rendered_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A control flow that differs per app would make every render pay for a skeleton parse."""
    checks = []
    real = skeleton._check_skeleton
    monkeypatch.setattr(skeleton, "_check_skeleton", lambda *a: checks.append(1) or real(*a))
    varying = template("kind: ConfigMap\nitems:\n{%- for i in range(params.value) %}\n- {{ i }}\n{%- endfor %}\n")
    for n in range(200):
        same_as_full_render(varying, ctx(n))
    assert len(checks) == skeleton._MISSES_BEFORE_JUDGING  # then it stopped trying
    steady = template(CONFIGMAP)
    for n in range(200):
        same_as_full_render(steady, ctx(f"value {n}"))
    assert len(checks) == skeleton._MISSES_BEFORE_JUDGING + 1  # one skeleton, reused
