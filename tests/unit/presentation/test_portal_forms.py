"""The portal's form and live panel (presentation.forms, presentation.preview): pure, from the
built-in templates and a policy like the tests' one."""

from __future__ import annotations

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import catalog
from microapp_operator.presentation import forms, html, preview

TEMPLATES = catalog.builtin()
WEB = catalog.resolve("web-service", TEMPLATES).template
POLICY = api.PlatformPolicySpec.model_validate(
    {
        "pricing": {"currency": "USD", "hoursPerMonth": 730, "cpuCoreHour": "0.031611", "memoryGiBHour": "0.004237"},
        "teams": [{"name": "finance", "groups": ["finance-devs"], "namespaces": ["team-finance"]}],
        "guardrails": {"allowedRegistries": ["registry.internal/"], "maxReplicas": 10, "requireCostCenter": True},
    }
)
BUDGET = {
    "metadata": {"name": "finance", "creationTimestamp": "2026-01-01T00:00:00Z"},
    "spec": {"team": "finance", "monthlyLimit": "20", "enforcement": "Deny"},
    "status": {"committedMonthly": "15.00"},
}
GOOD = {
    "name": "shop",
    "namespace": "team-finance",
    "owner": "alice@example.com",
    "image": "registry.internal/finance/shop:1.0.0",
    "replicas": "1",
    "cpu": "100m",
    "memory": "128Mi",
    "expose": "internal",
    "cost_center": "CC-1",
}


def panel(values: dict[str, str], groups: tuple[str, ...] = ("finance-devs",)) -> preview.Panel:
    body, problems = forms.microapp(WEB, forms.Submitted(values), team="finance")
    return preview.build(
        body,
        templates=TEMPLATES,
        policy=POLICY,
        budgets=[BUDGET],
        username="alice@example.com",
        groups=groups,
        problems=problems,
    )


def test_the_fixed_fields_carry_the_contracts_labels() -> None:
    form = forms.build(WEB, forms.Submitted(), owner="alice@example.com", namespaces=["team-finance"], cost_center=True)
    labels = [f.label for f in form.fixed]
    assert labels == ["Name", "Namespace", "Owner", "Image", "Replicas", "CPU", "Memory", "Exposure", "Cost center"]
    assert {f.label: f.value for f in form.fixed}["Owner"] == "alice@example.com"
    assert {f.label: f.kind for f in form.params} == {
        "autoscale": "yaml",
        "Readiness check": "select",
        "healthPath": "text",
    }


def test_no_cost_center_field_when_the_policy_does_not_ask_for_one() -> None:
    form = forms.build(WEB, forms.Submitted(), owner="a", namespaces=[], cost_center=False)
    assert "Cost center" not in [f.label for f in form.fields]


def test_a_valid_app_is_priced_within_the_team_budget_and_has_no_findings() -> None:
    p = panel(GOOD)
    assert p.findings == () and p.allowed and p.estimate is not None
    assert p.figures is not None and p.figures.committed == "15.00" and p.figures.limit == "20.00"
    assert "Deployment/shop" in p.objects and "Service/shop" in p.objects


def test_more_replicas_cost_more_and_over_the_deny_budget_are_refused() -> None:
    one, three = panel(GOOD), panel({**GOOD, "replicas": "3"})
    assert float(three.estimate or 0) == pytest.approx(3 * float(one.estimate or 0), rel=0.01)
    big = panel({**GOOD, "replicas": "9", "cpu": "1", "memory": "2Gi"})
    assert not big.allowed and big.verdict and "over the TeamBudget limit" in big.verdict


def test_the_team_figures_are_for_members_only() -> None:
    p = panel(GOOD, groups=("other-devs",))
    assert p.figures is None and "members only" in p.team_note
    assert any("not a member of team finance" in f for f in p.findings)


