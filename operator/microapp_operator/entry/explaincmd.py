"""``microapp explain NAME``: one screen on one app, read from the cluster of $KUBECONFIG.

This module only reads (the MicroApp, then its children, Pods, TeamBudgets and the
PlatformPolicy together, then the Events about them) and prints; what it all means is
``presentation.explain`` (the view model) and ``presentation.explaintext`` (the screen). A read
refused with 403 past the MicroApp itself is passed on as ``DENIED`` (that part shows as not
readable), so a viewer of the app still gets an answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from ..api.kinds import EVENT, MICROAPP, PLATFORMPOLICY, POD, RESOURCES, TEAMBUDGET, entry_id
from ..core.status import selector
from ..presentation import explain, explaintext
from . import cluster

if TYPE_CHECKING:
    from ..runtime.kube import Kube

T = TypeVar("T")
WIDTH = (60, 120)  # the text is laid out for a terminal between these widths
EVENT_QUERIES = 10  # past this many names, one list of the namespace's Events is cheaper


def add_parser(sub: Any) -> None:
    cmd = sub.add_parser(
        "explain",
        help="one screen on an app: what is not ready and why, cost against its "
        "budgets, policy findings, lifecycle dates, the next command",
    )
    cmd.add_argument("name", metavar="NAME", help="the MicroApp")
    cmd.add_argument("--namespace", "-n", help="its namespace (default: the kubeconfig context's, else default)")
    cmd.add_argument(
        "--output",
        "-o",
        choices=("text", "json"),
        default="text",
        help="text: one screen (default); json: every field, for scripts",
    )
    cmd.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="auto: colour on a terminal unless NO_COLOR is set (default)",
    )
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the explanation; exit 1 when there is no such MicroApp."""
    ns = args.namespace or context_namespace()
    seen = cluster.read(lambda kube: gather(kube, ns, args.name), what=f"MicroApp {ns}/{args.name}")
    if seen is None:
        print(
            f"{args.prog}: MicroApp {ns}/{args.name} not found; kubectl get microapps -n {ns} lists the apps "
            "there (-n NAMESPACE for another namespace)",
            file=sys.stderr,
        )
        return 1
    expl = explain.build(seen.pop("app"), **seen, now=datetime.now(UTC))
    if args.output == "json":
        sys.stdout.write(json.dumps(explain.as_data(expl), indent=2) + "\n")
    else:
        sys.stdout.write(explaintext.render(expl, width=width(), colour=colour(args.color, sys.stdout)))
    return 0


def context_namespace() -> str:
    """The namespace of the kubeconfig's current context, as kubectl would use it; else default."""
    from ..runtime.credentials import context_namespace

    return context_namespace()


def width() -> int:
    return min(max(shutil.get_terminal_size((80, 24)).columns, WIDTH[0]), WIDTH[1])


def colour(choice: str, out: TextIO) -> bool:
    """always, never, or (auto) on a terminal unless NO_COLOR (no-color.org) or TERM=dumb."""
    if choice != "auto":
        return choice == "always"
    return out.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


async def gather(kube: Kube, ns: str, name: str, *, shared: tuple[Any, Any] | None = None) -> dict[str, Any] | None:
    """Everything ``explain.build`` takes, or None if the MicroApp does not exist. ``shared``: the
    TeamBudgets and the PlatformPolicy's spec already at hand (the portal's cache), not read again."""
    app = await kube.get(MICROAPP, ns, name)
    if app is None:
        return None
    st = app.get("status") or {}
    keys = [entry_id(e) for e in st.get("inventory") or []]
    children = await asyncio.gather(
        *(_optional(kube.get(RESOURCES[k[:2]], ns, k[2])) if k[:2] in RESOURCES else _denied() for k in keys)
    )
    pods, budgets, policy = await asyncio.gather(
        _optional(_items(kube.list(POD, namespace=ns, label_selector=st.get("selector") or selector(name)))),
        _given(shared[0]) if shared else _optional(_items(kube.list(TEAMBUDGET))),
        _given({"spec": shared[1]}) if shared else _optional(kube.get(PLATFORMPOLICY, None, "default")),
    )
    names = {name} | {k[2] for k in keys}
    if not isinstance(pods, explain.NotReadable):
        names |= {
            n
            for p in pods
            for n in [p["metadata"]["name"]] + [o.get("name", "") for o in p["metadata"].get("ownerReferences") or []]
        }
    events = await _optional(_events(kube, ns, names))
    return {
        "app": app,
        "children": dict(zip(keys, children)),
        "pods": pods,
        "budgets": budgets,
        "policy": (policy.get("spec") or {}) if isinstance(policy, dict) else policy,
        "events": events,
    }


async def _events(kube: Kube, ns: str, names: set[str]) -> list[dict[str, Any]]:
    """The Events about these objects (presentation.explain filters again, by name)."""
    if len(names) > EVENT_QUERIES:
        return await _items(kube.request("GET", EVENT.path(ns)))
    found = await asyncio.gather(
        *(
            _items(kube.request("GET", EVENT.path(ns), query={"fieldSelector": f"involvedObject.name={n}"}))
            for n in sorted(names)
        )
    )
    return [e for items in found for e in items]


async def _items(listing: Awaitable[dict[str, Any]]) -> list[dict[str, Any]]:
    return list((await listing).get("items") or [])


async def _optional(read: Awaitable[T]) -> T | explain.NotReadable:
    """The read, or DENIED if the cluster refuses it (401/403); other errors end the command."""
    from ..runtime.kube import KubeError

    try:
        return await read
    except KubeError as exc:
        if exc.status in (401, 403):
            return explain.DENIED
        raise


async def _given(value: T) -> T:
    return value


async def _denied() -> explain.NotReadable:
    """An inventory kind this CLI has no path for (an operator newer than the CLI)."""
    return explain.DENIED
