"""``microapp catalog [QUERY]``: search the cluster's templates (or, offline, the built-in ones).

The search and the output are pure (``presentation.search``); this module only chooses where the
templates come from and reads them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import yaml

from ..api import types as api
from ..api.kinds import APPTEMPLATE
from ..core import catalog
from ..presentation import search
from . import cluster, files

FORMATS: dict[str, Callable[[list[search.Entry]], str]] = {
    "text": search.details,
    "table": search.table,
    "json": lambda found: json.dumps([search.as_data(e) for e in found], indent=2) + "\n",
    "yaml": lambda found: yaml.safe_dump([search.as_data(e) for e in found], sort_keys=False),
}


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    cat = sub.add_parser(
        "catalog",
        parents=parents,
        help="search the templates by name, description and tags; show parameters and examples",
    )
    cat.add_argument(
        "query", nargs="*", metavar="QUERY", help="words that must all occur, case-insensitive (none: every template)"
    )
    cat.add_argument(
        "--offline",
        action="store_true",
        help="the built-in catalog (plus --template-dir) instead of the cluster's AppTemplates",
    )
    cat.add_argument(
        "--output",
        "-o",
        choices=tuple(FORMATS),
        default="text",
        help="text: everything with one example (default); table: one line per template; "
        "json, yaml: everything, every example as a MicroApp",
    )
    cat.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the matching templates; exit 1 with a hint when none matches."""
    query = " ".join(args.query)
    templates = (
        files.templates(args.template_dir)
        if args.offline
        else files.with_template_dir(cluster_templates(), args.template_dir)
    )
    where = "the built-in catalog" if args.offline else "the cluster's catalog"
    if not templates:
        print(f"{args.prog}: {where} is empty; install the templates (make install) or try --offline", file=sys.stderr)
        return 1
    found = search.search(templates, query)
    if not found:
        print(
            f"{args.prog}: no template in {where} matches {query!r} (all words must occur in the name, description "
            "or tags); `microapp catalog` without a query lists every template",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(FORMATS[args.output](found))
    return 0


def cluster_templates() -> list[api.AppTemplateSpec]:
    """The AppTemplates of the cluster of $KUBECONFIG (or the in-cluster config)."""
    listed = cluster.read(
        lambda kube: kube.list(APPTEMPLATE), what="AppTemplates", hint="use --offline for the built-in catalog"
    )
    return catalog.index(listed.get("items") or [])
