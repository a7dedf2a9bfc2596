"""The operator's one small Kubernetes layer (async, kubernetes_asyncio underneath).

Server-side apply with field manager ``microapp-operator``, status merge patches, deletes,
Events, and raw list/watch streams for the label-filtered child cache. Paths come from a
static table of the kinds templates may render, so no discovery round-trips are needed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator, Mapping

import aiohttp
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from . import api

FIELD_MANAGER = "microapp-operator"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/api/{self.api_version}" if not self.group else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base


RESOURCES: dict[tuple[str, str], Resource] = {(r.api_version, r.kind): r for r in (
    Resource("apps/v1", "Deployment", "deployments"),
    Resource("v1", "Service", "services"),
    Resource("v1", "ConfigMap", "configmaps"),
    Resource("v1", "ServiceAccount", "serviceaccounts"),
    Resource("networking.k8s.io/v1", "Ingress", "ingresses"),
    Resource("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    Resource("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    Resource("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    Resource("batch/v1", "CronJob", "cronjobs"),
    Resource("rbac.authorization.k8s.io/v1", "Role", "roles"),
    Resource("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    Resource("serving.knative.dev/v1", "Service", "services"),
    Resource("monitoring.coreos.com/v1", "PodMonitor", "podmonitors"),
    Resource(api.API_VERSION, "MicroApp", "microapps"),
    Resource(api.API_VERSION, "AppTemplate", "apptemplates", namespaced=False),
    Resource(api.API_VERSION, "TeamBudget", "teambudgets", namespaced=False),
    Resource(api.API_VERSION, "PlatformPolicy", "platformpolicies", namespaced=False),
    Resource("v1", "Event", "events"),
    Resource("wgpolicyk8s.io/v1alpha2", "PolicyReport", "policyreports"),
)}
MICROAPP = RESOURCES[(api.API_VERSION, "MicroApp")]
APPTEMPLATE = RESOURCES[(api.API_VERSION, "AppTemplate")]
TEAMBUDGET = RESOURCES[(api.API_VERSION, "TeamBudget")]
PLATFORMPOLICY = RESOURCES[(api.API_VERSION, "PlatformPolicy")]
EVENT = RESOURCES[("v1", "Event")]
POLICYREPORT = RESOURCES[("wgpolicyk8s.io/v1alpha2", "PolicyReport")]
PODMONITOR = RESOURCES[("monitoring.coreos.com/v1", "PodMonitor")]


class KubeError(Exception):
    """An API error with the server's own message (e.g. a webhook or schema refusal)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message

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

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api = api_client
        self.writes = 0   # write requests sent (for tests and metrics)

    @classmethod
    async def connect(cls) -> "Kube":
        try:
            config.load_incluster_config()
        except config.ConfigException:
            await config.load_kube_config()
        return cls(client.ApiClient())

    async def close(self) -> None:
        await self.api.close()

    async def request(self, method: str, path: str, *, body: Any = None, query: Mapping[str, Any] | None = None,
                      content_type: str = "application/json", timeout: float = 30) -> Any:
        if method != "GET":
            self.writes += 1
        try:
            resp = await self.api.call_api(
                path, method, query_params=list((query or {}).items()),
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                body=body, auth_settings=["BearerToken"], _preload_content=False,
                _return_http_data_only=True, _request_timeout=timeout)
            text = await resp.text()
        except ApiException as exc:
            raise KubeError(exc.status or 0, _server_message(exc.body) or str(exc.reason)) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise KubeError(0, f"API server unreachable: {exc}") from None
        if not 200 <= resp.status <= 299:
            raise KubeError(resp.status, _server_message(text) or resp.reason or "")
        return json.loads(text) if text else None

    async def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return await self.request("GET", res.path(namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply, forcing ownership of the fields we set."""
        res = resource_of(obj)
        meta = obj["metadata"]
        return await self.request(
            "PATCH", res.path(meta.get("namespace"), meta["name"]), body=dict(obj),
            query={"fieldManager": FIELD_MANAGER, "force": "true"},
            content_type="application/apply-patch+yaml")

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
        await self.request("PATCH", res.path(namespace, name, "status"), body={"status": dict(status)},
                           content_type="application/merge-patch+json")

    async def event(self, involved: Mapping[str, Any], *, type_: str, reason: str, message: str,
                    now: datetime) -> None:
        """A core/v1 Event on ``involved`` (best effort: a failed Event never fails a reconcile)."""
        meta = involved["metadata"]
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": involved.get("apiVersion", api.API_VERSION),
                               "kind": involved.get("kind", "MicroApp"), "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta.get("uid"),
                               "resourceVersion": meta.get("resourceVersion")},
            "type": type_, "reason": reason, "message": message[:1024],
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "source": {"component": FIELD_MANAGER}, "reportingComponent": FIELD_MANAGER,
        }
        try:
            await self.request("POST", EVENT.path(meta["namespace"]), body=body)
        except KubeError as exc:
            if not exc.namespace_terminating:
                log.warning("event not posted reason=%s error=%s", reason, exc)

    async def list(self, res: Resource, *, label_selector: str = "") -> dict[str, Any]:
        query = {"labelSelector": label_selector} if label_selector else {}
        return await self.request("GET", res.path(), query=query, timeout=120)

    async def watch(self, res: Resource, *, label_selector: str, resource_version: str,
                    timeout_seconds: int = 290) -> AsyncIterator[dict[str, Any]]:
        """Raw watch events (dicts with type and object) until the server closes the stream."""
        query = [("watch", "1"), ("labelSelector", label_selector), ("resourceVersion", resource_version),
                 ("allowWatchBookmarks", "true"), ("timeoutSeconds", str(timeout_seconds))]
        try:
            resp = await self.api.call_api(
                res.path(), "GET", query_params=query, header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True,
                _request_timeout=timeout_seconds + 30)
        except ApiException as exc:
            raise KubeError(exc.status or 0, _server_message(exc.body) or str(exc.reason)) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise KubeError(0, f"API server unreachable: {exc}") from None
        if not 200 <= resp.status <= 299:
            text = await resp.text()
            resp.release()
            raise KubeError(resp.status, _server_message(text) or resp.reason or "")
        try:
            async for line in resp.content:
                if line.strip():
                    yield json.loads(line)
        finally:
            resp.release()


def _server_message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message", ""))
    except (TypeError, ValueError, AttributeError):
        return str(body or "")
