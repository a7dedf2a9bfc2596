"""The operator's one small Kubernetes layer (async, aiohttp underneath; credentials from
``runtime.credentials``, which asks the ``kubernetes`` package's ``kubernetes.config``).

Server-side apply with field manager ``microapp-operator``, status merge patches, deletes,
Events, and raw list/watch streams for the label-filtered child cache. Paths come from the
static table in ``api.kinds``, so no discovery round-trips are needed. Every API error
becomes one :class:`KubeError` with the server's own message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDict
from yarl import URL

from ..api import types as api
from ..api.kinds import EVENT, RESOURCES, Resource
from .credentials import Auth, ConfigError, Login, load

FIELD_MANAGER = "microapp-operator"
USER_AGENT = "microapp-operator/0.1"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
log = logging.getLogger(__name__)


class KubeError(Exception):
    """An API error with the server's own message (e.g. a webhook or schema refusal): the one
    place that says which errors pass (transient: not reached, conflict, throttled, server
    trouble) and how long the server asked us to wait (``Retry-After``)."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.status in (0, 409, 429) or self.status >= 500

    @property
    def namespace_terminating(self) -> bool:
        """The namespace is being deleted: the app goes with it, nothing to report."""
        return self.status == 403 and "being terminated" in self.message


def resource_of(obj: Mapping[str, Any]) -> Resource:
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in RESOURCES:
        raise KubeError(400, f"the operator does not manage {key[1]} ({key[0]})")
    return RESOURCES[key]  # type: ignore[index]


