"""Catalog search: every word in the name, description or tags; results with versions,
parameters and examples, as text, a table, or data."""

from __future__ import annotations

import pytest
import yaml

from microapp_operator.api import types as api
from microapp_operator.core import catalog
from microapp_operator.presentation import search

BUILTIN = catalog.builtin()


def tpl(
    version: str,
    *,
    name: str = "web-service",
    deprecated: bool = False,
    tags: list[str] | None = None,
    description: str = "HTTP service",
) -> api.AppTemplateSpec:
    return api.AppTemplateSpec(
        template_name=name,
        version=version,
        runtime="container",
        deprecated=deprecated,
        description=description,
        tags=tags,
        manifests="",
    )


@pytest.mark.parametrize(
    "query,names",
    [
        ("", ["scheduled-job", "serverless-function", "web-service", "webhook-handler", "worker"]),
        ("cron", ["scheduled-job"]),  # a tag
        ("KNATIVE", ["serverless-function", "webhook-handler"]),  # case-insensitive
        ("knative bot", ["webhook-handler"]),  # every word must match
        ("queue", ["worker"]),  # the description
        ("web", ["web-service", "webhook-handler"]),  # name hits first, then alphabetical
        ("http knative callback", ["webhook-handler"]),
        ("cron knative", []),
    ],
)
def test_search_matches_every_word(query: str, names: list[str]) -> None:
    assert [e.name for e in search.search(BUILTIN, query)] == names


def test_name_hits_rank_first() -> None:
    found = search.search(
        [tpl("1.0.0", name="api-gateway", description="routes"), tpl("1.0.0", name="aaa", description="an api client")],
        "api",
    )
    assert [e.name for e in found] == ["api-gateway", "aaa"]


def test_versions_newest_first_and_the_shown_one_is_not_deprecated() -> None:
    entry = search.search([tpl("1.0.0"), tpl("1.10.0", deprecated=True), tpl("1.2.0", tags=["api"])], "api")[0]
    assert entry.version_labels() == ["1.10.0 (deprecated)", "1.2.0", "1.0.0"]
    assert entry.shown.version == "1.2.0"


def test_tags_of_any_version_match() -> None:
    assert search.search([tpl("1.0.0", tags=["legacy"]), tpl("2.0.0")], "legacy")[0].shown.version == "2.0.0"


def test_table_has_one_line_per_template() -> None:
    text = search.table(search.search(BUILTIN, "knative"))
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "VERSIONS", "RUNTIME", "TAGS", "DESCRIPTION"]
    assert lines[1].startswith("serverless-function 1.0.1,1.0.0 serverless serverless,function,knative")
    assert lines[2].startswith("webhook-handler") and len(lines) == 3


def test_details_show_parameters_and_the_first_example_as_yaml() -> None:
    text = search.details(search.search(BUILTIN, "web-service"))
    assert text.startswith("web-service 1.1.0 (container)\n  HTTP service with a stable internal URL")
    assert "  tags: http, web, api, service, ingress, autoscaling\n" in text
    assert "    autoscale.max        integer  -       yes      Most replicas under load.\n" in text
    assert "    autoscale.cpuPercent integer  80      no       Average CPU use" in text
    assert "    probe                tcp|http tcp     no       tcp (the default) checks that the port accepts" in text
    assert "  example internal-api: An API other apps of the cluster call, two replicas.\n" in text
    assert "      template: web-service@^1\n" in text
    assert not [line for line in search.details(search.search(BUILTIN, "")).splitlines() if line != line.rstrip()]
    assert "  example public-site: A website" in text and "`microapp catalog web-service -o yaml`" in text


def test_details_without_examples_or_parameters_point_to_new() -> None:
    text = search.details(search.search([tpl("1.0.0", name="bare")], "bare"))
    assert not [line for line in text.splitlines() if line != line.rstrip()]  # no trailing blanks
    assert "  parameters: none\n" in text and "example: none; start from `microapp new APP -t bare`" in text


def test_data_has_every_example_as_a_microapp() -> None:
    data = search.as_data(search.search(BUILTIN, "scheduled-job")[0])
    assert {k: data[k] for k in ("name", "version", "versions", "runtime")} == {
        "name": "scheduled-job",
        "version": "1.0.1",
        "versions": ["1.0.1", "1.0.0"],
        "runtime": "job",
    }
    assert data["parameters"][0] == {
        "name": "schedule",
        "type": "string (cron)",
        "default": None,
        "required": True,
        "description": 'Cron schedule (5 fields), e.g. "0 6 * * 1-5".',
    }
    assert [e["name"] for e in data["examples"]] == ["nightly-report", "weekday-sync"]
    app = data["examples"][1]["microapp"]
    assert app["spec"]["parameters"]["schedule"] == "0 6 * * 1-5"
    assert yaml.safe_load(yaml.safe_dump(data)) == data  # plain data: json and yaml print it
