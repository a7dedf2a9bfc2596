"""`microapp explain`: the shell's own choices (namespace, colour, width); the screen itself is
tested in tests/unit/core/test_explain.py, the cluster reads in tests/integration/test_explain.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from microapp_operator.entry import cli, explaincmd


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_namespace_defaults_to_the_kubeconfig_context_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "dev",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {"token": "x"}}],
        "contexts": [
            {"name": "dev", "context": {"cluster": "c", "user": "u", "namespace": "team-finance"}},
            {"name": "bare", "context": {"cluster": "c", "user": "u"}},
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert explaincmd.context_namespace() == "team-finance"
    path.write_text(yaml.safe_dump({**config, "current-context": "bare"}))
    assert explaincmd.context_namespace() == "default"
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    assert explaincmd.context_namespace() == "default"


@pytest.mark.parametrize(
    "choice,tty,env,expected",
    [
        ("always", False, {}, True),
        ("never", True, {}, False),
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"TERM": "dumb"}, False),
    ],
    ids=["always", "never", "terminal", "pipe", "NO_COLOR", "dumb-terminal"],
)
def test_colour_only_on_a_terminal_that_wants_it(
    choice: str, tty: bool, env: dict[str, str], expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert explaincmd.colour(choice, Terminal() if tty else io.StringIO()) is expected


@pytest.mark.parametrize("columns,expected", [(40, 60), (80, 80), (100, 100), (300, 120)])
def test_the_width_follows_the_terminal_within_bounds(
    columns: int, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert explaincmd.width() == expected


def test_the_command_and_its_options() -> None:
    args = cli.build_parser().parse_args(["explain", "shop", "-n", "team-finance", "-o", "json", "--color", "never"])
    assert (args.name, args.namespace, args.output, args.color, args.func) == (
        "shop",
        "team-finance",
        "json",
        "never",
        explaincmd.run,
    )
    assert cli.build_parser().parse_args(["explain", "shop"]).namespace is None
