"""API types of group ``microapp.dev/v1alpha1``: the single source of truth for the CRDs.

Every field carries a description (``kubectl explain`` shows it). Cross-field rules that the
API server can check on its own are CEL ``x-kubernetes-validations`` attached with
:func:`cel`, so a bad MicroApp is refused at ``kubectl apply`` time even when the operator
is down. Defaults are documented but never put into the schema: the API server would write
them into ``spec`` and GitOps tools would see drift. The core applies them instead.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

GROUP = "microapp.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "microapp"

# Annotation keys on a MicroApp (DESIGN.md, "Annotation and label conventions").
OWNER_ANNOTATION = f"{GROUP}/owner"
TEAM_ANNOTATION = f"{GROUP}/team"
COST_CENTER_ANNOTATION = f"{GROUP}/cost-center"
EDITORS_ANNOTATION = f"{GROUP}/editors"
VIEWERS_ANNOTATION = f"{GROUP}/viewers"
PUBLIC_APPROVED_BY_ANNOTATION = f"{GROUP}/public-approved-by"
LAST_ACTIVITY_ANNOTATION = f"{GROUP}/last-activity"
SNOOZE_UNTIL_ANNOTATION = f"{GROUP}/snooze-until"
NAME_LABEL = f"{GROUP}/name"
TEAM_LABEL = f"{GROUP}/team"

# The Kubernetes resource.Quantity grammar (apimachinery's regexp, anchored).
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
MONEY_PATTERN = r"^[0-9]+(\.[0-9]{1,2})?$"
DURATION_PATTERN = r"^[0-9]+(s|m|h|d|w)$"
TEMPLATE_REF_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(@[^@\s]+)?$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"


def _quantity(value: int | str) -> int | str:
    if isinstance(value, str) and not re.match(QUANTITY_PATTERN, value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 250m, 1, 512Mi, 2Gi)")
    return value


Quantity = Annotated[
    int | str,
    AfterValidator(_quantity),
    WithJsonSchema({"x-kubernetes-int-or-string": True,
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                    "pattern": QUANTITY_PATTERN}),
]
Money = Annotated[str, Field(pattern=MONEY_PATTERN, max_length=16)]
Duration = Annotated[str, Field(pattern=DURATION_PATTERN, max_length=12)]
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


def cel(rule: str, message: str, **extra: Any) -> dict[str, Any]:
    """One CEL validation rule as it goes into ``x-kubernetes-validations``."""
    return {"rule": rule, "message": message, **extra}


def validations(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


class Model(BaseModel):
    """Base: camelCase on the wire, immutable in memory, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True,
                              extra="forbid")


# ---------------------------------------------------------------------------------------
# MicroApp
# ---------------------------------------------------------------------------------------

class Resources(Model):
    """Resource requests of the app container. Limits come from the template and the policy."""

    cpu: Quantity | None = Field(None, description="CPU request, e.g. 250m or 1. Default: the template's.")
    memory: Quantity | None = Field(None, description="Memory request, e.g. 256Mi. Default: the template's.")


class EnvVar(Model):
    """One environment variable of the app container (a literal value)."""

    name: str = Field(description="Variable name, e.g. MODE.", pattern=ENV_NAME_PATTERN, max_length=128)
    value: str = Field("", description="Literal value. Never evaluated as a template.", max_length=32768)


class Budget(Model):
    """Per-app budget, in the PlatformPolicy currency."""

    monthly_limit: Money | None = Field(
        None, description="Highest acceptable estimated monthly cost of this app, e.g. \"40\" or "
        "\"12.50\". An apply whose estimate exceeds it is refused.")


class Telemetry(Model):
    """Telemetry wiring of the app."""

    enabled: bool | None = Field(
        None, description="Inject the OpenTelemetry collector sidecar and scrape annotations. "
        "Default true; false is refused when the PlatformPolicy requires telemetry.")


class Lifecycle(Model):
    """When an unused app is idled and retired. Durations: a number and s, m, h, d or w."""

    idle_after: Duration | None = Field(
        None, description="Scale to zero after this long without activity, e.g. 7d. "
        "Default: PlatformPolicy.spec.lifecycle.idleAfter.")
    retire_after: Duration | None = Field(
        None, description="Retire (archive or delete) after this long idle, e.g. 30d. "
        "Default: PlatformPolicy.spec.lifecycle.retireAfter.")
    expires_at: Timestamp | None = Field(
        None, description="Hard expiry (RFC 3339): the app is retired at this time whatever its activity.")
    on_retire: Literal["Archive", "Delete"] | None = Field(
        None, description="Archive keeps the MicroApp (workload removed, phase Retired); "
        "Delete removes it. Default Archive.")


