"""``microapp diff FILE``: what ``kubectl apply -f FILE`` would change, before it is applied.

For each MicroApp in the files: a server-side dry run (the API server's defaults, the CRD
schema and our admission webhook all answer, nothing is stored), then the reconcile decision
the operator would take for the result, with the cluster's catalog, policy and team budget
(``core.reconcile.decide``, the operator's own function), compared with the live MicroApp and
its live children (``presentation.diff``). Exit 0: nothing would change; 1: something would; 2: an
apply would be refused, or the command could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..api import types as api
from ..api.kinds import (
    APPTEMPLATE,
    KNATIVE_SERVICE,
    MICROAPP,
    PLATFORMPOLICY,
    PODMONITOR,
    RESOURCES,
    TEAMBUDGET,
    entry_id,
)
from ..core import budget, catalog, cost, reconcile
from ..presentation import diff
from . import cluster, explaincmd, files

if TYPE_CHECKING:
    from ..runtime.kube import Kube

DRY_RUN_MANAGER = "kubectl"  # the field manager of `kubectl apply --server-side`
_OPTIONAL_KINDS = (KNATIVE_SERVICE, PODMONITOR)  # kinds whose CRD a cluster may lack


def add_parser(sub: Any) -> None:
    d = sub.add_parser(
        "diff",
        help="what kubectl apply -f FILE would change: the MicroApp, every rendered child, "
        "cost and policy findings (exit 1 when something would change)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    files.file_argument(d.add_argument("files", nargs="+", metavar="FILE", help="YAML files ('-' for stdin)"))
    d.add_argument(
        "--namespace",
        "-n",
        help="namespace of MicroApps whose file names none "
        "(default: the kubeconfig context's, else default, as kubectl)",
    )
    d.add_argument("--output", "-o", choices=("text", "json"), default="text")
    d.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="auto: colour on a terminal unless NO_COLOR is set",
    )
    d.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    namespace = args.namespace or explaincmd.context_namespace()
    apps = [app for path in args.files for app in files.microapps(path, namespace)]
    now = datetime.now(UTC)
    reports = cluster.read(lambda kube: _reports(kube, apps, now), what="the MicroApps, catalog and policy")
    if args.output == "json":
        print(json.dumps([diff.as_data(r) for r in reports], indent=2))
    else:
        colour = explaincmd.colour(args.color, sys.stdout)
        sys.stdout.write("\n".join(diff.text(r, colour=colour) for r in reports))
        print(f"{diff.changed(reports)} of {len(reports)} MicroApp(s) would change")
    if any(r.outcome == "refused" for r in reports):
        return 2
    return 1 if any(r.differs for r in reports) else 0


class Snapshot:
    """What every app's decision reads from the cluster, read once for all the files' apps."""

    def __init__(
        self,
        templates: list[api.AppTemplateSpec],
        policy: api.PlatformPolicySpec,
        budgets: dict[str, tuple[budget.TeamBudget, Mapping[str, Any]]],
        absent: frozenset[tuple[str, str]],
    ):
        self.templates = templates
        self.policy = policy
        self.prices = cost.Prices.from_policy(policy.pricing)
        self.budgets = budgets
        self.absent = absent

    def world(self, team: str, live_app: Mapping[str, Any] | None) -> reconcile.World:
        """The operator's view for one app: the team's budget with the rest of the team committed."""
        tb, status = self.budgets.get(team, (None, {}))
        committed = diff.decimal(status.get("committedMonthly")) or Decimal(0)
        mine = diff.decimal(
            (((live_app or {}).get("status") or {}).get("cost") or {}).get("estimatedMonthly")
        ) or Decimal(0)
        return reconcile.World(
            templates=tuple(self.templates),
            policy=self.policy,
            prices=self.prices,
            podmonitor=PODMONITOR.key not in self.absent,
            budget=tb,
            committed_others=max(committed - mine, Decimal(0)),
            absent=self.absent,
        )


async def snapshot(kube: Kube) -> Snapshot:
    templates = catalog.index((await kube.list(APPTEMPLATE)).get("items") or [])
    found = await kube.get(PLATFORMPOLICY, None, "default")
    policy = api.PlatformPolicySpec.model_validate((found or {}).get("spec") or {})
    budgets: dict[str, tuple[budget.TeamBudget, dict]] = {}
    items = (await kube.list(TEAMBUDGET)).get("items") or []
    for item in sorted(items, key=lambda i: (i["metadata"].get("creationTimestamp") or "", i["metadata"]["name"])):
        tb = budget.TeamBudget.from_spec(item.get("spec") or {})
        budgets.setdefault(tb.team, (tb, item.get("status") or {}))  # the oldest is in force, as in the operator
    absent = frozenset([res.key for res in _OPTIONAL_KINDS if not await _served(kube, res)])
    return Snapshot(templates, policy, budgets, absent)


async def _served(kube: Kube, res: Any) -> bool:
    from ..runtime.kube import KubeError

    try:
        listed = await kube.request("GET", f"/apis/{res.api_version}")
    except KubeError as exc:
        if exc.status == 404:
            return False
        raise
    return any(r.get("name") == res.plural for r in (listed or {}).get("resources") or ())


async def _reports(kube: Kube, apps: list[dict[str, Any]], now: datetime) -> list[diff.Report]:
    snap = await snapshot(kube)
    return [await _report(kube, snap, app, now) for app in apps]


async def _report(kube: Kube, snap: Snapshot, app: dict[str, Any], now: datetime) -> diff.Report:
    from ..runtime.kube import KubeError

    meta = app["metadata"]
    ns, name = meta["namespace"], meta["name"]
    live_app = await kube.get(MICROAPP, ns, name)
    try:
        after = await kube.request(
            "PATCH",
            MICROAPP.path(ns, name),
            body=without_nulls(app),
            counted=False,
            query={"fieldManager": DRY_RUN_MANAGER, "force": "true", "dryRun": "All"},
            content_type="application/apply-patch+yaml",
        )
    except KubeError as exc:
        if exc.status in (400, 403, 404, 409, 422):
            return diff.refused(ns, name, exc.message, new=live_app is None)
        raise
    return await compared(kube, snap, live_app, after, now)


async def compared(
    kube: Kube, snap: Snapshot, live_app: dict[str, Any] | None, after: dict[str, Any], now: datetime
) -> diff.Report:
    """The report for ``after`` (a dry run's answer) against ``live_app`` and its children as
    ``kube`` may read them: the operator's decision with ``snap``'s catalog, policy and budgets."""
    team = ((after.get("metadata") or {}).get("annotations") or {}).get(api.TEAM_ANNOTATION, "")
    old_status = (live_app or {}).get("status") or {}
    decision = reconcile.decide(body=after, old_status=old_status, world=snap.world(team, live_app), now=now)
    live, unreadable = await _children(kube, after["metadata"]["namespace"], decision, old_status)
    report = diff.compare(live_app=live_app, after=after, decision=decision, live=live, currency=snap.prices.currency)
    return replace(
        report,
        children=tuple(
            replace(c, action="unknown", lines=(), note="not readable with your permissions")
            if (c.api_version, c.kind, c.name) in unreadable
            else c
            for c in report.children
        ),
    )


async def _children(
    kube: Kube, namespace: str, decision: reconcile.Decision, old_status: Mapping[str, Any]
) -> tuple[dict[diff.ChildKey, dict[str, Any]], set[diff.ChildKey]]:
    """The live objects the decision would apply or prune; the ones this user may not read."""
    from ..runtime.kube import KubeError

    keys = {diff.key_of(o) for o in getattr(decision, "objects", ())}
    keys |= {entry_id(e) for e in old_status.get("inventory") or ()}
    live: dict[diff.ChildKey, dict[str, Any]] = {}
    unreadable: set[diff.ChildKey] = set()
    for key in sorted(keys):
        res = RESOURCES.get(key[:2])
        if res is None:
            continue
        try:
            found = await kube.get(res, namespace, key[2])
        except KubeError as exc:  # (a kind whose CRD is missing answers 404: None, not an error)
            if exc.status != 403:
                raise
            unreadable.add(key)
            continue
        if found is not None:
            live[key] = found
    return live, unreadable


def without_nulls(value: Any) -> Any:
    """The document as kubectl sends it: a key whose value is empty in YAML (``parameters:``
    with every entry commented out) is left out, not sent as null, which the schema refuses."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value
