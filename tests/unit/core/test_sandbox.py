"""Hostile templates: every one stops with a plain RenderError, within a bounded amount of
work and memory (a deterministic budget, so these tests neither hang nor depend on timing)."""

from __future__ import annotations

import threading
import tracemalloc

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import render, rendered
from microapp_operator.core.render import RenderError

BASE = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ app.name }}}\ndata:\n  v: "
HOSTILE = {
    "nested-endless-loop": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "steps of work",
    ),
    "loop-over-a-precomputed-list": (
        "{% set r = range(100000)|list %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}",
        "steps of work",
    ),
    "exponential-concat": (
        "{% set a = 'xxxxxxxxxxxxxxxx' %}" + "".join("{% set a = a ~ a %}" for _ in range(40)) + "{{ a|length }}",
        "MiB of text",
    ),
    "string-times-huge": ("{{ 'x' * 1000000000 }}", "multiplies text"),
    "list-times-huge": ("{{ [1, 2] * 100000000 }}", "multiplies text or a list"),
    "huge-power": ("{{ 2 ** 100000000 }}", "power above 2^64"),
    "percent-width": ("{{ '%1000000000d' % 1 }}", "%-formatting of text is not available"),
    "format-width": ("{{ '{:>1000000000}'.format(1) }}", "access to attribute 'format' of 'str' object is unsafe"),
    "ljust-width": ("{{ 'a'.ljust(1000000000) }}", "access to attribute 'ljust' of 'str' object is unsafe"),
    "center-filter": ("{{ 'a'|center(1000000000) }}", "No filter named 'center'"),
    "indent-filter": ("{{ 'a\nb'|indent(1000000000) }}", "indent width over 256"),
    "replace-amplifies": ("{% set a = 'a' * 100000 %}{{ a.replace('a', a) }}", "replace() would build"),
    "replace-filter-amplifies": ("{% set a = 'a' * 100000 %}{{ a|replace('a', a) }}", "replace() would build"),
    "deep-recursion": ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursed too deeply"),
    "python-internals": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "the sandbox forbids"),
    "globals": ("{{ lipsum(100000) }}", "'lipsum' is undefined"),
    "namespace-carry": ("{% set ns = namespace(x='a') %}", "'namespace' is undefined"),
    "huge-output": ("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", "rendered more than 524288 bytes"),
}


def template(body: str) -> api.AppTemplateSpec:
    return api.AppTemplateSpec(template_name="evil", version="1.0.0", runtime="container", manifests=BASE + body + "\n")


def ctx() -> dict:
    return {"app": {"name": "shop"}, "params": {}, "labels": {}, "selector": {}}


def bounded(fn):  # noqa: ANN001, ANN201 - fails loudly instead of hanging the suite if a budget regresses
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the render did not stop: a budget is missing"
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.mark.parametrize("body,message", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("path", ["skeleton", "text"])
def test_hostile_templates_stop_with_a_plain_error_in_bounded_memory(body: str, message: str, path: str) -> None:
    fn = render.render if path == "skeleton" else render.render_text
    tracemalloc.start()
    try:
        with pytest.raises(RenderError) as err:
            bounded(lambda: fn(template(body), ctx()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message in str(err.value)
    assert str(err.value).startswith("template evil@1.0.0")
    assert peak < 64 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


def test_a_forbidden_kind_never_leaves_the_rules() -> None:
    crb = api.AppTemplateSpec(
        template_name="evil",
        version="1.0.0",
        runtime="container",
        manifests=(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: shop}\n"
            "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
            "subjects: [{kind: ServiceAccount, name: shop, namespace: team-a}]\n"
        ),
    )
    docs = render.render(crb, ctx())
    with pytest.raises(RenderError, match="ClusterRoleBinding .* is not allowed for runtime container"):
        rendered.complete(docs, app="shop", namespace="team-a", team="t", runtime="container", security=None, uid="u")


def test_ordinary_loops_and_filters_still_work() -> None:
    body = (
        "{% for i in range(3) %}{{ i }}{% endfor %}{{ 'a b'|replace(' ', '-')|upper }}"
        "{{ ('x' * 3) ~ 'y' }}{{ 2 ** 10 }}{{ 'l1\nl2'|indent(2) }}"
    )
    [doc] = render.render_text(template(body), ctx())
    assert doc["data"]["v"] == '012"A-B""xxxy"1024"l1\\n  l2"'
