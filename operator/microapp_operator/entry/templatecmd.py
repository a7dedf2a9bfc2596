"""``microapp template lint DIR`` and ``microapp template test DIR [--update]``: what a
platform team runs in CI on its AppTemplate files before publishing them.

The checks are pure (``presentation.templatelint``); this module reads the files, writes golden files
and prints. Every message names the file, the template, the example and the fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..api import types as api
from ..core import catalog, plan
from ..presentation import templatelint
from . import files
from .files import UsageError


def add_parser(sub: Any) -> None:
    tpl = sub.add_parser("template", help="check AppTemplate files before publishing them (platform teams)")
    tsub = tpl.add_subparsers(dest="template_command", required=True, metavar="COMMAND")
    policy = argparse.ArgumentParser(add_help=False)
    files.file_argument(
        policy.add_argument(
            "--policy",
            help="PlatformPolicy file whose guardrails the examples must pass (default: the built-in defaults)",
        )
    )

    lint = tsub.add_parser(
        "lint",
        parents=[policy],
        help="schema, examples, rendered objects, guardrails, versions and changelog (exit 1 on problems)",
    )
    files.dir_argument(lint.add_argument("dir", metavar="DIR", help="directory of AppTemplate YAML files"))
    files.dir_argument(
        lint.add_argument(
            "--published", metavar="DIR", help="AppTemplate files already published (default: the built-in catalog)"
        )
    )
    lint.set_defaults(func=run_lint)

    test = tsub.add_parser(
        "test",
        parents=[policy],
        help="render every example and compare with DIR/golden/TEMPLATE@VERSION/EXAMPLE.yaml (exit 1 on a difference)",
    )
    files.dir_argument(test.add_argument("dir", metavar="DIR", help="directory of AppTemplate YAML files"))
    test.add_argument("--update", action="store_true", help="write the golden files from the current output")
    test.set_defaults(func=run_test)


def _sources(directory: str) -> tuple[list[templatelint.Source], list[str]]:
    """Every YAML document of the directory's files, and a finding per unreadable file."""
    paths = files.yaml_files(directory)
    if not paths:
        raise UsageError(f"{directory}: no *.yaml or *.yml files; pass the directory that holds the AppTemplate files")
    sources, found = [], []
    for path in paths:
        try:
            sources += [templatelint.Source(str(path), doc) for doc in files.load(path)]
        except UsageError as exc:
            found.append(str(exc))
    return sources, found


def _policy(args: argparse.Namespace) -> api.PlatformPolicySpec:
    return files.policy(args.policy) if args.policy else api.PlatformPolicySpec()


def run_lint(args: argparse.Namespace) -> int:
    """Print every problem, then a summary; exit 1 if there is any."""
    sources, found = _sources(args.dir)
    published = files.with_template_dir([], args.published) if args.published else catalog.builtin()
    found += templatelint.lint(sources, published, _policy(args))
    templates, _ = templatelint.parse(sources)
    for problem in found:
        print(problem)
    count = sum(len(t.spec.examples or []) for t in templates)
    verdict = _count(len(found), "problem") if found else "ok"
    print(f"{args.dir}: {_count(len(templates), 'AppTemplate')}, {_count(count, 'example')}: {verdict}")
    return 1 if found else 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def run_test(args: argparse.Namespace) -> int:
    """Compare (or with --update write) the golden file of every example."""
    sources, found = _sources(args.dir)
    templates, problems = templatelint.parse(sources)
    for problem in found + problems:
        print(problem)
    policy, root = _policy(args), Path(args.dir)
    results = [_one(t, ex, root, policy, args) for t in templates for ex in t.spec.examples or []]
    expected = {root / templatelint.golden_path(t.spec, ex) for t in templates for ex in t.spec.examples or []}
    stale = _stale(root, expected, update=args.update, directory=args.dir)
    failed = len(found) + len(problems) + results.count(False) + stale
    print(
        f"{args.dir}: {_count(len(results), 'example')}, {results.count(True)} "
        f"{'written or unchanged' if args.update else 'match their golden files'}, {failed} failed"
    )
    return 1 if failed else 0


def _one(
    t: templatelint.Template,
    example: api.TemplateExample,
    root: Path,
    policy: api.PlatformPolicySpec,
    args: argparse.Namespace,
) -> bool:
    """One example against its golden file; True when it matches (or was written)."""
    rel = templatelint.golden_path(t.spec, example)
    path, where = root / rel, f"{t.where}, example {example.name}"
    try:
        _, result = templatelint.render(t.spec, example, policy)
    except plan.PlanError as exc:
        print(f"{where}: does not render: {exc.message}; `microapp template lint {args.dir}` says more")
        return False
    actual = templatelint.rendered_text(result.objects)
    if args.update:
        return _write(path, actual)
    if not path.exists():
        print(f"{path}: missing; create it with `microapp template test {args.dir} --update`, review it and commit it")
        return False
    diff = templatelint.diff(path.read_text(), actual, str(path))
    if diff:
        print(f"{where}: the rendered objects differ from {path}:")
        sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in diff)
        print(
            f"fix the template, or if the change is intended run `microapp template test {args.dir} --update` "
            "and commit the golden file"
        )
        return False
    print(f"ok {rel}")
    return True


def _write(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        print(f"unchanged {path}")
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")
    return True


def _stale(root: Path, expected: set[Path], *, update: bool, directory: str) -> int:
    """Golden files no example renders to any more: removed with --update, else failures."""
    stale = sorted(p for p in (root / "golden").glob("*/*.yaml") if p not in expected)
    for path in stale:
        if update:
            path.unlink()
            print(f"removed {path} (no example renders to it any more)")
        else:
            print(
                f"{path}: no example renders to it any more; delete it or run "
                f"`microapp template test {directory} --update`"
            )
    return 0 if update else len(stale)
