"""The portal's edit as data (presentation.edit): pure, from the built-in templates and dict
fixtures shaped as the API server returns them (managedFields included)."""

from __future__ import annotations

from typing import Any

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import catalog
from microapp_operator.presentation import edit
from tests.factories import microapp

TEMPLATES = catalog.builtin()
WEB = catalog.resolve("web-service", TEMPLATES).template
OWNER = "microapp.dev/owner"


def live(**fields: Any) -> dict[str, Any]:
    app = microapp(
        "shop",
        "team-finance",
        owner="alice@example.com",
        template="web-service@^1",
        image="registry.internal/finance/shop:1.0.0",
        env=[{"name": "MODE", "value": "prod"}],
        **fields,
    )
    app["metadata"]["resourceVersion"] = "41"
    return app


def entry(manager: str, fields: dict[str, Any], operation: str = "Update", **extra: str) -> dict[str, Any]:
    return {"manager": manager, "operation": operation, "fieldsType": "FieldsV1", "fieldsV1": fields, **extra}


KUBECTL = entry(
    "kubectl-client-side-apply",
    {
        "f:metadata": {"f:annotations": {".": {}, f"f:{OWNER}": {}, "f:microapp.dev/team": {}}},
        "f:spec": {".": {}, "f:image": {}, "f:template": {}, "f:env": {".": {}, 'k:{"name":"MODE"}': {"f:name": {}}}},
    },
)
OPERATOR_STATUS = entry("microapp-operator", {"f:status": {"f:phase": {}}}, subresource="status")
PORTAL_CREATE = entry("microapp-portal", {"f:spec": {"f:replicas": {}}})


def edited(app: dict[str, Any], **typed: str) -> dict[str, Any]:
    """The app after the form was sent with ``typed`` over what it showed (as the portal does)."""
    opened = edit.shown(WEB, app)
    values = {**opened, **typed}
    from microapp_operator.presentation import forms

    body, problems = forms.microapp(
        WEB, forms.Submitted({**values, "name": "shop", "namespace": "team-finance"}), team="finance"
    )
    assert problems == []
    body["spec"]["template"] = values["template"]
    return edit.desired(edit.view(app), body, changed_fields=edit.touched(values, opened))


def test_the_form_opens_on_the_live_app_with_its_template_reference() -> None:
    values = edit.prefill(live(replicas=2), WEB)
    assert values["template"] == "web-service@^1"
    assert values["image"] == "registry.internal/finance/shop:1.0.0"
    assert values["replicas"] == "2" and values["owner"] == "alice@example.com"


def test_a_changed_field_changes_and_everything_left_alone_stays_as_it_was() -> None:
    app = live()  # no replicas, resources or expose: the form shows the template's defaults
    after = edited(app, replicas="3")
    assert after["spec"]["replicas"] == 3
    assert "resources" not in after["spec"] and "expose" not in after["spec"]  # defaults shown, not written
    assert after["spec"]["env"] == [{"name": "MODE", "value": "prod"}]  # no field for it in the form: kept
    assert edit.changed(edit.view(app), after) == [("spec", "replicas")]


def test_clearing_a_field_removes_it_and_an_emptied_map_goes_too() -> None:
    app = live(resources={"cpu": "200m"})
    after = edited(app, cpu="")
    assert "resources" not in after["spec"]
    assert edit.changed(edit.view(app), after) == [("spec", "resources", "cpu")]


def test_a_field_another_manager_holds_is_a_conflict_in_words_and_the_portals_own_are_not() -> None:
    paths = [("spec", "image"), ("spec", "replicas"), ("spec", "env")]
    found = edit.conflicts([KUBECTL, OPERATOR_STATUS, PORTAL_CREATE], paths)
    assert [(c.field, c.managers) for c in found] == [
        (".spec.image", ("kubectl-client-side-apply",)),
        (".spec.env", ("kubectl-client-side-apply",)),  # a keyed list is one field
    ]
    assert found[0].label == "Image"
    assert "Image (.spec.image) is set by kubectl apply (kubectl-client-side-apply)" in found[0].words
    assert "does not take over" in found[0].words


