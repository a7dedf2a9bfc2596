"""The ``microapp`` command (also ``kubectl microapp``): run the operator, offline tools that call
the same core, the template catalog and the platform team's template checks."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..api import chartvalues, crdgen
from ..api import types as api
from ..core import catalog, cost, dashboards, guardrails, lifecycle, plan, pricing
from ..core.render import RenderError
from . import catalogcmd, completion, diffcmd, explaincmd, files, run, templatecmd
from .files import UsageError
from .portal import cmd as portalcmd

_REQUIRED_ANNOTATIONS = (api.OWNER_ANNOTATION, api.TEAM_ANNOTATION)
_EXAMPLES: dict[str, Any] = {"object": {}, "array": [], "integer": 0, "number": 0, "boolean": False}


def _cmd_crds(args: argparse.Namespace) -> int:
    """Write (or, with --check, compare) the generated CRDs in every output directory."""
    outputs = [Path(o) for o in args.output or ["crds"]]
    if args.check:
        stale = [
            out / name
            for out in outputs
            for name, text in crdgen.render_all().items()
            if not (out / name).exists() or (out / name).read_text() != text
        ]
        for out in args.dashboards or []:
            stale += [
                Path(out) / name
                for name, text in dashboards.render_all().items()
                if not (Path(out) / name).exists() or (Path(out) / name).read_text() != text
            ]
        if args.values_schema and (
            not Path(args.values_schema).exists() or Path(args.values_schema).read_text() != chartvalues.render()
        ):
            stale.append(Path(args.values_schema))
        for path in stale:
            print(f"{path}: differs from the API types; run 'make crds' and commit", file=sys.stderr)
        return 1 if stale else 0
    for out in outputs:
        for path in crdgen.write_all(out):
            print(f"wrote {path}")
    for out in args.dashboards or []:
        for path in dashboards.write_all(Path(out)):
            print(f"wrote {path}")
    if args.values_schema:
        Path(args.values_schema).write_text(chartvalues.render())
        print(f"wrote {args.values_schema}")
    return 0


def problems(
    app: dict[str, Any], templates: list[api.AppTemplateSpec], policy: api.PlatformPolicySpec | None = None
) -> list[str]:
    """Everything wrong with one MicroApp, offline: each problem names its field. With a
    policy, its guardrails too (the same function the webhook and the reconciler call)."""
    meta = app["metadata"]
    found = (
        []
        if policy
        else [
            f"metadata.annotations.{key} is required"
            for key in _REQUIRED_ANNOTATIONS
            if not (meta.get("annotations") or {}).get(key)
        ]
    )
    if len(meta["name"]) > 53:
        found.append("metadata.name: at most 53 characters")
    objects, parsed = None, None
    try:
        parsed = plan.parse(app)
        objects = plan.desired(parsed, templates, policy=policy).objects
    except plan.PlanError as exc:
        found += exc.problems
    if policy is not None:
        found = guardrails.evaluate(plan.AppMeta.of(app), parsed.spec if parsed else None, objects, policy) + found
    return found


def _cmd_validate(args: argparse.Namespace) -> int:
    """Print every problem of every MicroApp in the files; exit 1 if there is any."""
    templates = files.templates(args.template_dir)
    policy = files.policy(args.policy) if args.policy else None
    bad = 0
    for path in args.files:
        for app in files.microapps(path):
            meta = app["metadata"]
            found = problems(app, templates, policy)
            for problem in found:
                print(f"{path}: MicroApp {meta['namespace']}/{meta['name']}: {problem}")
            bad += bool(found)
            if not found:
                rules = lifecycle.settings(plan.parse(app).spec.lifecycle, policy.lifecycle if policy else None)
                print(
                    f"{path}: MicroApp {meta['namespace']}/{meta['name']}: valid; lifecycle: {lifecycle.explain(rules)}"
                )
    return 1 if bad else 0


def _cmd_render(args: argparse.Namespace) -> int:
    """Print the objects that would be applied (without ownerReferences: no cluster here)."""
    templates = files.templates(args.template_dir)
    docs = []
    for app in files.microapps(args.file):
        try:
            docs += list(plan.desired(plan.parse(app), templates).objects)
        except plan.PlanError as exc:
            raise UsageError(f"{args.file}: MicroApp {app['metadata']['name']}: {exc.message}") from None
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    """The monthly cost and its breakdown, with the numbers the admission webhook uses."""
    templates = files.templates(args.template_dir)
    policy = files.policy(args.policy) if args.policy else None
    prices = pricing.sheet(policy)
    for app in files.microapps(args.file):
        meta = app["metadata"]
        try:
            est = pricing.price(plan.parse(app), templates, policy, prices=prices).estimate
        except plan.PlanError as exc:
            raise UsageError(f"{args.file}: MicroApp {meta['name']}: {exc.message}") from None
        except RenderError as exc:
            raise UsageError(f"{args.file}: MicroApp {meta['name']}: {exc}") from None
        print(f"MicroApp {meta['namespace']}/{meta['name']}: estimated {est.monthly} {est.currency}/month")
        print(
            f"  {'object':28} {'container':10} {'replicas':>8} {'cpu':>6} {'GiB':>6} {'cpu $':>8} {'mem $':>8} "
            f"{'gpu $':>8} {'disk $':>8} {'total':>9}"
        )
        for ln in est.lines:
            print(
                f"  {ln.object:28} {ln.container:10} {ln.replicas:>8.2f} {ln.cpu_cores:>6.3f} "
                f"{ln.memory_gib:>6.3f} {cost.money(ln.cpu):>8} {cost.money(ln.memory):>8} "
                f"{cost.money(ln.gpu):>8} {cost.money(ln.storage):>8} {cost.money(ln.total):>9}"
            )
        for note in est.assumptions:
            print(f"  assumption: {note}")
    print(
        f"prices: {prices.currency}, {prices.hours_per_month} h/month, CPU {prices.cpu_core_hour}/core-h, "
        f"memory {prices.memory_gib_hour}/GiB-h, GPU {prices.gpu_hour}/h, storage {prices.storage_gib_month}/GiB-month"
    )
    return 0


def _cmd_new(args: argparse.Namespace) -> int:
    """A commented MicroApp to start from, with the template's parameters and defaults."""
    templates = files.templates(args.template_dir)
    try:
        res = catalog.resolve(args.template, templates)
    except catalog.ResolutionError as exc:
        raise UsageError(str(exc)) from None
    text = skeleton(args, res)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def skeleton(args: argparse.Namespace, res: catalog.Resolution) -> str:
    t = res.template
    d = t.defaults or api.TemplateDefaults()
    r = d.resources or api.Resources()
    lines = [
        f"# {t.template_name}@{t.version} ({t.runtime}): {t.description or ''}".rstrip(),
        "# Check it with `microapp validate FILE`, preview with `microapp render FILE`.",
        "apiVersion: microapp.dev/v1alpha1",
        "kind: MicroApp",
        "metadata:",
        f"  name: {args.name}",
        f"  namespace: {args.namespace}",
        "  annotations:",
        f"    microapp.dev/owner: {args.owner}        # required: your user name as the cluster knows it",
        f"    microapp.dev/team: {args.team}          # required: a team of the PlatformPolicy",
        "    microapp.dev/cost-center: CC-0000       # required when the platform asks for it",
        '    # microapp.dev/editors: "user:bob@example.com, group:my-team"',
        "spec:",
        f"  template: {t.template_name}@^{t.version.split('.')[0]}",
        "  image: registry.internal/TEAM/APP:1.0.0   # required",
        f"  replicas: {d.replicas if d.replicas is not None else 1}",
        f"  resources: {{cpu: {r.cpu or '100m'}, memory: {r.memory or '128Mi'}}}",
        f"  port: {d.port or 8080}",
        "  expose: internal                          # none | internal | public (public needs host and approval)",
    ]
    props = (t.parameters or {}).get("properties") or {}
    required = set((t.parameters or {}).get("required") or [])
    if props:  # (commented out too when every parameter is optional: an empty key is null)
        lines.append(("  " if required else "  # ") + "parameters:")
        for name, sub in props.items():
            sub = sub if isinstance(sub, dict) else {}
            note = sub.get("description") or sub.get("type", "")
            flag = "required" if name in required else "optional"
            value = sub.get("default", _EXAMPLES.get(str(sub.get("type")), ""))
            prefix = "" if name in required else "# "
            lines.append(f"    {prefix}{name}: {json.dumps(value)}    # {flag}: {note}".rstrip())
    lines.append('  # budget: {monthlyLimit: "40"}')
    lines.append("  # lifecycle: {idleAfter: 7d, retireAfter: 30d, onRetire: Archive}")
    return "\n".join(lines) + "\n"


