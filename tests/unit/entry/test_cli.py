"""The offline CLI: new -> validate -> render, with the same core as the operator."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from microapp_operator.entry import cli
from tests.factories import microapp

ROOT = Path(__file__).resolve().parents[3]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "template", ["web-service", "worker", "scheduled-job", "serverless-function", "webhook-handler"]
)
def test_new_writes_a_skeleton_that_validates_once_filled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str
) -> None:
    path = tmp_path / "app.yaml"
    code, out, _ = run(capsys, "new", "shop", "-t", template, "-n", "team-a", "--team", "finance", "-o", str(path))
    assert code == 0 and f"wrote {path}" in out
    text = path.read_text()
    for key in ("microapp.dev/owner", "microapp.dev/team", "microapp.dev/cost-center"):
        assert key in text
    doc = yaml.safe_load(text)
    assert doc["spec"]["template"] == f"{template}@^1"
    # no empty `parameters:` (null, which the API server refuses) when every parameter is optional
    assert ("parameters" in doc["spec"]) == (template == "scheduled-job")
    assert None not in doc["spec"].values()
    if template == "scheduled-job":
        assert "required: Cron schedule" in text
        doc["spec"]["parameters"]["schedule"] = "@daily"
        path.write_text(yaml.safe_dump(doc))
    code, out, _ = run(capsys, "validate", str(path))
    assert (code, out.strip()) == (
        0,
        f"{path}: MicroApp team-a/shop: valid; lifecycle: never idled "
        "(no idleAfter in spec.lifecycle or the PlatformPolicy)",
    )


def test_validate_explains_the_effective_lifecycle_under_a_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = yaml.safe_load(run(capsys, "new", "shop", "-t", "worker", "-n", "team-finance", "--team", "finance")[1])
    app["metadata"]["annotations"]["microapp.dev/cost-center"] = "CC-1"
    app["spec"]["image"] = "registry.internal/finance/shop:1.0"
    app["spec"]["lifecycle"] = {"idleAfter": "7d", "onRetire": "Delete"}
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(app))
    code, out, _ = run(
        capsys, "validate", "--policy", str(ROOT / "manifests" / "policy" / "platformpolicy-default.yaml"), str(path)
    )
    assert code == 0, out
    assert "valid; lifecycle: idled after 7d without activity, retired " in out and "(Delete)" in out


def test_validate_lists_every_problem_with_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump_all(
            [
                microapp(
                    "a",
                    "n",
                    owner=None,
                    team=None,
                    template="scheduled-job",
                    image="r/x:1",
                    parameters={"schedule": "99 * * *", "x": 1},
                ),
                microapp("b", "n", owner="o", team="t", template="web-service", image="r/x:1", replicas=2000),
                microapp("c", "n", owner="o", team="t", template="web-service", image="r/x:1", expose="public"),
            ]
        )
    )
    code, out, _ = run(capsys, "validate", str(bad))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines == [
        f"{bad}: MicroApp n/a: metadata.annotations.microapp.dev/owner is required",
        f"{bad}: MicroApp n/a: metadata.annotations.microapp.dev/team is required",
        f"{bad}: MicroApp n/a: spec.parameters: Additional properties are not allowed ('x' was unexpected); "
        "remove it or check the template's parameters (kubectl get apptemplate -o yaml)",
        f"{bad}: MicroApp n/a: spec.parameters.schedule: '99 * * *' is not a cron schedule "
        "(five fields, e.g. '0 6 * * 1-5', or @daily)",
        f"{bad}: MicroApp n/b: spec.replicas: Input should be less than or equal to 1000",
        f"{bad}: MicroApp n/c: spec.expose: public needs spec.host (the public DNS name, e.g. expenses.example.com)",
    ]


def test_validate_samples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", *map(str, sorted((ROOT / "samples").glob("*.yaml"))))
    assert code == 0 and out.count(": valid") == 3


def test_render_prints_the_objects(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "render", str(ROOT / "samples" / "expense-approvals.yaml"))
    docs = list(yaml.safe_load_all(out))
    assert code == 0
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("ServiceAccount", "expense-approvals"),
        ("NetworkPolicy", "expense-approvals"),
        ("Deployment", "expense-approvals"),
        ("Service", "expense-approvals"),
        ("PodDisruptionBudget", "expense-approvals"),
        ("ConfigMap", "expense-approvals-otel"),
        ("ConfigMap", "expense-approvals-dashboard"),
    ]
    assert docs[2]["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.internal/finance/expenses:1.4.0"


def test_template_dir_adds_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tpl = yaml.safe_load((ROOT / "operator/microapp_operator/templates/worker-1.0.0.yaml").read_text())
    tpl["spec"].update(templateName="batch", version="2.0.0")
    (tmp_path / "batch.yaml").write_text(yaml.safe_dump(tpl))
    app = tmp_path / "app.yaml"
    app.write_text(
        yaml.safe_dump(
            {"kind": "MicroApp", "metadata": {"name": "x"}, "spec": {"template": "batch@^2", "image": "r/x:1"}}
        )
    )
    code, out, _ = run(capsys, "render", str(app), "--template-dir", str(tmp_path))
    assert code == 0 and "kind: Deployment" in out
    code, _, err = run(capsys, "render", str(app))
    assert code == 2 and "no template named 'batch'" in err


def test_usage_errors_are_messages_not_tracebacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", "/nonexistent.yaml")
    assert code == 2 and err.strip() == "microapp: /nonexistent.yaml: cannot read: No such file or directory"
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1\n")
    code, _, err = run(capsys, "render", str(broken))
    assert code == 2 and err.startswith(f"microapp: {broken}: not valid YAML")
    empty = tmp_path / "empty.yaml"
    empty.write_text("kind: ConfigMap\n")
    code, _, err = run(capsys, "validate", str(empty))
    assert code == 2 and "no MicroApp in the file" in err
    code, _, err = run(capsys, "new", "x", "-t", "nope")
    assert code == 2 and "no template named 'nope'" in err


def test_estimate_prints_the_webhooks_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "estimate",
        str(ROOT / "samples" / "expense-approvals.yaml"),
        "--policy",
        str(ROOT / "manifests" / "policy" / "platformpolicy-default.yaml"),
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "MicroApp team-finance/expense-approvals: estimated 15.78 USD/month"
    assert lines[2].split() == [
        "Deployment/expense-approvals",
        "app",
        "2.00",
        "0.250",
        "0.250",
        "11.54",
        "1.55",
        "0.00",
        "0.00",
        "13.08",
    ]
    assert lines[3].split()[:3] == ["Deployment/expense-approvals", "otel-collector", "2.00"]
    assert lines[-1].startswith("prices: USD, 730 h/month, CPU 0.031611/core-h")


def test_validate_with_policy_checks_guardrails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = str(ROOT / "manifests" / "policy" / "platformpolicy-default.yaml")
    code, out, _ = run(capsys, "validate", "--policy", policy, *map(str, sorted((ROOT / "samples").glob("*.yaml"))))
    assert code == 0 and out.count(": valid") == 3
    doc = yaml.safe_load((ROOT / "samples" / "expense-approvals.yaml").read_text())
    doc["spec"].update(image="docker.io/library/nginx:latest", replicas=20)
    doc["metadata"]["annotations"]["microapp.dev/editors"] = "group:system:masters"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    code, out, _ = run(capsys, "validate", "--policy", policy, str(bad))
    assert code == 1
    for message in (
        "'group:system:masters': system: users and groups cannot be granted access",
        "image 'docker.io/library/nginx:latest' is not from an allowed registry (registry.internal/)",
        "image 'docker.io/library/nginx:latest' has no fixed tag",
        "spec.replicas is 20; the platform allows at most 10 replicas",
    ):
        assert message in out, out
