"""The Helm chart's values, as pydantic models: the one source of ``values.schema.json``.

``make crds`` writes the schema into the chart; Helm checks every install and upgrade against
it, so a misspelt key or a wrong type fails with the field's name instead of being ignored.
Kubernetes-shaped values (resources, affinity, security contexts) stay open mappings: the API
server checks those.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Open = dict[str, Any]
# A shard's name: a label value (microapp.dev/shard) and a suffix of object names, so a DNS label
# of at most 42 characters (the rule of core/shard.py, which tests/unit/test_chart.py compares).
SHARD_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$"
ShardName = Annotated[str, Field(pattern=SHARD_NAME_PATTERN, max_length=42)]


def _unique(names: list[str]) -> list[str]:
    if len(set(names)) != len(names):
        raise ValueError(f"a shard is listed twice: {', '.join(names)}")
    return names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Image(_Strict):
    repository: str = Field(min_length=1, description="The operator image, without the tag.")
    tag: str = Field("", description="Defaults to the chart's appVersion.")
    pullPolicy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"


class Crds(_Strict):
    enabled: bool = Field(True, description="Install and upgrade the CRDs with the chart.")
    keep: bool = Field(True, description="Keep the CRDs, and so every MicroApp, on helm uninstall.")


class ServiceAccount(_Strict):
    create: bool = True
    name: str = ""
    annotations: dict[str, str] = {}


class LeaderElection(_Strict):
    enabled: bool = Field(True, description="Active/standby replicas over a Lease.")
    leaseDuration: int = Field(8, ge=2, le=120, description="Seconds before a standby takes over.")


class CertManager(_Strict):
    enabled: bool = False
    issuerRef: Open = {}


class Webhook(_Strict):
    enabled: bool = True
    port: int = Field(9443, ge=1024, le=65535, description="Unprivileged: the operator runs as non-root.")
    certManager: CertManager = CertManager()


class Operator(_Strict):
    workers: int = Field(4, ge=1, le=64)
    resyncSeconds: float = Field(300, ge=0)
    logFormat: Literal["text", "json"] = "json"
    namespaces: list[str] = []
    extraArgs: list[str] = []


class DefaultPolicy(_Strict):
    enabled: bool = True
    spec: Open = {}


class Toggle(_Strict):
    enabled: bool = True


class Monitor(_Strict):
    enabled: bool = False
    interval: str = Field("30s", pattern=r"^[0-9]+(ms|s|m|h)$")
    labels: dict[str, str] = {}


class Metrics(_Strict):
    podMonitor: Monitor = Monitor()
    serviceMonitor: Monitor = Monitor()


class Dashboards(_Strict):
    enabled: bool = True
    labels: dict[str, str] = {}


class PodDisruptionBudget(_Strict):
    enabled: bool = True
    minAvailable: int | str = 1


class NetworkPolicy(_Strict):
    enabled: bool = False
    metricsFrom: list[Open] = []


class ArgoCD(_Strict):
    enabled: bool = Field(False, description="Merge the MicroApp health check and actions into argocd-cm.")
    namespace: str = Field("argocd", min_length=1, description="Argo CD's namespace.")


class PortalOIDC(_Strict):
    issuerURL: str = Field("", description="The issuer URL, as in its tokens' iss claim (https).")
    clientID: str = Field("", description="The audience the ID tokens must be for.")
    usernameClaim: str = "email"
    groupsClaim: str = "groups"
    usernamePrefix: str = Field("", description="Empty: none for email, else the issuer URL and #; '-': none.")
    groupsPrefix: str = ""


class OAuth2Proxy(_Strict):
    enabled: bool = Field(False, description="oauth2-proxy in the Pod signs people in and passes their ID token.")
    image: str = "quay.io/oauth2-proxy/oauth2-proxy:v7.7.1"
    secretName: str = Field("", description="A Secret with OAUTH2_PROXY_CLIENT_SECRET and OAUTH2_PROXY_COOKIE_SECRET.")
    extraArgs: list[str] = []


class PortalIngress(_Strict):
    enabled: bool = False
    className: str = ""
    host: str = ""
    annotations: dict[str, str] = {}
    tls: list[Open] = []


class EgressTo(_Strict):
    to: list[Open] = Field([], description="NetworkPolicyPeers (ipBlock, namespaceSelector, podSelector); empty: none.")
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field([], description="TCP ports.")


class PortalEgress(_Strict):
    """Where the portal may connect when its egress is restricted: DNS, the API server, the OIDC
    issuer (its keys), the Prometheus of spec.activity.prometheusUrl (a team's 30-day showback)
    and the Git host (proposals through Git). Off: the portal's egress is not restricted."""

    enabled: bool = Field(False, description="Restrict the portal's egress to the destinations below.")
    dns: bool = Field(True, description="Allow DNS (UDP and TCP 53) to any namespace's kube-dns.")
    apiServer: EgressTo = EgressTo(ports=[443, 6443])
    oidcIssuer: EgressTo = EgressTo(ports=[443])
    prometheus: EgressTo = EgressTo(ports=[9090])
    git: EgressTo = EgressTo(ports=[443, 22])


class PortalNetworkPolicy(_Strict):
    from_: list[Open] = Field([], alias="from", description="Who may reach the portal; empty: anyone in the cluster.")
    egress: PortalEgress = PortalEgress()


class PortalGit(_Strict):
    credentialSecrets: list[Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]] = Field(
        [],
        description="Secrets in the release namespace holding Git push credentials (the PlatformPolicy's "
        "teams[].git.credentialsSecret): the portal may get these by name, and no other Secret.",
    )


