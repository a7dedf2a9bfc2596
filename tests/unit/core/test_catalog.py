"""Template references resolve to the newest matching, non-deprecated version; pins hold."""

from __future__ import annotations

import pytest

from microapp_operator.api import types as api
from microapp_operator.core import catalog


def tpl(version: str, *, name: str = "web-service", deprecated: bool = False) -> api.AppTemplateSpec:
    return api.AppTemplateSpec(
        template_name=name, version=version, runtime="container", deprecated=deprecated, manifests=""
    )


CATALOG = [tpl("1.0.0"), tpl("1.2.0"), tpl("1.3.0", deprecated=True), tpl("2.0.0"), tpl("1.0.0", name="worker")]

RESOLVE = {
    "no-range-newest": ("web-service", None, "2.0.0"),
    "caret-skips-deprecated": ("web-service@^1", None, "1.2.0"),
    "tilde": ("web-service@~1.0", None, "1.0.0"),
    "exact": ("web-service@1.0.0", None, "1.0.0"),
    "comparison": ("web-service@>=1.1 <2", None, "1.2.0"),
    "pin-kept-though-newer": ("web-service@^1", "1.0.0", "1.0.0"),
    "pin-kept-though-deprecated": ("web-service@^1", "1.3.0", "1.3.0"),
    "pin-outside-new-range-ignored": ("web-service@^2", "1.0.0", "2.0.0"),
    "pin-gone-ignored": ("web-service@^1", "1.1.0", "1.2.0"),
}


@pytest.mark.parametrize("ref,pinned,expected", RESOLVE.values(), ids=RESOLVE.keys())
def test_resolve(ref: str, pinned: str | None, expected: str) -> None:
    res = catalog.resolve(ref, CATALOG, pinned=pinned)
    assert res.version == expected
    assert res.latest == "2.0.0"
    assert res.template.version == expected


def test_missing_template_names_the_catalog_command() -> None:
    with pytest.raises(catalog.ResolutionError, match="no template named 'api-gateway'.*kubectl get apptemplates"):
        catalog.resolve("api-gateway@^1", CATALOG)


def test_no_match_lists_available_versions() -> None:
    with pytest.raises(catalog.ResolutionError) as err:
        catalog.resolve("web-service@^3", CATALOG)
    assert "available: 2.0.0, 1.3.0 (deprecated), 1.2.0, 1.0.0" in str(err.value)


def test_bad_range_is_explained() -> None:
    with pytest.raises(catalog.ResolutionError, match="not a semver range; use e.g. web-service@\\^1"):
        catalog.resolve("web-service@one", CATALOG)


def test_builtin_catalog_has_the_five_templates() -> None:
    names = {(t.template_name, t.runtime) for t in catalog.builtin()}
    assert names == {
        ("web-service", "container"),
        ("worker", "container"),
        ("scheduled-job", "job"),
        ("serverless-function", "serverless"),
        ("webhook-handler", "serverless"),
    }


def test_builtin_template_objects_are_named_after_name_and_version() -> None:
    for obj in catalog.builtin_objects():
        spec = obj["spec"]
        assert obj["metadata"]["name"] == f"{spec['templateName']}-{spec['version']}"
        assert spec["parameters"]["type"] == "object"


def _readiness(version: str, **params: str) -> dict:
    from microapp_operator.core import plan
    from tests.factories import microapp

    body = microapp("shop", "team-a", template=f"web-service@{version}", parameters=params or None, typed=False)
    deployment = next(o for o in plan.desired(plan.parse(body), catalog.builtin()).objects if o["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]


def test_web_service_1_1_checks_readiness_by_connecting_unless_asked_for_http() -> None:
    """An HTTP probe's requests are counted as traffic by OpenTelemetry's instrumentation, so an app
    probed over HTTP never goes idle (found running real Pods: tests/delivery/test_app_pods.py)."""
    assert _readiness("1.1.0") == {"tcpSocket": {"port": "http"}, "periodSeconds": 10}
    assert _readiness("1.1.0", probe="http", healthPath="/ready")["httpGet"] == {"path": "/ready", "port": "http"}
    assert _readiness("1.0.0")["httpGet"] == {"path": "/", "port": "http"}  # published: unchanged