class Kube:
    """A connection to the API server. Create with :meth:`connect`."""

    def __init__(self, auth: Auth, session: aiohttp.ClientSession, proxy: str | None = None) -> None:
        self.auth = auth
        self.session = session
        self.proxy = proxy
        self.extra_headers: tuple[tuple[str, str], ...] = ()  # sent with every request (see impersonating)
        self.writes = 0  # write requests sent (for tests and metrics)

    @classmethod
    async def connect(
        cls, login: Login | None = None, *, relogin: Callable[[], Login] | None = None, user_agent: str = USER_AGENT
    ) -> Kube:
        """In a Pod, its ServiceAccount; elsewhere ``$KUBECONFIG`` as it is now (read again after a
        401; a ``login`` given is renewed only by ``relogin``). Raises :class:`ConfigError`."""
        if login is None:
            login, relogin = await asyncio.to_thread(load), relogin or load
        # The session does not trust the environment: aiohttp would look up HTTPS_PROXY/NO_PROXY
        # and parse ~/.netrc (in a thread) on every request, a fifth of the operator's CPU at
        # 1,000 apps (py-spy). A proxy for the API server is read once instead.
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100), trust_env=False, headers={"User-Agent": user_agent}
        )
        return cls(Auth(login, relogin), session, login.proxy or env_proxy(login.server))

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float = 30,
        accept: str = "application/json",
        counted: bool = True,
        warnings: list[str] | None = None,
    ) -> Any:
        """One request; ``counted``: a write the reconcile counts; ``warnings`` gets the admission warnings."""
        if method != "GET" and counted:
            self.writes += 1
        data = None if body is None else orjson.dumps(body, default=str)
        async with self._send(
            method,
            path,
            query=list((query or {}).items()),
            data=data,
            timeout=timeout,
            headers={"Content-Type": content_type, "Accept": accept},
        ) as resp:
            with _translated():  # the connection can also break while the body is read
                payload = await resp.read()
            warnings is None or warnings.extend(_warning_text(w) for w in resp.headers.getall("Warning", []))
        if not 200 <= resp.status <= 299:
            raise KubeError(
                resp.status,
                _server_message(payload.decode(errors="replace")) or resp.reason or "",
                retry_after=_retry_after(resp.headers),
            )
        # orjson: faster, and it shares the str objects of repeated keys, so thousands of cached
        # objects do not each hold their own "metadata", "apiVersion", ...
        return orjson.loads(payload) if payload else None

    @contextlib.asynccontextmanager
    async def _send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]],
        data: bytes | None,
        timeout: float,
        headers: dict[str, str],
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response (released on exit). The token is asked for on every request (that is where
        the client refreshes it); a 401 leads to one new login (tokens rotate), then one retry."""
        for attempt in (1, 2):
            login = self.auth.login
            with _translated():
                auth = login.authorization()
                sent = [*headers.items(), *self.extra_headers, *([("Authorization", auth)] if auth else [])]
                resp = await self.session.request(
                    method,
                    login.server + path,
                    params=[(k, str(v)) for k, v in query],
                    data=data,
                    headers=CIMultiDict(sent),
                    proxy=self.proxy,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                    ssl=self.auth.ssl,
                    server_hostname=login.tls_server_name,
                )
            if resp.status == 401 and attempt == 1 and self.auth.renewable:
                resp.release()
                with _translated():
                    await self.auth.again(login)
                continue
            try:
                yield resp
            finally:
                resp.release()
            return

    async def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return await self.request("GET", res.path(namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def apply(self, obj: Mapping[str, Any], *, force: bool = True) -> dict[str, Any]:
        """Server-side apply. ``force`` takes the fields we set from other managers: only for
        objects this operator controls; a first apply is not forced (an object created by
        someone else meanwhile then conflicts instead of being taken over)."""
        res = resource_of(obj)
        meta = obj["metadata"]
        return await self.request(
            "PATCH",
            res.path(meta.get("namespace"), meta["name"]),
            body=dict(obj),
            query={"fieldManager": FIELD_MANAGER, "force": "true" if force else "false"},
            content_type="application/apply-patch+yaml",
        )

    async def create(self, obj: Mapping[str, Any], *, counted: bool = True) -> dict[str, Any]:
        """POST: 409 if it exists (for objects only one replica may make: the Lease, the CA)."""
        res, meta = resource_of(obj), obj["metadata"]
        return await self.request("POST", res.path(meta.get("namespace")), body=dict(obj), counted=counted)

    async def replace(self, obj: Mapping[str, Any], *, counted: bool = True) -> dict[str, Any]:
        """PUT at ``metadata.resourceVersion``: 409 if someone wrote it since we read it."""
        res, meta = resource_of(obj), obj["metadata"]
        return await self.request("PUT", res.path(meta.get("namespace"), meta["name"]), body=dict(obj), counted=counted)

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
        """A JSON merge patch, or a strategic one (lists merged by key), on the operator's own
        objects only (its Pod's label, its webhook configuration's caBundle), never users'."""
        kind = "strategic-merge-patch" if strategic else "merge-patch"
        return await self.request(
            "PATCH",
            res.path(namespace, name),
            body=dict(patch),
            content_type=f"application/{kind}+json",
            counted=counted,
        )

    async def delete(self, res: Resource, namespace: str, name: str, *, uid: str | None = None) -> bool:
        """Delete (background propagation); with ``uid`` only that exact object. False if gone."""
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            await self.request("DELETE", res.path(namespace, name), body=body)
            return True
        except KubeError as exc:
            if exc.status in (404, 409):
                return False
            raise

    async def patch_status(self, res: Resource, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        await self.request(
            "PATCH",
            res.path(namespace, name, "status"),
            body={"status": dict(status)},
            content_type="application/merge-patch+json",
        )

    async def event(self, involved: Mapping[str, Any], *, type_: str, reason: str, message: str, now: datetime) -> None:
        """A core/v1 Event on ``involved`` (best effort: a failed Event never fails a reconcile)."""
        body = event_body(involved, type_=type_, reason=reason, message=message, now=now)
        try:
            await self.request("POST", EVENT.path(body["metadata"]["namespace"]), body=body)
        except KubeError as exc:
            if not exc.namespace_terminating:
                log.warning("event not posted reason=%s error=%s", reason, exc)

    async def list(
        self, res: Resource, *, label_selector: str = "", namespace: str | None = None, metadata_only: bool = False
    ) -> dict[str, Any]:
        """All objects of a kind (in ``namespace`` if given); ``metadata_only``: their metadata
        alone (PartialObjectMetadataList), for name lookups that need no content."""
        query = {"labelSelector": label_selector} if label_selector else {}
        accept = METADATA_LIST if metadata_only else "application/json"
        return await self.request("GET", res.path(namespace), query=query, timeout=120, accept=accept)

    async def pages(
        self, res: Resource, *, label_selector: str = "", namespace: str | None = None, limit: int = 500
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """A list read ``limit`` objects at a time (as client-go's reflector reads it), yielding
        each page's items and the snapshot's resourceVersion. A caller keeps what it needs of a
        page before the next is read: 5,000 Deployments are never all decoded at once."""
        query: dict[str, Any] = {"limit": limit, **({"labelSelector": label_selector} if label_selector else {})}
        while True:
            page = await self.request("GET", res.path(namespace), query=query, timeout=120)
            meta = page.get("metadata") or {}
            yield page.get("items") or [], str(meta.get("resourceVersion", ""))
            if not meta.get("continue"):
                return
            query = {**query, "continue": meta["continue"]}

    async def watch(
        self,
        res: Resource,
        *,
        label_selector: str,
        resource_version: str,
        timeout_seconds: int = 290,
        namespace: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Raw watch events (dicts with type and object) until the server closes the stream (in
        ``namespace`` if given, else cluster-wide)."""
        query = [
            ("watch", "1"),
            ("labelSelector", label_selector),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_seconds)),
        ]
        async with self._send(
            "GET",
            res.path(namespace),
            query=query,
            data=None,
            timeout=timeout_seconds + 30,
            headers={"Accept": "application/json"},
        ) as resp:
            if not 200 <= resp.status <= 299:
                text = await resp.text()
                raise KubeError(
                    resp.status, _server_message(text) or resp.reason or "", retry_after=_retry_after(resp.headers)
                )
            with _translated():
                async for line in resp.content:
                    if line.strip():
                        yield orjson.loads(line)


def event_body(involved: Mapping[str, Any], *, type_: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    """The core/v1 Event the operator posts about ``involved``. A cluster-scoped object's Events
    go to the default namespace, as the kubelet's do for Nodes."""
    meta = involved["metadata"]
    namespace = meta.get("namespace") or ""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": namespace or "default"},
        "involvedObject": {
            "apiVersion": involved.get("apiVersion", api.API_VERSION),
            "kind": involved.get("kind", "MicroApp"),
            "name": meta["name"],
            "namespace": namespace,
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "type": type_,
        "reason": reason,
        "message": message[:1024],
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "source": {"component": FIELD_MANAGER},
        "reportingComponent": FIELD_MANAGER,
    }


def impersonating(kube: Kube, user: str, groups: tuple[str, ...] | list[str] = ()) -> Kube:
    """The same connection, every request made as ``user`` in ``groups`` (``Impersonate-User``,
    ``Impersonate-Group``: what ``kubectl --as --as-group`` sends), so the API server's RBAC and
    the admission webhook decide as for that user. Close only the original."""
    view = Kube(kube.auth, kube.session, kube.proxy)
    view.extra_headers = (("Impersonate-User", user), *(("Impersonate-Group", g) for g in groups))
    return view


def env_proxy(server: str) -> str | None:
    """The proxy the environment names for the API server (HTTPS_PROXY, NO_PROXY), read once."""
    try:
        proxy, _ = aiohttp.helpers.get_env_proxy_for_url(URL(server))
    except LookupError:  # no proxy for the API server (the usual case)
        return None
    return str(proxy)


async def list_retrying(kube: Kube, res: Resource, *, label_selector: str = "") -> dict[str, Any]:
    """A list that waits out API trouble (start-up must not fail on a restarting API server)."""
    delay = 1.0
    while True:
        try:
            return await kube.list(res, label_selector=label_selector)
        except KubeError as exc:
            log.warning("cannot list %s error=%s retry_in=%.0fs", res.plural, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Client exceptions as KubeError: status 0 when the server was not reached."""
    try:
        yield
    except ConfigError as exc:  # a token file gone, an exec plugin failing: nothing reached the server
        raise KubeError(0, str(exc)) from None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise KubeError(0, f"API server unreachable: {exc}") from None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (the API server sends seconds), capped at 5 min."""
    try:
        return min(max(float(headers.get("Retry-After", "")), 0.0), 300.0)
    except (TypeError, ValueError):
        return None


def _warning_text(header: str) -> str:
    """The text of a ``Warning: 299 - "text"`` header (RFC 7234), unquoted."""
    parts = header.split(" ", 2)
    text = parts[2] if len(parts) == 3 and parts[0].isdigit() else header
    if len(text) >= 2 and text[0] == '"':
        text = text[1 : text.rfind('"')] if text.rfind('"') > 0 else text[1:]
    return text.replace('\\"', '"')


def _server_message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message", ""))
    except (TypeError, ValueError, AttributeError):
        return str(body or "")
