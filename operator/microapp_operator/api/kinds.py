"""Every kind the operator reads or writes, with its REST path: the one table.

Rendered children, the operator's own kinds, Events and PolicyReports. Paths come from here,
so no discovery round-trips are needed; RBAC grants for editors and viewers, the informer
cache's watches and pruning all read this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .types import API_VERSION

MANAGED_BY = "microapp-operator"
MANAGED_BY_SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY}"

Key = tuple[str, str]  # an app (or any namespaced object) by (namespace, name)
ObjectId = tuple[str, str, str]  # a child by (apiVersion, kind, name), as in status.inventory


def object_id(obj: Mapping[str, Any]) -> ObjectId:
    """An object's identity within its namespace: (apiVersion, kind, name)."""
    return obj["apiVersion"], obj["kind"], obj["metadata"]["name"]


def inventory_entry(obj: Mapping[str, Any]) -> dict[str, str]:
    """The same identity as a status.inventory entry."""
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"]}


def entry_id(entry: Mapping[str, Any]) -> ObjectId:
    """An inventory entry's identity (missing fields read as empty: old or hand-edited status)."""
    return entry.get("apiVersion", ""), entry.get("kind", ""), entry.get("name", "")


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool = True
    child: bool = False  # rendered for an app (watched through the label-filtered cache)
    grantable: bool = False  # editors and viewers of an app may read the app's objects of this kind

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def key(self) -> tuple[str, str]:
        return (self.api_version, self.kind)

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


def _child(api_version: str, kind: str, plural: str, *, grantable: bool = True) -> Resource:
    return Resource(api_version, kind, plural, child=True, grantable=grantable)


RESOURCES: dict[tuple[str, str], Resource] = {
    r.key: r
    for r in (
        _child("apps/v1", "Deployment", "deployments"),
        _child("v1", "Service", "services"),
        _child("v1", "ConfigMap", "configmaps"),
        _child("v1", "ServiceAccount", "serviceaccounts", grantable=False),
        _child("networking.k8s.io/v1", "Ingress", "ingresses"),
        _child("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
        _child("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
        _child("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
        _child("batch/v1", "CronJob", "cronjobs"),
        _child("rbac.authorization.k8s.io/v1", "Role", "roles", grantable=False),
        _child("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", grantable=False),
        _child("serving.knative.dev/v1", "Service", "services"),
        _child("monitoring.coreos.com/v1", "PodMonitor", "podmonitors", grantable=False),
        Resource(API_VERSION, "MicroApp", "microapps"),
        Resource(API_VERSION, "AppTemplate", "apptemplates", namespaced=False),
        Resource(API_VERSION, "TeamBudget", "teambudgets", namespaced=False),
        Resource(API_VERSION, "PlatformPolicy", "platformpolicies", namespaced=False),
        Resource("v1", "Event", "events"),
        Resource("wgpolicyk8s.io/v1alpha2", "PolicyReport", "policyreports"),
        Resource("coordination.k8s.io/v1", "Lease", "leases"),  # leader election (HA)
        Resource("v1", "Secret", "secrets"),  # the webhook CA, in the operator's namespace
        Resource("v1", "Pod", "pods"),  # the leader's label on its own Pod
        Resource("v1", "Namespace", "namespaces", namespaced=False),  # shards: who holds which namespace
        Resource(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            namespaced=False,
        ),  # the chart's: caBundle kept current
    )
}
CHILDREN: tuple[Resource, ...] = tuple(r for r in RESOURCES.values() if r.child)
MICROAPP = RESOURCES[(API_VERSION, "MicroApp")]
APPTEMPLATE = RESOURCES[(API_VERSION, "AppTemplate")]
TEAMBUDGET = RESOURCES[(API_VERSION, "TeamBudget")]
PLATFORMPOLICY = RESOURCES[(API_VERSION, "PlatformPolicy")]
EVENT = RESOURCES[("v1", "Event")]
POLICYREPORT = RESOURCES[("wgpolicyk8s.io/v1alpha2", "PolicyReport")]
PODMONITOR = RESOURCES[("monitoring.coreos.com/v1", "PodMonitor")]
LEASE = RESOURCES[("coordination.k8s.io/v1", "Lease")]
SECRET = RESOURCES[("v1", "Secret")]
POD = RESOURCES[("v1", "Pod")]
NAMESPACE = RESOURCES[("v1", "Namespace")]
WEBHOOK_CONFIGURATION = RESOURCES[("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration")]
LEADER_LABEL = "microapp.dev/leader"  # on the leading replica's Pod: the webhook Service selects it
KNATIVE_SERVICE = RESOURCES[("serving.knative.dev/v1", "Service")]
DEPLOYMENT = RESOURCES[("apps/v1", "Deployment")]
CRONJOB = RESOURCES[("batch/v1", "CronJob")]
HPA = RESOURCES[("autoscaling/v2", "HorizontalPodAutoscaler")]
PDB = RESOURCES[("policy/v1", "PodDisruptionBudget")]
INGRESS = RESOURCES[("networking.k8s.io/v1", "Ingress")]
SERVICE = RESOURCES[("v1", "Service")]
CONFIGMAP = RESOURCES[("v1", "ConfigMap")]
