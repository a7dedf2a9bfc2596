"""`kubectl microapp` and shell completion: the console scripts as installed, the shtab scripts,
and kubectl's plugin completion protocol (kubectl_complete-microapp)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from microapp_operator.entry import cli, completion

BIN = Path(sys.executable).parent
COMMANDS = (
    "run",
    "crds",
    "validate",
    "render",
    "estimate",
    "new",
    "catalog",
    "diff",
    "explain",
    "template",
    "portal",
    "completion",
)


def complete(*typed: str) -> tuple[list[str], int]:
    """What kubectl_complete-microapp answers for the words typed after `kubectl microapp`."""
    return completion.candidates(cli.build_parser("kubectl microapp"), typed[:-1], typed[-1])


def script(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed; run: .venv/bin/python -m pip install -e '.[test]'")
    return path


def test_the_kubectl_plugin_is_the_same_command_named_as_typed() -> None:
    result = subprocess.run([script("kubectl-microapp"), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: kubectl microapp [-h] COMMAND ...")
    for command in COMMANDS:
        assert f"\n    {command}" in result.stdout
    assert cli.prog_name("/usr/local/bin/kubectl-microapp") == "kubectl microapp"
    assert cli.prog_name("/usr/local/bin/microapp") == "microapp"


def test_the_plugin_reports_usage_errors_under_its_kubectl_name(tmp_path: Path) -> None:
    result = subprocess.run(
        [script("kubectl-microapp"), "template", "lint", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr == f"kubectl microapp: {tmp_path / 'nope'}: not a directory; pass the directory that "
        "holds the AppTemplate files\n"
    )


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_know_every_command(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["completion", shell]) == 0
    out = capsys.readouterr().out
    if shell == "bash":
        assert f"_shtab_microapp_subparsers=({' '.join(COMMANDS)})" in out
        assert "_shtab_microapp_template_subparsers=(lint test)" in out
        assert "_shtab_microapp_catalog_option_strings=(-h --help --template-dir --offline --output -o)" in out
        assert "_shtab_microapp_template_lint_pos_0_COMPGEN=_shtab_compgen_dirs" in out
        assert "complete -o bashdefault -F _shtab_microapp microapp" in out
    else:
        assert out.startswith("#compdef microapp")
        assert "catalog:'search the templates by name, description and tags" in out
        assert "lint:'schema, examples, rendered objects" in out


def test_subcommands_complete_with_their_help() -> None:
    found, directive = complete("ca")
    assert (found, directive) == (
        ["catalog\tsearch the templates by name, description and tags; show parameters and examples"],
        4,
    )
    assert [c.split("\t")[0] for c in complete("")[0]] == list(COMMANDS)
    assert [c.split("\t")[0] for c in complete("template", "")[0]] == ["lint", "test"]
    assert [c.split("\t")[0] for c in complete("template", "t")[0]] == ["test"]


def test_options_choices_files_and_directories() -> None:
    assert complete("template", "lint", "--p") == (["--policy", "--published"], 4)
    assert complete("catalog", "-o", "") == (["text", "table", "json", "yaml"], 4)
    assert complete("catalog", "--output=json", "--off") == (["--offline"], 4)
    assert complete("completion", "z") == (["zsh"], 4)
    assert complete("template", "lint", "") == ([], completion.FILTER_DIRS)
    assert complete("template", "lint", "--published", "") == ([], completion.FILTER_DIRS)
    assert complete("validate", "a.yaml", "") == ([], completion.DEFAULT)  # more files
    assert complete("validate", "--policy", "") == ([], completion.DEFAULT)
    assert complete("catalog", "") == ([], completion.NO_FILE)  # free words
    assert complete("nonsense", "") == ([], completion.NO_FILE)


def test_the_kubectl_complete_helper_speaks_cobras_protocol() -> None:
    result = subprocess.run(
        [script("kubectl_complete-microapp"), "template", "l"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "lint\tschema, examples, rendered objects, guardrails, versions and changelog (exit 1 on problems)\n:4\n"
    )


def test_a_completion_failure_prints_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    assert completion.kubectl_complete(broken, ["x"]) == 0  # type: ignore[arg-type]
    assert capsys.readouterr().out == ":4\n"


def test_kubectl_finds_the_plugin_and_its_completion(tmp_path: Path) -> None:
    """The whole chain with the real kubectl client (no cluster is contacted)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    script("kubectl_complete-microapp")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "KUBECONFIG": str(tmp_path / "none")}
    result = subprocess.run(
        [kubectl, "__complete", "microapp", "templ"], capture_output=True, text=True, env=env, timeout=60
    )
    assert "template\tcheck AppTemplate files before publishing them (platform teams)" in result.stdout
    result = subprocess.run(
        [kubectl, "microapp", "catalog", "--offline", "-o", "table", "cron"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.splitlines()[1].startswith("scheduled-job")