class Portal(_Strict):
    enabled: bool = Field(False, description="The web portal (microapp portal).")
    replicas: int = Field(1, ge=0, le=10)
    oidc: PortalOIDC = PortalOIDC()
    oauth2Proxy: OAuth2Proxy = OAuth2Proxy()
    ingress: PortalIngress = PortalIngress()
    networkPolicy: PortalNetworkPolicy = PortalNetworkPolicy()
    git: PortalGit = PortalGit()
    resources: Open = {}


class Values(_Strict):
    """The chart's values (charts/microapp-operator/values.yaml documents each)."""

    replicaCount: int = Field(2, ge=0, le=10)
    image: Image
    imagePullSecrets: list[Open] = []
    crds: Crds = Crds()
    serviceAccount: ServiceAccount = ServiceAccount()
    leaderElection: LeaderElection = LeaderElection()
    shards: Annotated[list[ShardName], AfterValidator(_unique)] = Field(
        [],
        json_schema_extra={"uniqueItems": True},
        description="Split the cluster by namespace between operators, one Deployment (with its own Lease, "
        "webhook Service and configuration) per name. A namespace labelled microapp.dev/shard=<name> "
        "belongs to that shard; the first also takes namespaces without the label or with an "
        "unknown value. Needs leaderElection.enabled. Empty: one operator for the whole cluster.",
    )
    webhook: Webhook = Webhook()
    operator: Operator = Operator()
    defaultPolicy: DefaultPolicy = DefaultPolicy()
    builtinTemplates: Toggle = Toggle()
    metrics: Metrics = Metrics()
    dashboards: Dashboards = Dashboards()
    podDisruptionBudget: PodDisruptionBudget = PodDisruptionBudget()
    networkPolicy: NetworkPolicy = NetworkPolicy()
    argocd: ArgoCD = ArgoCD()
    portal: Portal = Portal()
    hostNetwork: bool = False
    resources: Open = {}
    podSecurityContext: Open = {}
    securityContext: Open = {}
    podLabels: dict[str, str] = {}
    podAnnotations: dict[str, str] = {}
    priorityClassName: str = ""
    nodeSelector: dict[str, str] = {}
    tolerations: list[Open] = []
    affinity: Open = {}


def schema() -> dict[str, Any]:
    """JSON Schema for values.yaml (Helm also accepts the keys Helm itself adds: ``global``)."""
    out = Values.model_json_schema()
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["properties"]["global"] = {"type": "object"}
    return out


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"
