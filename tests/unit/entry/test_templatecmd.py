"""`microapp template lint|test DIR`: the platform team's checks before publishing templates."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from microapp_operator.core import catalog
from microapp_operator.entry import cli

ROOT = Path(__file__).resolve().parents[3]
BUILTIN_DIR = ROOT / "operator" / "microapp_operator" / "templates"
POLICY = ROOT / "manifests" / "policy" / "platformpolicy-default.yaml"
WORKER = next(o for o in catalog.builtin_objects() if o["spec"]["templateName"] == "worker")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def worker(version: str = "1.1.0", **spec: Any) -> dict[str, Any]:
    obj = copy.deepcopy(WORKER)
    obj["metadata"]["name"] = f"worker-{version}"
    obj["spec"].update({"version": version, "changelog": [{"version": version, "note": "Quieter logs."}], **spec})
    return obj


@pytest.fixture
def tdir(tmp_path: Path) -> Path:
    (tmp_path / "worker-1.1.0.yaml").write_text(yaml.safe_dump(worker()))
    return tmp_path


def test_lint_passes_the_builtin_templates_under_the_default_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "template", "lint", "--policy", str(POLICY), str(BUILTIN_DIR))
    assert (code, out) == (0, f"{BUILTIN_DIR}: 10 AppTemplates, 18 examples: ok\n")


def test_lint_lists_every_problem_and_exits_1(tdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tdir / "worker-1.1.0.yaml").write_text(
        yaml.safe_dump(
            worker(changelog=[], examples=[{"name": "many", "spec": {"parameters": {"args": "--not-a-list"}}}])
        )
    )
    (tdir / "broken.yml").write_text("kind: [\n")
    (tdir / "notes.txt").write_text("not a template file")
    code, out, _ = run(capsys, "template", "lint", str(tdir))
    path = tdir / "worker-1.1.0.yaml"
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{tdir / 'broken.yml'}: not valid YAML: ")
    assert lines[-3:] == [
        f"{path}: AppTemplate worker@1.1.0, example many (spec.examples[0]): spec.parameters.args: "
        "'--not-a-list' is not of type 'array'",
        f"{path}: AppTemplate worker@1.1.0: spec.changelog has no entry for 1.1.0; add "
        "- {version: 1.1.0, note: what changed and what apps must do}",
        f"{tdir}: 1 AppTemplate, 1 example: 3 problems",
    ]


def test_lint_checks_versions_against_a_published_directory(
    tdir: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    published = tmp_path_factory.mktemp("published")
    (published / "worker-2.0.0.yaml").write_text(yaml.safe_dump(worker("2.0.0")))
    code, out, _ = run(capsys, "template", "lint", "--published", str(published), str(tdir))
    assert (
        code == 1
        and (
            "spec.version 1.1.0 is not greater than 2.0.0, the newest published version of worker; "
            "use e.g. 2.0.1 or 2.1.0"
        )
        in out
    )


def test_lint_of_a_missing_or_empty_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "template", "lint", str(tmp_path / "nope"))
    assert code == 2 and err == (
        f"microapp: {tmp_path / 'nope'}: not a directory; pass the directory that holds the AppTemplate files\n"
    )
    code, _, err = run(capsys, "template", "test", str(tmp_path))
    assert code == 2 and "no *.yaml or *.yml files" in err


def test_golden_files_are_created_compared_and_diffed(tdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    golden = tdir / "golden" / "worker@1.1.0" / "queue-consumer.yaml"
    code, out, _ = run(capsys, "template", "test", str(tdir))
    assert code == 1 and out.splitlines() == [
        f"{golden}: missing; create it with `microapp template test {tdir} --update`, review it and commit it",
        f"{tdir}: 1 example, 0 match their golden files, 1 failed",
    ]

    code, out, _ = run(capsys, "template", "test", str(tdir), "--update")
    assert (code, out.splitlines()[0]) == (0, f"wrote {golden}")
    rendered = yaml.safe_load_all(golden.read_text())
    deployment = next(o for o in rendered if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2 and deployment["metadata"]["name"] == "queue-consumer"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == ["--queue", "orders"]

    code, out, _ = run(capsys, "template", "test", str(tdir))
    assert (code, out.splitlines()) == (
        0,
        ["ok golden/worker@1.1.0/queue-consumer.yaml", f"{tdir}: 1 example, 1 match their golden files, 0 failed"],
    )

    obj = worker(
        examples=[{"name": "queue-consumer", "spec": {"replicas": 3, "parameters": {"args": ["--queue", "orders"]}}}]
    )
    (tdir / "worker-1.1.0.yaml").write_text(yaml.safe_dump(obj))
    code, out, _ = run(capsys, "template", "test", str(tdir))
    assert code == 1
    assert out.startswith(
        f"{tdir / 'worker-1.1.0.yaml'}: AppTemplate worker@1.1.0, example queue-consumer: "
        f"the rendered objects differ from {golden}:\n--- {golden} (golden)\n+++ {golden} (rendered now)\n"
    )
    assert "\n-  replicas: 2\n+  replicas: 3\n" in out
    assert f"if the change is intended run `microapp template test {tdir} --update` and commit the golden file" in out


def test_stale_golden_files_fail_until_updated(tdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "template", "test", str(tdir), "--update")
    stale = tdir / "golden" / "worker@1.0.0" / "gone.yaml"
    stale.parent.mkdir()
    stale.write_text("{}\n")
    code, out, _ = run(capsys, "template", "test", str(tdir))
    assert code == 1 and f"{stale}: no example renders to it any more; delete it or run" in out
    code, out, _ = run(capsys, "template", "test", str(tdir), "--update")
    assert code == 0 and f"removed {stale} (no example renders to it any more)" in out and not stale.exists()
    assert f"unchanged {tdir / 'golden' / 'worker@1.1.0' / 'queue-consumer.yaml'}" in out


def test_an_example_that_does_not_render_fails_the_test(tdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tdir / "worker-1.1.0.yaml").write_text(
        yaml.safe_dump(worker(examples=[{"name": "x", "spec": {"parameters": {"y": 1}}}]))
    )
    code, out, _ = run(capsys, "template", "test", str(tdir), "--update")
    assert code == 1 and out.startswith(
        f"{tdir / 'worker-1.1.0.yaml'}: AppTemplate worker@1.1.0, example x: does not render: spec.parameters: "
        "Additional properties are not allowed ('y' was unexpected)"
    )
    assert f"`microapp template lint {tdir}` says more" in out


def test_the_builtin_templates_render_their_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path in BUILTIN_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path)
    code, out, _ = run(capsys, "template", "test", str(tmp_path), "--update")
    assert code == 0 and out.splitlines()[-1] == f"{tmp_path}: 18 examples, 18 written or unchanged, 0 failed"
    knative = yaml.safe_load_all((tmp_path / "golden" / "serverless-function@1.0.0" / "warm.yaml").read_text())
    service = next(o for o in knative if o["kind"] == "Service" and o["apiVersion"] == "serving.knative.dev/v1")
    assert service["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"] == "1"