class MicroAppSpec(Model):
    """What the citizen developer asks for. The operator never writes it."""

    model_config = ConfigDict(json_schema_extra=validations(
        cel("!has(self.host) || (has(self.expose) && self.expose == 'public')",
            "spec.host is only used with spec.expose: public; set expose: public or remove host",
            fieldPath=".host", reason="FieldValueForbidden"),
        cel("!has(self.expose) || self.expose != 'public' || has(self.host)",
            "spec.expose: public needs spec.host (the public DNS name, e.g. expenses.example.com)",
            fieldPath=".host", reason="FieldValueRequired"),
    ))

    template: str = Field(
        description="Catalog template as NAME or NAME@SEMVER-RANGE, e.g. web-service or "
        "web-service@^1. Without a range the newest non-deprecated version is used.",
        max_length=128,
        json_schema_extra=validations(cel(
            f"self.matches(r'{TEMPLATE_REF_PATTERN}')",
            "spec.template must be NAME or NAME@RANGE with a lower-case template name, "
            "e.g. web-service or web-service@^1")))
    image: str = Field(
        description="Container image, e.g. registry.internal/finance/expenses:1.4.0. "
        "Must come from a registry the PlatformPolicy allows.",
        max_length=512,
        json_schema_extra=validations(cel(
            r"self.matches(r'^\S+$')",
            "spec.image must be an image reference without spaces, e.g. registry.internal/team/app:1.0")))
    replicas: int | None = Field(
        None, ge=0, le=1000,
        description="Number of instances (0..1000). kubectl scale changes it. Default: the template's.")
    resources: Resources | None = Field(None, description=Resources.__doc__)
    port: int | None = Field(None, ge=1, le=65535, description="Port the app listens on. Default: the template's.")
    env: list[EnvVar] | None = Field(
        None, max_length=100,
        description="Environment variables of the app container; names must be unique.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]})
    expose: Literal["none", "internal", "public"] | None = Field(
        None, description="none: no Service; internal: cluster-internal Service (default); "
        "public: also an Ingress for spec.host, which needs approval (microapp.dev/public-approved-by).")
    host: str | None = Field(
        None, max_length=253,
        description="Public DNS name for expose: public, e.g. expenses.example.com.",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    parameters: dict[str, Any] | None = Field(
        None, description="Template-specific settings, validated against the AppTemplate's "
        "parameters schema.",
        json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    budget: Budget | None = Field(None, description=Budget.__doc__)
    telemetry: Telemetry | None = Field(None, description=Telemetry.__doc__)
    lifecycle: Lifecycle | None = Field(None, description=Lifecycle.__doc__)
    suspend: bool | None = Field(
        None, description="true scales the workload to zero and sets phase Suspended; the "
        "MicroApp and its settings are kept.")

    @model_validator(mode="after")
    def _host_goes_with_public(self) -> "MicroAppSpec":
        """The CEL rules above, for offline validation (`microapp validate`)."""
        if self.host is not None and self.expose != "public":
            raise ValueError("spec.host is only used with spec.expose: public; set expose: public or remove host")
        if self.expose == "public" and self.host is None:
            raise ValueError("spec.expose: public needs spec.host (the public DNS name, e.g. expenses.example.com)")
        if not re.match(TEMPLATE_REF_PATTERN, self.template):
            raise ValueError("spec.template must be NAME or NAME@RANGE with a lower-case template name, "
                             "e.g. web-service or web-service@^1")
        return self


Phase = Literal["Pending", "Running", "Idle", "Retiring", "Retired", "Suspended", "Failed"]


class Condition(Model):
    """A metav1.Condition."""

    type: str = Field(description="Condition type: Ready, Reconciling, Stalled, PolicyCompliant, WithinBudget or Idle.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(description="CamelCase reason for the last transition.")
    message: str = Field("", description="Human-readable details.")
    last_transition_time: Timestamp = Field(description="When status last changed.")
    observed_generation: int | None = Field(None, description="metadata.generation this condition was computed from.")


class TemplateStatus(Model):
    """Template version the app was rendered from."""

    name: str | None = Field(None, description="Template name.")
    version: str | None = Field(None, description="Resolved version in use.")
    latest: str | None = Field(None, description="Newest non-deprecated version in the catalog.")


class CostStatus(Model):
    """Estimated cost of the app."""

    estimated_monthly: str | None = Field(None, description="Estimated monthly cost, e.g. 18.42.")
    currency: str | None = Field(None, description="Currency of the estimate, from the PlatformPolicy.")


class LifecycleStatus(Model):
    """Activity and retirement times."""

    last_activity: Timestamp | None = Field(None, description="Last observed activity.")
    idle_since: Timestamp | None = Field(None, description="When the app was idled.")
    retire_at: Timestamp | None = Field(None, description="When the app will be retired unless it becomes active.")


class InventoryEntry(Model):
    """One object the operator applied for this app."""

    api_version: str = Field(description="apiVersion of the object.")
    kind: str = Field(description="Kind of the object.")
    name: str = Field(description="Name of the object (in the MicroApp's namespace).")


class MicroAppStatus(Model):
    """What the operator observed and decided; written only by the operator."""

    observed_generation: int | None = Field(None, description="metadata.generation last processed.")
    phase: Phase | None = Field(None, description="Summary for humans: Pending, Running, Idle, Retiring, Retired, Suspended or Failed.")
    conditions: list[Condition] | None = Field(
        None, description="Conditions (metav1.Condition); Ready is always present.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]})
    replicas: int | None = Field(None, description="Current number of instances (scale subresource).")
    selector: str | None = Field(None, description="Label selector of the app's Pods (scale subresource, HPA).")
    url: str | None = Field(None, description="Where the app is reachable.")
    template: TemplateStatus | None = Field(None, description=TemplateStatus.__doc__)
    cost: CostStatus | None = Field(None, description=CostStatus.__doc__)
    lifecycle: LifecycleStatus | None = Field(None, description=LifecycleStatus.__doc__)
    inventory: list[InventoryEntry] | None = Field(None, description="Objects applied for this app.")
    violations: list[str] | None = Field(None, description="Plain-language policy findings.")


# ---------------------------------------------------------------------------------------
# AppTemplate
# ---------------------------------------------------------------------------------------

_IMMUTABLE_TEMPLATE_FIELDS = ("templateName", "version", "runtime", "description", "parameters",
                              "defaults", "security", "manifests")


def _immutable(fields: tuple[str, ...]) -> dict[str, Any]:
    rule = " && ".join(
        f"(has(self.{f}) == has(oldSelf.{f})) && (!has(self.{f}) || self.{f} == oldSelf.{f})"
        for f in fields)
    return cel(rule, "AppTemplate is immutable except spec.deprecated: publish a new version "
               "(a new AppTemplate object) instead of editing this one")


class TemplateDefaults(Model):
    """Values used when a MicroApp does not set them."""

    replicas: int | None = Field(None, ge=0, le=1000, description="Default replicas.")
    port: int | None = Field(None, ge=1, le=65535, description="Default port.")
    resources: Resources | None = Field(None, description="Default resource requests.")


class TemplateSecurity(Model):
    """Opt-outs from the Pod security defaults, for templates that need them."""

    writable_root_filesystem: bool | None = Field(
        None, description="Allow a writable root filesystem (default: read-only).")
    service_account_token: bool | None = Field(
        None, description="Mount the app's ServiceAccount token (default: not mounted).")


class AppTemplateSpec(Model):
    """A versioned, immutable catalog entry."""

    model_config = ConfigDict(json_schema_extra=validations(_immutable(_IMMUTABLE_TEMPLATE_FIELDS)))

    template_name: str = Field(description="Template name used in MicroApp.spec.template, e.g. web-service.",
                               pattern=DNS_LABEL_PATTERN, max_length=63)
    version: str = Field(description="Semantic version, e.g. 1.3.0.", max_length=64,
                         pattern=r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
    runtime: Literal["container", "serverless", "job"] = Field(description="container, serverless or job.")
    description: str | None = Field(None, description="What the template is for.", max_length=1024)
    deprecated: bool | None = Field(None, description="Deprecated versions are not chosen by ranges; the only mutable field.")
    parameters: dict[str, Any] | None = Field(
        None, description="JSON Schema (OpenAPI v3 subset) for MicroApp.spec.parameters.",
        json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    defaults: TemplateDefaults | None = Field(None, description=TemplateDefaults.__doc__)
    security: TemplateSecurity | None = Field(None, description=TemplateSecurity.__doc__)
    manifests: str = Field(description="Jinja2 multi-document YAML, rendered in a sandbox.", max_length=262144)


# ---------------------------------------------------------------------------------------
# TeamBudget
# ---------------------------------------------------------------------------------------

class TeamBudgetSpec(Model):
    """Monthly budget of one team."""

    team: str = Field(description="Team name, as in PlatformPolicy.spec.teams.", pattern=DNS_LABEL_PATTERN, max_length=63)
    monthly_limit: Money = Field(description="Monthly limit in the PlatformPolicy currency, e.g. \"500\".")
    enforcement: Literal["Deny", "Warn"] | None = Field(
        None, description="Deny refuses applies that exceed the limit; Warn allows them with a warning. Default Deny.")
    warn_at_percent: int | None = Field(None, ge=1, le=100, description="Warn when this percentage is committed. Default 80.")


class TeamBudgetStatus(Model):
    """Committed spend of the team."""

    observed_generation: int | None = Field(None, description="metadata.generation last processed.")
    committed_monthly: str | None = Field(None, description="Sum of the team's apps' estimates.")
    remaining: str | None = Field(None, description="monthlyLimit minus committedMonthly.")
    apps: int | None = Field(None, description="Number of the team's apps.")
    conditions: list[Condition] | None = Field(
        None, description="Conditions (metav1.Condition).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]})


# ---------------------------------------------------------------------------------------
# PlatformPolicy
# ---------------------------------------------------------------------------------------

class Pricing(Model):
    """Price sheet for cost estimates (defaults: OpenCost's)."""

    currency: str | None = Field(None, description="ISO currency code. Default USD.", pattern=r"^[A-Z]{3}$")
    hours_per_month: int | None = Field(None, ge=1, le=744, description="Hours in a month. Default 730.")
    cpu_core_hour: str | None = Field(None, description="Price of one vCPU for one hour. Default 0.031611.", pattern=r"^[0-9]+(\.[0-9]+)?$")
    memory_gi_b_hour: str | None = Field(None, alias="memoryGiBHour", description="Price of one GiB of memory for one hour. Default 0.004237.", pattern=r"^[0-9]+(\.[0-9]+)?$")
    gpu_hour: str | None = Field(None, description="Price of one GPU for one hour. Default 0.95.", pattern=r"^[0-9]+(\.[0-9]+)?$")
    storage_gi_b_month: str | None = Field(None, alias="storageGiBMonth", description="Price of one GiB of storage for a month. Default 0.04.", pattern=r"^[0-9]+(\.[0-9]+)?$")


class Team(Model):
    """A team: who belongs to it and where its apps live."""

    name: str = Field(description="Team name, used in microapp.dev/team.", pattern=DNS_LABEL_PATTERN, max_length=63)
    groups: list[str] | None = Field(None, description="Groups whose members act for the team (create and "
                                     "change its apps); include a GitOps controller's group if it applies them.")
    namespaces: list[str] | None = Field(None, description="Namespaces where the team's apps may live; shell-style "
                                         "patterns allowed, e.g. team-finance-*.")
    sandbox: bool | None = Field(None, description="Restrict egress of the team's apps to DNS and telemetry.")


class Guardrails(Model):
    """Platform limits every MicroApp must respect."""

    allowed_registries: list[str] | None = Field(None, description="Image prefixes allowed, e.g. registry.internal/.")
    allow_latest_tag: bool | None = Field(None, description="Allow images tagged latest or untagged. Default false.")
    max_replicas: int | None = Field(None, ge=0, description="Highest replicas an app may ask for.")
    max_cpu: Quantity | None = Field(None, description="Highest CPU request per container.")
    max_memory: Quantity | None = Field(None, description="Highest memory request per container.")
    require_cost_center: bool | None = Field(None, description="Require the microapp.dev/cost-center annotation.")
    public_exposure_approvers: list[str] | None = Field(None, description="Groups allowed to approve expose: public.")
    allow_cross_team_groups: bool | None = Field(None, description="Allow microapp.dev/editors and viewers to name "
                                                 "groups of other teams. Default false.")
    ingress_namespace: str | None = Field(None, description="Namespace of the ingress controller (for NetworkPolicies).")


class PolicyTelemetry(Model):
    """Telemetry defaults for all apps."""

    required: bool | None = Field(None, description="Refuse MicroApps that turn telemetry off.")
    sidecar_image: str | None = Field(None, description="OpenTelemetry Collector image of the sidecar.")
    endpoint: str | None = Field(None, description="OTLP endpoint the collectors export to.")
    resources: Resources | None = Field(None, description="Requests of the sidecar.")


class PolicyLifecycle(Model):
    """Lifecycle defaults for all apps."""

    idle_after: Duration | None = Field(None, description="Default idle period, e.g. 14d.")
    retire_after: Duration | None = Field(None, description="Default retirement period after idling, e.g. 30d.")
    sweep_interval: Duration | None = Field(None, description="How often the lifecycle sweeper runs, e.g. 60s.")


class Activity(Model):
    """Where app activity comes from."""

    prometheus_url: str | None = Field(None, description="Prometheus base URL; empty disables metric-based activity.")
    query: str | None = Field(None, description="PromQL returning activity by namespace and microapp.")


class PlatformPolicySpec(Model):
    """The platform's rules. Only the object named default is used."""

    pricing: Pricing | None = Field(None, description=Pricing.__doc__)
    platform_admin_groups: list[str] | None = Field(
        None, description="Groups that may act for any team and approve public exposure. Default [system:masters].")
    teams: list[Team] | None = Field(
        None, description="Teams allowed to run apps.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]})
    guardrails: Guardrails | None = Field(None, description=Guardrails.__doc__)
    telemetry: PolicyTelemetry | None = Field(None, description=PolicyTelemetry.__doc__)
    lifecycle: PolicyLifecycle | None = Field(None, description=PolicyLifecycle.__doc__)
    activity: Activity | None = Field(None, description=Activity.__doc__)
