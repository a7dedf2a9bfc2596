"""Searching the template catalog and showing what was found (pure): ``microapp catalog``.

A query matches a template when every word occurs, case-insensitively, in its name, its
description or its tags (any version). Each hit shows the version a new app gets (the
newest non-deprecated), all versions newest first, the parameters and ready-to-apply examples.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import yaml

from ..api import types as api
from ..core import catalog
from . import examples


@dataclass(frozen=True)
class Entry:
    """One template name of the catalog with all its versions."""

    versions: tuple[api.AppTemplateSpec, ...]  # newest first

    @property
    def name(self) -> str:
        return self.versions[0].template_name

    @property
    def shown(self) -> api.AppTemplateSpec:
        """The version a new app gets: the newest non-deprecated one (else the newest)."""
        return next((t for t in self.versions if not t.deprecated), self.versions[0])

    def version_labels(self) -> list[str]:
        return [t.version + (" (deprecated)" if t.deprecated else "") for t in self.versions]

    def text(self) -> str:
        """What a query is matched against, lower case."""
        words = [self.name] + [f"{t.description or ''} {' '.join(t.tags or [])}" for t in self.versions]
        return " ".join(words).lower()


def entries(templates: Iterable[api.AppTemplateSpec]) -> list[Entry]:
    """The catalog grouped by template name, names sorted, versions newest first."""
    ordered = sorted(templates, key=lambda t: t.template_name)
    return [Entry(tuple(catalog.newest_first(group))) for _, group in groupby(ordered, key=lambda t: t.template_name)]


def search(templates: Iterable[api.AppTemplateSpec], query: str) -> list[Entry]:
    """The templates matching every word of ``query`` (all of them for an empty query); a
    word in the template's name ranks it first."""
    words = query.lower().split()
    hits = [e for e in entries(templates) if all(w in e.text() for w in words)]
    return sorted(hits, key=lambda e: (not any(w in e.name for w in words), e.name))


def as_data(entry: Entry) -> dict[str, Any]:
    """An entry for ``-o json|yaml``: everything, every example as a full MicroApp."""
    t = entry.shown
    return {
        "name": entry.name,
        "version": t.version,
        "versions": entry.version_labels(),
        "runtime": t.runtime,
        "tags": list(t.tags or []),
        "description": t.description or "",
        "parameters": [p.as_dict() for p in examples.parameters(t.parameters)],
        "examples": [
            {"name": ex.name, "description": ex.description or "", "microapp": examples.app(t, ex)}
            for ex in t.examples or []
        ],
    }


def table(found: list[Entry]) -> str:
    """One line per template, for scanning."""
    rows = [("NAME", "VERSIONS", "RUNTIME", "TAGS", "DESCRIPTION")]
    rows += [
        (
            e.name,
            ",".join(t.version for t in e.versions),
            e.shown.runtime,
            ",".join(e.shown.tags or []),
            e.shown.description or "",
        )
        for e in found
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "".join(_row(r, widths) + "\n" for r in rows)


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    """Columns padded to ``widths``, the last one free, no trailing blanks."""
    return (" ".join(c.ljust(w) for c, w in zip(cells, widths)) + f" {cells[-1]}").rstrip()


def details(found: list[Entry]) -> str:
    """Everything about each template: the default view of ``microapp catalog``."""
    return "\n".join(_detail(e) for e in found)


def _detail(entry: Entry) -> str:
    t = entry.shown
    lines = [
        f"{entry.name} {t.version} ({t.runtime})",
        f"  {t.description or '(no description)'}",
        f"  versions: {', '.join(entry.version_labels())}",
        f"  tags: {', '.join(t.tags or []) or '-'}",
    ]
    lines += _parameter_lines(examples.parameters(t.parameters))
    shown = list(t.examples or [])
    if not shown:
        lines.append(f"  example: none; start from `microapp new APP -t {entry.name}`")
    for i, ex in enumerate(shown):
        lines.append(f"  example {ex.name}: {ex.description or ''}".rstrip())
        if i == 0:
            text = yaml.safe_dump(examples.app(t, ex), sort_keys=False, default_flow_style=False)
            lines += ["    " + ln for ln in text.splitlines()]
    if len(shown) > 1:
        lines.append(f"  (`microapp catalog {entry.name} -o yaml` prints every example as a MicroApp)")
    return "\n".join(lines) + "\n"


def _parameter_lines(params: list[examples.Param]) -> list[str]:
    if not params:
        return ["  parameters: none"]
    rows = [("NAME", "TYPE", "DEFAULT", "REQUIRED", "DESCRIPTION")]
    rows += [
        (
            p.name,
            p.type,
            "-"
            if p.default is None
            else yaml.safe_dump(p.default, default_flow_style=True).removesuffix("\n...\n").strip(),
            "yes" if p.required else "no",
            p.description,
        )
        for p in params
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  parameters:"] + ["    " + _row(r, widths) for r in rows]
