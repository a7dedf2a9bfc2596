"""An in-memory Kubernetes API with the same interface as ``runtime.kube.Kube``, for unit tests
of the shell (work queue, informer cache, reconciler, manager). Integration tests use the real
control plane; this fake only stores objects, streams watch events and injects faults.

``tests/unit/test_fake_kube.py`` checks that its public methods keep Kube's signatures.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from microapp_operator.api.kinds import EVENT, RESOURCES, Resource
from microapp_operator.runtime.kube import KubeError, resource_of

Store = dict[tuple[str, str], dict[str, Any]]


class FakeKube:
    def __init__(self) -> None:
        self.objects: dict[Resource, Store] = {}
        self.writes = 0
        self.calls: list[tuple[str, str, str, str]] = []  # (verb, kind, namespace, name)
        self.absent: set[Resource] = set()  # kinds whose CRD is not installed: 404
        self.failures: dict[str, list[KubeError]] = {}  # verb -> errors raised by the next calls
        self.events: list[dict[str, Any]] = []
        self._rv = itertools.count(1)
        self._watchers: dict[Resource, list[asyncio.Queue[dict[str, Any] | None]]] = {}
        self._history: dict[Resource, list[tuple[int, dict[str, Any]]]] = {}  # what a watch from an rv replays

    # --- test controls ------------------------------------------------------------------

    def fail(self, verb: str, *errors: KubeError) -> None:
        """The next calls of ``verb`` (get, apply, delete, patch_status, list, watch) raise these."""
        self.failures.setdefault(verb, []).extend(errors)

    def put(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace an object as another client would (notifies watchers)."""
        res = resource_of(obj)
        stored = copy.deepcopy(dict(obj))
        meta = stored.setdefault("metadata", {})
        meta["resourceVersion"] = str(next(self._rv))
        meta.setdefault("uid", f"uid-{meta['name']}-{meta['resourceVersion']}")
        meta.setdefault("generation", 1)
        key = (meta.get("namespace", ""), meta["name"])
        kind = "MODIFIED" if key in self.objects.setdefault(res, {}) else "ADDED"
        self.objects[res][key] = stored
        self._emit(res, {"type": kind, "object": copy.deepcopy(stored)})
        return stored

    def remove(self, res: Resource, namespace: str, name: str) -> None:
        obj = self.objects.get(res, {}).pop((namespace, name), None)
        if obj is not None:
            obj["metadata"]["resourceVersion"] = str(next(self._rv))
            self._emit(res, {"type": "DELETED", "object": obj})

    def expire(self, res: Resource, code: int = 410) -> None:
        """An ERROR event on every stream: 410 Gone (the client must relist), or another failure."""
        self._emit(
            res,
            {
                "type": "ERROR",
                "object": {"code": code, "message": "too old resource version" if code == 410 else "internal error"},
            },
        )

    def drop_watches(self, res: Resource) -> None:
        """The server closes every stream of this kind (as on a restart)."""
        for queue in self._watchers.get(res, []):
            queue.put_nowait(None)

    def stored(self, res: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(res, {}).get((namespace, name))

    def watching(self, res: Resource) -> int:
        return len(self._watchers.get(res, []))

    # --- the Kube interface -------------------------------------------------------------

    async def close(self) -> None:
        return None

    async def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        self._call("get", res, namespace or "", name)
        obj = self.stored(res, namespace or "", name)
        return copy.deepcopy(obj) if obj is not None else None

    async def apply(self, obj: Mapping[str, Any], *, force: bool = True) -> dict[str, Any]:
        res = resource_of(obj)
        meta = obj["metadata"]
        self._call("apply", res, meta.get("namespace", ""), meta["name"], write=True)
        live = self.stored(res, meta.get("namespace", ""), meta["name"])
        if live is not None and not force:  # (a real server conflicts only on fields others set)
            raise KubeError(409, f"Apply failed with 1 conflict: conflict with another manager for {meta['name']}")
        merged = {**copy.deepcopy(dict(obj)), **({"status": live["status"]} if live and "status" in live else {})}
        if live is not None:
            merged["metadata"] = {
                **merged["metadata"],
                "uid": live["metadata"]["uid"],
                "generation": live["metadata"].get("generation", 1) + 1,
            }
        return self.put(merged)

    async def create(self, obj: Mapping[str, Any], *, counted: bool = True) -> dict[str, Any]:
        res, meta = resource_of(obj), obj["metadata"]
        self._call("create", res, meta.get("namespace", ""), meta["name"], write=counted)
        if self.stored(res, meta.get("namespace", ""), meta["name"]) is not None:
            raise KubeError(409, f"{res.plural} {meta['name']!r} already exists")
        return copy.deepcopy(self.put(obj))

    async def replace(self, obj: Mapping[str, Any], *, counted: bool = True) -> dict[str, Any]:
        res, meta = resource_of(obj), obj["metadata"]
        self._call("replace", res, meta.get("namespace", ""), meta["name"], write=counted)
        live = self.stored(res, meta.get("namespace", ""), meta["name"])
        if live is None:
            raise KubeError(404, f"{res.plural} {meta['name']!r} not found")
        if meta.get("resourceVersion") != live["metadata"]["resourceVersion"]:
            raise KubeError(
                409,
                f"Operation cannot be fulfilled on {res.plural} {meta['name']!r}: "
                "the object has been modified; please apply your changes to the latest version",
            )
        return copy.deepcopy(self.put({**obj, "metadata": {**meta, "uid": live["metadata"]["uid"]}}))

    async def merge_patch(
        self,
        res: Resource,
        namespace: str,
        name: str,
        patch: Mapping[str, Any],
        *,
        strategic: bool = False,
        counted: bool = True,
    ) -> dict[str, Any]:
        self._call("merge_patch", res, namespace, name, write=counted)
        live = self.stored(res, namespace, name)
        if live is None:
            raise KubeError(404, f"{res.plural} {name!r} not found")
        expected = (patch.get("metadata") or {}).get("resourceVersion")
        if expected is not None and expected != live["metadata"]["resourceVersion"]:  # a precondition, as served
            raise KubeError(
                409, f"Operation cannot be fulfilled on {res.plural} {name!r}: the object has been modified"
            )
        return copy.deepcopy(self.put(_merge(live, patch, strategic=strategic)))

    async def delete(self, res: Resource, namespace: str, name: str, *, uid: str | None = None) -> bool:
        self._call("delete", res, namespace, name, write=True)
        live = self.stored(res, namespace, name)
        if live is None:
            return False
        if uid is not None and live["metadata"].get("uid") != uid:
            return False
        self.remove(res, namespace, name)
        return True

    async def patch_status(self, res: Resource, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self._call("patch_status", res, namespace, name, write=True)
        live = self.stored(res, namespace, name)
        if live is None:
            raise KubeError(404, f'{res.plural} "{name}" not found')
        merged = {**(live.get("status") or {}), **{k: v for k, v in status.items() if v is not None}}
        for k in [k for k, v in status.items() if v is None]:
            merged.pop(k, None)
        self.put({**live, "status": copy.deepcopy(merged)})

    async def event(self, involved: Mapping[str, Any], *, type_: str, reason: str, message: str, now: datetime) -> None:
        self._call("event", EVENT, involved["metadata"]["namespace"], involved["metadata"]["name"], write=True)
        self.events.append({"type": type_, "reason": reason, "message": message, "name": involved["metadata"]["name"]})

    async def list(
        self, res: Resource, *, label_selector: str = "", namespace: str | None = None, metadata_only: bool = False
    ) -> dict[str, Any]:
        self._call("list", res, namespace or "", "")
        if res in self.absent:
            raise KubeError(404, "the server could not find the requested resource")
        items = [
            copy.deepcopy({"metadata": o["metadata"]} if metadata_only else o)
            for o in self.objects.get(res, {}).values()
            if _matches(o, label_selector) and namespace in (None, o["metadata"].get("namespace"))
        ]
        return {"items": items, "metadata": {"resourceVersion": str(self._current())}}

    async def pages(
        self, res: Resource, *, label_selector: str = "", namespace: str | None = None, limit: int = 500
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """The listing in pages of ``limit`` (each page a "list" call, as each is a request)."""
        listing = await self.list(res, label_selector=label_selector, namespace=namespace)
        items, rv = listing["items"], listing["metadata"]["resourceVersion"]
        yield items[:limit], rv
        for start in range(limit, len(items), limit):
            self._call("list", res, namespace or "", "")
            yield items[start : start + limit], rv

    async def watch(
        self,
        res: Resource,
        *,
        label_selector: str,
        resource_version: str,
        timeout_seconds: int = 290,
        namespace: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        self._call("watch", res, namespace or "", "")
        if res in self.absent:
            raise KubeError(404, "the server could not find the requested resource")
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        for rv, event in self._history.get(res, []):  # events since resource_version, as the server does
            if rv > int(resource_version or 0):
                queue.put_nowait(copy.deepcopy(event))
        self._watchers.setdefault(res, []).append(queue)
        try:
            while True:
                event = await queue.get()
                if event is None:
                    return
                obj = event.get("object") or {}
                within = namespace is None or (obj.get("metadata") or {}).get("namespace") == namespace
                if event["type"] == "ERROR" or (within and _matches(obj, label_selector)):
                    yield event
        finally:
            self._watchers[res].remove(queue)

    # --- internals ----------------------------------------------------------------------

    def _call(self, verb: str, res: Resource, namespace: str, name: str, *, write: bool = False) -> None:
        self.calls.append((verb, res.kind, namespace, name))
        if write:
            self.writes += 1
        pending = self.failures.get(verb)
        if pending:
            raise pending.pop(0)

    def _current(self) -> int:
        value = next(self._rv)
        self._rv = itertools.count(value + 1)
        return value

    def _emit(self, res: Resource, event: dict[str, Any]) -> None:
        if event["type"] != "ERROR":
            rv = int(event["object"]["metadata"]["resourceVersion"])
            self._history.setdefault(res, []).append((rv, copy.deepcopy(event)))
        for queue in self._watchers.get(res, []):
            queue.put_nowait(copy.deepcopy(event))


def _merge(base: Mapping[str, Any], patch: Mapping[str, Any], *, strategic: bool = False) -> dict[str, Any]:
    """RFC 7386: null removes a key, mappings merge, anything else replaces; ``strategic``:
    lists of mappings merge item by item on ``name`` (as for webhooks and containers)."""
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value, strategic=strategic)
        elif strategic and isinstance(value, list) and isinstance(out.get(key), list):
            by_name = {item.get("name"): item for item in value if isinstance(item, Mapping)}
            out[key] = [
                _merge(item, by_name[item.get("name")], strategic=True) if item.get("name") in by_name else item
                for item in out[key]
            ]
        else:
            out[key] = copy.deepcopy(value)
    return out


def _matches(obj: Mapping[str, Any], selector: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


__all__ = ["FakeKube", "RESOURCES"]