@pytest.mark.parametrize(
    ("change", "field_name", "words"),
    [
        pytest.param({"image": "docker.io/x/y:1"}, "image", "registry", id="registry"),
        pytest.param({"replicas": "30"}, "replicas", "replicas", id="too-many-replicas"),
        pytest.param({"replicas": "two"}, "replicas", "not a whole number", id="not-a-number"),
        pytest.param({"cost_center": ""}, "cost_center", "cost-center", id="cost-center"),
        pytest.param({"param.healthPath": "no-slash"}, "param.healthPath", "does not match", id="param-pattern"),
        pytest.param({"name": "<b>x</b>"}, "name", "not a name", id="markup-name"),
    ],
)
def test_each_problem_is_placed_at_its_field(change: dict[str, str], field_name: str, words: str) -> None:
    p = panel({**GOOD, **change})
    form = forms.build(
        WEB, forms.Submitted({**GOOD, **change}), owner="a", namespaces=[], cost_center=True, problems=p.findings
    )
    errors = {f.name: f.error for f in form.fields if f.error}
    assert field_name in errors and words in (errors[field_name] or ""), (errors, p.findings)


def test_markup_in_values_is_drawn_as_text() -> None:
    values = {**GOOD, "name": "<script>alert(1)</script>", "param.healthPath": '"><img src=x onerror=alert(1)>'}
    p = panel(values)
    form = forms.build(WEB, forms.Submitted(values), owner="a", namespaces=[], cost_center=True, problems=p.findings)
    page = html.portal(
        "new",
        title="New",
        htmx="h.js",
        user="<i>u</i>",
        form=form,
        panel=p,
        csrf="t",
        outcome=None,
        show_errors=True,
        microapp_yaml="x: 1",
    )
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "<i>u</i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'role="alert"' in page and 'aria-live="polite"' in page


def test_a_template_priced_at_its_defaults() -> None:
    assert preview.typical(WEB, POLICY) == panel(GOOD).estimate


def test_the_yaml_view_goes_back_to_the_same_form_values() -> None:
    values = {**GOOD, "replicas": "3", "param.healthPath": "/ready", "param.autoscale": "max: 4\nmin: 2"}
    body, problems = forms.microapp(WEB, forms.Submitted(values), team="finance")
    back, lost = forms.from_yaml(WEB, forms.as_yaml(body))
    assert problems == [] and lost == []
    again, _ = forms.microapp(WEB, forms.Submitted(back), team="finance")
    assert again == body


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("spec: [", "does not parse"),
        ("- a list", "not a MicroApp"),
        ("metadata: {name: a}\nspec: {image: x, lifecycle: {idleAfter: 7d}}", "spec.lifecycle: the form has no field"),
        ("spec: {template: worker@^1}", "this form is for web-service"),
    ],
)
def test_what_the_form_cannot_hold_is_named(text: str, words: str) -> None:
    _, lost = forms.from_yaml(WEB, text)
    assert any(words in p for p in lost), lost


def test_a_choice_the_app_leaves_to_the_template_stays_left_to_it() -> None:
    """A form sent back (or prefilled for an edit) with no value for an enum parameter keeps it
    empty, "(the template's default)", so leaving it alone never writes the default into the app."""

    def drawn(values: dict[str, str]) -> str:
        form = forms.build(WEB, forms.Submitted(values), owner="a", namespaces=[], cost_center=True)
        page = html.portal("new", title="New", htmx="h.js", user="u", form=form, panel=panel(values), csrf="t",
                           outcome=None, show_errors=True, microapp_yaml="x: 1")  # fmt: skip
        return page[page.index('name="param.probe"') :].split("</select>")[0]

    assert '<option value="" selected>(the template\'s default)</option>' in drawn(GOOD)
    assert '<option value="tcp" selected>' not in drawn(GOOD)
    assert '<option value="http" selected>http</option>' in drawn({**GOOD, "param.probe": "http"})
    assert "the template's default" not in drawn({**GOOD, "param.probe": "http"})
    first = forms.build(WEB, forms.Submitted(), owner="a", namespaces=[], cost_center=True)  # a new form
    assert {f.name: f.value for f in first.params}["param.probe"] == "tcp"
    assert "probe" not in forms.microapp(WEB, forms.Submitted(GOOD), team="finance")[0]["spec"].get("parameters", {})