def build_parser(prog: str = "microapp") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.set_defaults(prog=prog)  # commands name themselves as typed in their messages
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run.add_parser(sub)

    crds = sub.add_parser("crds", help="generate the CRDs from the API types")
    files.dir_argument(
        crds.add_argument("--output", "-o", action="append", help="directory, repeatable (default crds/)")
    )
    files.dir_argument(
        crds.add_argument(
            "--dashboards",
            action="append",
            metavar="DIR",
            help="also write the platform Grafana dashboards here (repeatable)",
        )
    )
    files.file_argument(
        crds.add_argument("--values-schema", metavar="FILE", help="also write the Helm chart's values.schema.json here")
    )
    crds.add_argument(
        "--check", action="store_true", help="exit 1 if the files in --output differ from a fresh generation"
    )
    crds.set_defaults(func=_cmd_crds)

    tdir = argparse.ArgumentParser(add_help=False)
    files.dir_argument(
        tdir.add_argument("--template-dir", help="directory of AppTemplate YAML files (added to the built-in ones)")
    )
    _offline_parsers(sub, tdir)
    catalogcmd.add_parser(sub, [tdir])
    diffcmd.add_parser(sub)
    explaincmd.add_parser(sub)
    templatecmd.add_parser(sub)
    portalcmd.add_parser(sub)
    completion.add_parser(sub, parser)
    return parser


