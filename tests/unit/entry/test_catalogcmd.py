"""`microapp catalog`: the cluster's or (offline) the built-in templates, searched and shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from microapp_operator.core import catalog
from microapp_operator.entry import catalogcmd, cli

ROOT = Path(__file__).resolve().parents[3]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_offline_search_shows_versions_parameters_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "catalog", "--offline", "cron")
    assert (code, err) == (0, "")
    assert out.startswith("scheduled-job 1.0.1 (job)\n  Runs the image on a cron schedule")
    assert "  versions: 1.0.1, 1.0.0\n  tags: cron, job, batch, schedule, report\n" in out
    assert "    schedule              string (cron)        -       yes      Cron schedule" in out
    assert "    concurrencyPolicy     Allow|Forbid|Replace Forbid  no" in out
    example = out[out.index("    apiVersion:") : out.index("  example weekday-sync")]
    app = yaml.safe_load("\n".join(line[4:] for line in example.splitlines()))
    assert app["spec"] == {
        "template": "scheduled-job@^1",
        "image": "registry.internal/TEAM/APP:1.0.0",
        "parameters": {"schedule": "0 2 * * *", "timeZone": "Europe/Berlin"},
    }


def test_the_printed_example_validates_once_filled_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(run(capsys, "catalog", "--offline", "web-service", "-o", "json")[1])
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data[0]["examples"][1]["microapp"]))
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0 and "MicroApp default/autoscaled: valid" in out


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_data_output_has_every_template(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _ = run(capsys, "catalog", "--offline", "-o", fmt)
    data = json.loads(out) if fmt == "json" else yaml.safe_load(out)
    assert code == 0 and [d["name"] for d in data] == [
        "scheduled-job",
        "serverless-function",
        "web-service",
        "webhook-handler",
        "worker",
    ]
    assert all(d["examples"] and d["examples"][0]["microapp"]["kind"] == "MicroApp" for d in data)


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "catalog", "--offline", "-o", "table", "knative")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == [
        "NAME",
        "serverless-function",
        "webhook-handler",
    ]


def test_template_dir_adds_to_the_offline_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obj = next(o for o in catalog.builtin_objects() if o["spec"]["templateName"] == "worker")
    obj["spec"].update({"version": "1.1.0", "tags": ["queue", "kafka"]})
    (tmp_path / "worker-1.1.0.yaml").write_text(yaml.safe_dump(obj))
    code, out, _ = run(capsys, "catalog", "--offline", "--template-dir", str(tmp_path), "kafka")
    assert code == 0 and out.startswith("worker 1.1.0 (container)\n") and "  versions: 1.1.0, 1.0.1, 1.0.0\n" in out


def test_no_match_exits_1_naming_the_query(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "catalog", "--offline", "cron", "knative")
    assert (code, out) == (1, "")
    assert err == (
        "microapp: no template in the built-in catalog matches 'cron knative' (all words must occur in "
        "the name, description or tags); `microapp catalog` without a query lists every template\n"
    )


def test_the_cluster_catalog_is_read_through_the_shell(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = [t for t in catalog.builtin() if t.template_name == "worker"]
    monkeypatch.setattr(catalogcmd, "cluster_templates", lambda: cluster)
    code, out, _ = run(capsys, "catalog", "-o", "table")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == ["NAME", "worker"]
    code, _, err = run(capsys, "catalog", "cron")
    assert code == 1 and "no template in the cluster's catalog matches 'cron'" in err
    monkeypatch.setattr(catalogcmd, "cluster_templates", lambda: [])
    code, _, err = run(capsys, "catalog")
    assert code == 1 and "the cluster's catalog is empty; install the templates (make install) or try --offline" in err


def test_an_unreachable_cluster_is_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    code, out, err = run(capsys, "catalog", "web")
    assert (code, out) == (2, "")
    assert err == (
        f"microapp: cannot read AppTemplates: no kubeconfig at {tmp_path / 'missing-kubeconfig'}; set "
        "$KUBECONFIG to your cluster's kubeconfig (make demo writes .cluster/kubeconfig); use --offline "
        "for the built-in catalog\n"
    )
