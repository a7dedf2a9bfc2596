"""My apps' reads: each namespace's MicroApps as one signed-in identity may list them, kept
current by a watch made as that identity (impersonated, never the portal's own rights, never a
cluster-wide list or watch).

A page or its live fragment then reads memory instead of asking the API server for every app
every few seconds: the list is paid once per person and namespace, the watch brings each change.
A feed is keyed by the exact identity (user and groups), so one person's feed never serves
another. The API server authorizes the watch again each time it is renewed (every ``REWATCH``
seconds), so a revoked RoleBinding takes effect within that time; a feed nobody asked for in
``IDLE`` seconds is stopped. Each app's row is computed once per resourceVersion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from ...api.kinds import MICROAPP
from ...presentation.myapps import AppRow
from ...runtime.kube import Kube, KubeError, impersonating
from .auth import Identity

log = logging.getLogger(__name__)
REWATCH = 60  # seconds a watch lasts before it is asked (and authorized) again
IDLE = 300.0  # seconds without a request before a feed stops
REFUSED_FOR = 5.0  # seconds a refusal is remembered before the API server is asked again
FIRST_LIST = 30.0  # seconds a page waits for a feed's first list
RELIST = 5.0  # seconds between lists for someone who may list but not watch
MAX_FEEDS = 2000
Key = tuple[str, tuple[str, ...], str]


def _kept(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without what no row reads and that weighs most: managedFields and kubectl's
    last-applied copy of the spec."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    notes = meta.get("annotations") or {}
    if "kubectl.kubernetes.io/last-applied-configuration" in notes:
        meta["annotations"] = {
            k: v for k, v in notes.items() if k != "kubectl.kubernetes.io/last-applied-configuration"
        }
    return {**obj, "metadata": meta}


class Feed:
    """One namespace's MicroApps as one identity sees them."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.items: dict[str, dict[str, Any]] = {}
        self.rows: dict[str, tuple[str, object, AppRow]] = {}  # name -> (resourceVersion, policy key, row)
        self.refused: str | None = None
        self.refused_at = 0.0
        self.failed: KubeError | None = None
        self.used = time.monotonic()
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"feed {self.namespace}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def stale(self, now: float) -> bool:
        return self.refused is not None and now - self.refused_at > REFUSED_FOR

    async def _list(self) -> str:
        listing = await self.kube.request("GET", MICROAPP.path(self.namespace), timeout=120)
        self.items = {o["metadata"]["name"]: _kept(o) for o in listing.get("items") or []}
        return str((listing.get("metadata") or {}).get("resourceVersion", ""))

    async def run(self) -> None:
        """List, then watch from there; list again when the watch's version has expired (410)."""
        version: str | None = None
        while True:
            try:
                if version is None:
                    version = await self._list()
                    self.ready.set()
                try:
                    version = await self._watch(version)
                except KubeError as exc:
                    if exc.status not in (401, 403):
                        raise
                    await asyncio.sleep(RELIST)  # may list but not watch: list again now and then
                    version = None
            except KubeError as exc:
                if exc.status in (401, 403):
                    self.items, self.rows = {}, {}
                    self.refused = (
                        f"you may not list MicroApps in namespace {self.namespace}: ask your team's namespace admin"
                    )
                    self.refused_at = time.monotonic()
                    self.ready.set()
                    return
                if not self.ready.is_set():  # the first list failed: the page says so at once
                    self.failed = exc
                    self.ready.set()
                    return
                version = None if exc.status == 410 else version
                log.warning("feed read failed namespace=%s status=%s error=%s", self.namespace, exc.status, exc.message)
                await asyncio.sleep(1)
            except Exception as exc:  # (a malformed answer: never a feed that waits forever)
                log.exception("feed read broke namespace=%s", self.namespace)
                if not self.ready.is_set():
                    self.failed = KubeError(502, f"the API server's answer could not be read: {exc}")
                    self.ready.set()
                    return
                version = None
                await asyncio.sleep(1)

    async def _watch(self, version: str) -> str | None:
        """Apply the watch's events until it ends; the version to go on from (None: list again)."""
        async for event in self.kube.watch(
            MICROAPP, namespace=self.namespace, label_selector="", resource_version=version, timeout_seconds=REWATCH
        ):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                return None if obj.get("code") == 410 else version
            meta = obj.get("metadata") or {}
            version = str(meta.get("resourceVersion") or version)
            if kind == "DELETED":
                self.items.pop(meta.get("name", ""), None)
            elif kind in ("ADDED", "MODIFIED"):
                self.items[meta["name"]] = _kept(obj)
        return version

    def rows_of(self, policy_key: object, make: Callable[[dict[str, Any]], AppRow]) -> list[AppRow]:
        """Each app's row, computed again only when the app or the policy changed."""
        out, kept = [], {}
        for name, obj in self.items.items():
            version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
            found = self.rows.get(name)
            if found is None or found[0] != version or found[1] != policy_key:
                found = (version, policy_key, make(obj))
            kept[name] = found
            out.append(found[2])
        self.rows = kept
        return out


class Feeds:
    """The feeds of everyone signed in, by identity and namespace."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.feeds: dict[Key, Feed] = {}

    async def get(self, ident: Identity, namespace: str) -> Feed:
        """The identity's feed of ``namespace``, once its first list is in."""
        now = time.monotonic()
        await self._sweep(now)
        key = (ident.user, tuple(sorted(ident.groups)), namespace)
        feed = self.feeds.get(key)
        if feed is None or feed.stale(now):
            if feed is not None:
                await feed.stop()
            feed = self.feeds[key] = Feed(impersonating(self.kube, ident.user, ident.groups), namespace)
            feed.start()
        feed.used = now
        try:
            await asyncio.wait_for(feed.ready.wait(), FIRST_LIST)
        except TimeoutError:
            raise KubeError(504, f"listing MicroApps in namespace {namespace} took over {FIRST_LIST:.0f}s") from None
        if feed.failed is not None:
            self.feeds.pop(key, None)
            raise feed.failed
        return feed

    async def _sweep(self, now: float) -> None:
        idle = [k for k, f in self.feeds.items() if now - f.used > IDLE or (f.task is not None and f.task.done())]
        if len(self.feeds) - len(idle) >= MAX_FEEDS:  # the least recently used first
            idle += sorted(set(self.feeds) - set(idle), key=lambda k: self.feeds[k].used)[: len(self.feeds) // 10]
        for key in idle:
            feed = self.feeds.pop(key)
            if feed.refused is None or feed.stale(now):
                await feed.stop()
            else:
                self.feeds[key] = feed  # a fresh refusal is kept a few seconds

    async def close(self) -> None:
        for feed in self.feeds.values():
            await feed.stop()
        self.feeds.clear()