def _offline_parsers(sub: Any, tdir: argparse.ArgumentParser) -> None:
    """validate, render, estimate and new: MicroApp files, no cluster."""
    validate = sub.add_parser("validate", parents=[tdir], help="check MicroApp files offline (exit 1 on problems)")
    files.file_argument(validate.add_argument("files", nargs="+", metavar="FILE", help="YAML files ('-' for stdin)"))
    files.file_argument(
        validate.add_argument("--policy", help="PlatformPolicy file: also check its guardrails, teams and namespaces")
    )
    validate.set_defaults(func=_cmd_validate)

    rend = sub.add_parser("render", parents=[tdir], help="print the objects a MicroApp file renders to")
    files.file_argument(rend.add_argument("file", metavar="FILE", help="YAML file ('-' for stdin)"))
    rend.set_defaults(func=_cmd_render)

    est = sub.add_parser("estimate", parents=[tdir], help="monthly cost and breakdown of a MicroApp file")
    files.file_argument(est.add_argument("file", metavar="FILE", help="YAML file ('-' for stdin)"))
    files.file_argument(
        est.add_argument("--policy", help="PlatformPolicy file for prices (default: OpenCost's price sheet)")
    )
    est.set_defaults(func=_cmd_estimate)

    new = sub.add_parser("new", parents=[tdir], help="write a commented MicroApp to start from")
    new.add_argument("name", help="app name (lower case, at most 53 characters)")
    new.add_argument("--template", "-t", required=True, help="template, e.g. web-service (microapp catalog lists them)")
    new.add_argument("--namespace", "-n", default="default")
    new.add_argument("--team", default="TEAM")
    new.add_argument("--owner", default="you@example.com")
    files.file_argument(new.add_argument("--output", "-o", help="file to write (default: stdout)"))
    new.set_defaults(func=_cmd_new)


def prog_name(argv0: str) -> str:
    """``kubectl microapp`` when run as the kubectl plugin, so help and errors show what was typed."""
    return "kubectl microapp" if Path(argv0).name.startswith("kubectl-microapp") else "microapp"


def main(argv: Sequence[str] | None = None) -> int:
    prog = prog_name(sys.argv[0])
    args = build_parser(prog).parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2


def kubectl_complete() -> int:
    """The ``kubectl_complete-microapp`` executable (kubectl's plugin completion protocol)."""
    return completion.kubectl_complete(lambda: build_parser("kubectl microapp"))


if __name__ == "__main__":
    raise SystemExit(main())
