"""Reading the command line's files: YAML documents, the template catalog, a PlatformPolicy.

Every problem becomes a :class:`UsageError` that names the file and what to do; the command
prints it without a traceback and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import shtab
import yaml

from ..api import types as api
from ..core import catalog


def file_argument(action: argparse.Action) -> argparse.Action:
    """Mark an argument as a file path: shells complete file names for it."""
    action.complete = shtab.FILE  # type: ignore[attr-defined]
    return action


def dir_argument(action: argparse.Action) -> argparse.Action:
    """Mark an argument as a directory path: shells complete directory names for it."""
    action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
    return action


class UsageError(Exception):
    """A problem with the command line or its files: printed, exit code 2, no traceback."""


def load(path: Path | str) -> list[dict[str, Any]]:
    """The mapping documents of a YAML file ('-': stdin)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else Path(path).read_text()
        return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None


def microapps(path: str, namespace: str = "default") -> Iterator[dict[str, Any]]:
    """The MicroApps of a file, each with a namespace (``namespace`` where the file names none,
    as kubectl would use the context's) and a name."""
    docs = [d for d in load(path) if d.get("kind") == "MicroApp"]
    if not docs:
        raise UsageError(f"{path}: no MicroApp in the file")
    for doc in docs:
        meta = doc.setdefault("metadata", {})
        meta.setdefault("namespace", namespace)
        meta.setdefault("name", "unnamed")
        yield doc


def yaml_files(directory: Path | str) -> list[Path]:
    """The *.yaml and *.yml files directly in a directory, sorted."""
    path = Path(directory)
    if not path.is_dir():
        raise UsageError(f"{directory}: not a directory; pass the directory that holds the AppTemplate files")
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def with_template_dir(specs: list[api.AppTemplateSpec], template_dir: str | None) -> list[api.AppTemplateSpec]:
    """``specs`` plus (overriding the same name and version) the AppTemplate files of --template-dir."""
    merged = {(t.template_name, t.version): t for t in specs}
    for path in yaml_files(template_dir) if template_dir else []:
        for spec in catalog.index(d for d in load(path) if d.get("kind") == "AppTemplate"):
            merged[(spec.template_name, spec.version)] = spec
    return list(merged.values())


def templates(template_dir: str | None) -> list[api.AppTemplateSpec]:
    """The built-in catalog, plus (overriding) AppTemplate files from --template-dir."""
    return with_template_dir(catalog.builtin(), template_dir)


def policy(policy_file: str) -> api.PlatformPolicySpec:
    docs = [d for d in load(policy_file) if d.get("kind") == "PlatformPolicy"]
    if not docs:
        raise UsageError(f"{policy_file}: no PlatformPolicy in the file")
    try:
        return api.PlatformPolicySpec.model_validate(docs[0].get("spec") or {})
    except ValueError as exc:
        raise UsageError(f"{policy_file}: invalid PlatformPolicy: {exc}") from None
