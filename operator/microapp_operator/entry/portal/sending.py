"""How the portal's edit reaches the API server: a server-side apply as the user by field manager
``microapp-portal``, without force, at the resourceVersion read when the form opened.

A field another field manager holds is a :class:`Conflicted` (listed in words, never taken); a
409 because the app changed in what a person edits is :class:`Moved`; a 409 caused by the
status alone (the operator writes it while an app rolls out) is retried at the new
resourceVersion; the API server's other refusals read as :func:`refused` says.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ...api import types as api
from ...api.kinds import MICROAPP
from ...presentation import edit as model
from ...runtime.kube import Kube, KubeError
from .pages import FIELD_MANAGER, Outcome, as_user

MODIFIED = "the object has been modified"


def resource_version(app: dict[str, Any]) -> str:
    """The app's resourceVersion as read."""
    return str((app.get("metadata") or {}).get("resourceVersion") or "")


class Moved(Exception):
    """The app changed in what a person edits since the form was opened (a 409 that matters)."""

    def __init__(self, live: dict[str, Any]) -> None:
        super().__init__("changed meanwhile")
        self.live = live


class Sending:
    """The edit sent as the user at the resourceVersion read. A 409 caused by the status alone
    (the operator writes it as the app rolls out) is retried at the new resourceVersion; one
    caused by a change to labels, annotations or spec raises :class:`Moved`."""

    ATTEMPTS = 3

    def __init__(
        self,
        request: web.Request,
        live: dict[str, Any],
        after: dict[str, Any],
        paths: list[model.Path],
        template: api.AppTemplateSpec,
        *,
        target: Any,
        rv: str,
    ) -> None:
        self.request, self.live, self.after, self.paths = request, live, after, paths
        self.template, self.target, self.rv = template, target, rv
        self.base = model.view(live)

    async def send(self, *, dry_run: bool) -> dict[str, Any]:
        kube = as_user(self.request)
        for _ in range(self.ATTEMPTS):
            managed = (self.live.get("metadata") or {}).get("managedFields") or []
            try:
                if self.target is not None:  # through Git: its applier's fields are what a proposal changes
                    return await _dry_run_whole(kube, self.after, self.rv)
                held = model.portal_holds(managed)
                body = model.apply_config(self.after, paths=self.paths, held=held, resource_version=self.rv)
                return await _apply(kube, body, managed, self.paths, dry_run=dry_run, schema=self.template.parameters)
            except KubeError as exc:
                if exc.status != 409 or MODIFIED not in exc.message:
                    raise
            self.live = await _reread(self.request, self.live)
            if model.view(self.live) != self.base:
                raise Moved(self.live)
            self.rv = resource_version(self.live)
        raise Moved(self.live)


async def _reread(request: web.Request, live: dict[str, Any]) -> dict[str, Any]:
    meta = live["metadata"]
    return await as_user(request).get(MICROAPP, meta["namespace"], meta["name"]) or live


class Conflicted(Exception):
    """The apply would change fields another field manager holds: never forced."""

    def __init__(self, conflicts: list[model.Conflict], server: str) -> None:
        super().__init__(server)
        self.conflicts = conflicts
        self.server = server


async def _apply(
    kube: Kube,
    body: dict[str, Any],
    managed: list[dict[str, Any]],
    paths: list[model.Path],
    *,
    dry_run: bool,
    schema: dict[str, Any] | None,
) -> dict[str, Any]:
    """A server-side apply as the user, without force. When the API server names a conflict and
    every field in it is the portal's own earlier write (its create is an ``Update`` by
    ``microapp-portal``), the apply is sent again with force, still at the resourceVersion read,
    so nothing anyone else wrote since can be taken; a field any other manager holds raises
    :class:`Conflicted`."""
    meta = body["metadata"]
    query = {"fieldManager": FIELD_MANAGER, "force": "false", **({"dryRun": "All"} if dry_run else {})}
    send = dict(
        body=body,
        content_type="application/apply-patch+yaml",
        counted=False,
    )
    try:
        return await kube.request("PATCH", MICROAPP.path(meta["namespace"], meta["name"]), query=query, **send)
    except KubeError as exc:
        if exc.status != 409 or MODIFIED in exc.message:
            raise
        others = model.conflicts(managed, paths, schema=schema)
        if others:
            raise Conflicted(others, exc.message) from None
        if 'conflict with "' in exc.message and not only_portal(exc.message):
            raise Conflicted([], exc.message.splitlines()[0]) from None
        query["force"] = "true"
        return await kube.request("PATCH", MICROAPP.path(meta["namespace"], meta["name"]), query=query, **send)


async def _dry_run_whole(kube: Kube, after: dict[str, Any], rv: str) -> dict[str, Any]:
    """The edited app as its GitOps tool will apply it once merged, dry-run as the user
    (``dryRun=All``: nothing is stored, so taking the tool's fields here takes nothing)."""
    meta = after["metadata"]
    body = {**after, "metadata": {**meta, "resourceVersion": rv}}
    query = {"fieldManager": FIELD_MANAGER, "force": "true", "dryRun": "All"}
    path = MICROAPP.path(meta["namespace"], meta["name"])
    return await kube.request("PATCH", path, body=body, query=query, content_type="application/apply-patch+yaml")


def only_portal(text: str) -> bool:
    named = set(re.findall(r'conflicts? with "([^"]+)"', text))
    return bool(named) and named <= {model.PORTAL}


def refused(exc: KubeError, namespace: str, name: str) -> tuple[Outcome, list[str]]:
    """The API server's refusal in words, and the problems to place at their fields."""
    problems = [line.strip()[2:] for line in exc.message.splitlines() if line.strip().startswith("- ")]
    if exc.status == 403 and "admission webhook" not in exc.message:
        return (
            Outcome(
                "bad",
                "Not allowed",
                (
                    f"you may not change MicroApps in namespace {namespace}: ask the app's team for the role that "
                    "changes MicroApps there",
                    f"the API server said: {exc.message}",
                ),
            ),
            [],
        )
    if "admission webhook" in exc.message:
        return Outcome("bad", "Refused by the platform's policy", tuple(exc.message.splitlines())), problems
    return Outcome("bad", f"The cluster refused the change ({exc.status})", tuple(exc.message.splitlines())), problems