@pytest.mark.parametrize(
    ("manager", "shown"),
    [
        pytest.param("argocd-controller", "Argo CD (argocd-controller)", id="argo-cd"),
        pytest.param("kustomize-controller", "Flux (kustomize-controller)", id="flux"),
        pytest.param("gitops-bot", "gitops-bot", id="unknown-as-named"),
    ],
)
def test_a_field_manager_is_named_as_people_know_it(manager: str, shown: str) -> None:
    assert edit.tool(manager) == shown


def test_a_parameter_conflict_is_named_by_its_schema_title() -> None:
    held = entry("argocd-controller", {"f:spec": {"f:parameters": {"f:healthPath": {}}}}, operation="Apply")
    found = edit.conflicts([held], [("spec", "parameters", "healthPath")], schema=WEB.parameters)
    assert [c.label for c in found] == [str(WEB.parameters["properties"]["healthPath"].get("title") or "healthPath")]


def test_the_apply_sends_what_changed_and_what_the_portal_already_holds_at_the_version_read() -> None:
    app = live(replicas=2, expose="internal")
    after = edited(app, replicas="3")
    held = edit.portal_holds([entry("microapp-portal", {"f:spec": {"f:expose": {}}}, operation="Apply"), PORTAL_CREATE])
    body = edit.apply_config(after, paths=edit.changed(edit.view(app), after), held=held, resource_version="41")
    assert body["metadata"] == {"name": "shop", "namespace": "team-finance", "resourceVersion": "41"}
    assert body["spec"] == {"replicas": 3, "expose": "internal"}  # not image, env or template: others hold them


def test_a_changed_annotation_is_sent_alone() -> None:
    app = live()
    after = edited(app, owner="bob@example.com")
    body = edit.apply_config(after, paths=edit.changed(edit.view(app), after), held=set(), resource_version="41")
    assert body["metadata"]["annotations"] == {OWNER: "bob@example.com"}
    assert "spec" not in body


def test_after_a_409_what_was_typed_is_kept_and_fields_left_alone_take_the_new_values() -> None:
    opened = {"replicas": "1", "image": "a:1", "memory": "128Mi"}
    live_now = {"replicas": "4", "image": "a:2", "memory": "128Mi"}
    typed = {"replicas": "3", "image": "a:1", "memory": "256Mi"}
    values, both = edit.merged(typed, opened, live_now)
    assert values == {"replicas": "3", "image": "a:2", "memory": "256Mi"}
    assert both == ["replicas"]


def _template(version: str, *, deprecated: bool = False, changelog: list[dict] | None = None) -> api.AppTemplateSpec:
    return WEB.model_copy(
        update={
            "version": version,
            "deprecated": deprecated,
            "changelog": [api.ChangelogEntry.model_validate(c) for c in changelog or []],
        }
    )


def test_upgrades_are_the_newer_versions_in_the_apps_range_with_their_changelog_lines() -> None:
    log = [
        {"version": "1.0.0", "note": "First."},
        {"version": "1.1.0", "note": "Adds a readiness path."},
        {"version": "1.2.0", "note": "Bigger default memory."},
    ]
    catalog_ = [
        _template("1.0.0", changelog=log[:1]),
        _template("1.1.0", changelog=log[:2]),
        _template("1.2.0", changelog=log),
        _template("1.3.0", deprecated=True),
        _template("2.0.0"),
    ]
    found = edit.upgrades("web-service@^1", "1.0.0", catalog_)
    assert [(u.version, u.notes) for u in found] == [
        ("1.2.0", ("Bigger default memory.",)),
        ("1.1.0", ("Adds a readiness path.",)),
    ]
    assert edit.template_options("web-service@^1", "1.0.0", found) == (
        "web-service@^1",
        "web-service@1.0.0",
        "web-service@1.2.0",
        "web-service@1.1.0",
    )
    assert [u.version for u in edit.upgrades("web-service", "1.0.0", catalog_)] == ["2.0.0", "1.2.0", "1.1.0"]
    assert edit.upgrades("web-service@^1", None, catalog_) == []  # not rendered yet: nothing to move from
    assert edit.upgrades("web-service@^1", "1.2.0", catalog_) == []
