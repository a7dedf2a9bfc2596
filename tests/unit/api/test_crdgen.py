"""The CRDs are generated from the API types, structural, documented and committed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from microapp_operator.api import crdgen
from microapp_operator.api import types as api
from microapp_operator.entry import cli

ROOT = Path(__file__).resolve().parents[3]


def _walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from _walk(child, f"{path}.{name}")
    if "items" in node:
        yield from _walk(node["items"], f"{path}[]")


@pytest.mark.parametrize("kind", crdgen.KINDS, ids=lambda k: k.kind)
def test_every_field_is_documented(kind: crdgen.Kind) -> None:
    schema = crdgen.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    # Scalar list items are described by their list (kubectl explain shows the list).
    undocumented = [
        p
        for p, n in _walk(schema)
        if p not in ("", ".metadata")
        and not n.get("description")
        and not (p.endswith("[]") and n.get("type") in ("string", "integer"))
    ]
    assert undocumented == []


@pytest.mark.parametrize("kind", crdgen.KINDS, ids=lambda k: k.kind)
def test_schema_is_structural(kind: crdgen.Kind) -> None:
    text = crdgen.render_all()[f"microapp.dev_{kind.plural}.yaml"]
    for forbidden in ("$ref", "$defs", "uniqueItems", "type: 'null'", "type: null"):
        assert forbidden not in text, forbidden
    for key in ("title", "default", "additionalProperties"):
        assert not re.search(rf"^\s*{key}:", text, re.MULTILINE), key
    schema = crdgen.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _walk(schema):
        assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{path} has no type"


def test_microapp_crd_names_columns_and_subresources() -> None:
    crd = crdgen.crd(crdgen.KINDS[0])
    names = crd["spec"]["names"]
    assert names["shortNames"] == ["mapp", "mapps"] and names["categories"] == ["microapp-platform"]
    version = crd["spec"]["versions"][0]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Template",
        "Phase",
        "Ready",
        "Cost/mo",
        "Owner",
        "Age",
    ]
    assert version["subresources"]["scale"]["labelSelectorPath"] == ".status.selector"
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert status["selector"]["type"] == "string"  # the scale subresource needs a string


def test_all_kinds_share_group_and_category() -> None:
    crds = [crdgen.crd(k) for k in crdgen.KINDS]
    assert {c["spec"]["names"]["kind"] for c in crds} == {"MicroApp", "AppTemplate", "TeamBudget", "PlatformPolicy"}
    assert all(c["spec"]["group"] == api.GROUP for c in crds)
    assert all(c["spec"]["names"]["categories"] == [api.CATEGORY] for c in crds)


def test_committed_crds_match_the_types() -> None:
    assert (
        cli.main(
            [
                "crds",
                "--check",
                "-o",
                str(ROOT / "crds"),
                "-o",
                str(ROOT / "charts" / "microapp-operator" / "files" / "crds"),
            ]
        )
        == 0
    ), "run 'make crds' and commit"


def test_check_reports_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["crds", "-o", str(tmp_path)]) == 0
    assert cli.main(["crds", "--check", "-o", str(tmp_path)]) == 0
    (tmp_path / "microapp.dev_microapps.yaml").write_text("edited by hand\n")
    assert cli.main(["crds", "--check", "-o", str(tmp_path)]) == 1
    assert "microapp.dev_microapps.yaml: differs" in capsys.readouterr().err
