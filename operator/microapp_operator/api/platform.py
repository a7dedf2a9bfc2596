"""API types of the platform team's kinds: TeamBudget and PlatformPolicy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import DNS_LABEL_PATTERN, Condition, Duration, Model, Money, Quantity, Resources

# ---------------------------------------------------------------------------------------
# TeamBudget
# ---------------------------------------------------------------------------------------


class TeamBudgetSpec(Model):
    """Monthly budget of one team."""

    team: str = Field(
        description="Team name, as in PlatformPolicy.spec.teams.", pattern=DNS_LABEL_PATTERN, max_length=63
    )
    monthly_limit: Money = Field(description='Monthly limit in the PlatformPolicy currency, e.g. "500".')
    enforcement: Literal["Deny", "Warn"] | None = Field(
        None, description="Deny refuses applies that exceed the limit; Warn allows them with a warning. Default Deny."
    )
    warn_at_percent: int | None = Field(
        None, ge=1, le=100, description="Warn when this percentage is committed. Default 80."
    )


class TeamBudgetStatus(Model):
    """Committed spend of the team."""

    observed_generation: int | None = Field(None, description="metadata.generation last processed.")
    committed_monthly: str | None = Field(None, description="Sum of the team's apps' estimates.")
    remaining: str | None = Field(None, description="monthlyLimit minus committedMonthly.")
    apps: int | None = Field(None, description="Number of the team's apps.")
    conditions: list[Condition] | None = Field(
        None,
        description="Conditions (metav1.Condition).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )


# ---------------------------------------------------------------------------------------
# PlatformPolicy
# ---------------------------------------------------------------------------------------


# OpenCost's default price sheet: the one place it is written (core.cost.Prices and the CRD read it).
DEFAULT_CURRENCY = "USD"
DEFAULT_HOURS_PER_MONTH = 730
DEFAULT_CPU_CORE_HOUR = "0.031611"
DEFAULT_MEMORY_GIB_HOUR = "0.004237"
DEFAULT_GPU_HOUR = "0.95"
DEFAULT_STORAGE_GIB_MONTH = "0.04"


class Pricing(Model):
    """Price sheet for cost estimates (defaults: OpenCost's)."""

    currency: str | None = Field(
        None, description=f"ISO currency code. Default {DEFAULT_CURRENCY}.", pattern=r"^[A-Z]{3}$"
    )
    hours_per_month: int | None = Field(
        None, ge=1, le=744, description=f"Hours in a month. Default {DEFAULT_HOURS_PER_MONTH}."
    )
    cpu_core_hour: str | None = Field(
        None,
        description=f"Price of one vCPU for one hour. Default {DEFAULT_CPU_CORE_HOUR}.",
        pattern=r"^[0-9]+(\.[0-9]+)?$",
    )
    memory_gi_b_hour: str | None = Field(
        None,
        alias="memoryGiBHour",
        description=f"Price of one GiB of memory for one hour. Default {DEFAULT_MEMORY_GIB_HOUR}.",
        pattern=r"^[0-9]+(\.[0-9]+)?$",
    )
    gpu_hour: str | None = Field(
        None, description=f"Price of one GPU for one hour. Default {DEFAULT_GPU_HOUR}.", pattern=r"^[0-9]+(\.[0-9]+)?$"
    )
    storage_gi_b_month: str | None = Field(
        None,
        alias="storageGiBMonth",
        description=f"Price of one GiB of storage for a month. Default {DEFAULT_STORAGE_GIB_MONTH}.",
        pattern=r"^[0-9]+(\.[0-9]+)?$",
    )


class GitTarget(Model):
    """Where the portal proposes changes to the team's apps through Git (on new microapp/* branches only)."""

    repo_url: str = Field(
        alias="repoURL",
        description="Repository to clone and push to: https://host/owner/repo.git or git@host:owner/repo.git.",
        min_length=1,
    )
    branch: str | None = Field(
        None, description="Base branch the proposal targets. Default: the repository's default branch."
    )
    path: str | None = Field(
        None, description="Folder holding the team's MicroApp files, one plain-YAML file per app. Default: the root."
    )
    credentials_secret: str | None = Field(
        None,
        description="Secret in the portal's namespace with the push credential: key token (an access token) "
        "or keys username and password (HTTP basic). Empty: push without a credential.",
    )
    forge: Literal["github", "gitlab", "gitea"] | None = Field(
        None,
        description="Forge whose compare or merge-request link the portal shows (gitea also means Forgejo). "
        "Default: github or gitlab when the host name says so, else gitea.",
    )


class Team(Model):
    """A team: who belongs to it and where its apps live."""

    name: str = Field(description="Team name, used in microapp.dev/team.", pattern=DNS_LABEL_PATTERN, max_length=63)
    groups: list[str] | None = Field(
        None,
        description="Groups whose members act for the team (create and "
        "change its apps); include a GitOps controller's group if it applies them.",
    )
    namespaces: list[str] | None = Field(
        None,
        description="Namespaces where the team's apps may live; shell-style patterns allowed, e.g. team-finance-*.",
    )
    sandbox: bool | None = Field(None, description="Restrict egress of the team's apps to DNS and telemetry.")
    git: GitTarget | None = Field(None, description=GitTarget.__doc__)


class Guardrails(Model):
    """Platform limits every MicroApp must respect."""

    allowed_registries: list[str] | None = Field(None, description="Image prefixes allowed, e.g. registry.internal/.")
    allow_latest_tag: bool | None = Field(None, description="Allow images tagged latest or untagged. Default false.")
    max_replicas: int | None = Field(None, ge=0, description="Highest replicas an app may ask for.")
    max_cpu: Quantity | None = Field(None, description="Highest CPU request per container.")
    max_memory: Quantity | None = Field(None, description="Highest memory request per container.")
    require_cost_center: bool | None = Field(None, description="Require the microapp.dev/cost-center annotation.")
    public_exposure_approvers: list[str] | None = Field(None, description="Groups allowed to approve expose: public.")
    allow_cross_team_groups: bool | None = Field(
        None, description="Allow microapp.dev/editors and viewers to name groups of other teams. Default false."
    )
    ingress_namespace: str | None = Field(
        None, description="Namespace of the ingress controller (for NetworkPolicies)."
    )


class PolicyTelemetry(Model):
    """Telemetry defaults for all apps."""

    required: bool | None = Field(None, description="Refuse MicroApps that turn telemetry off.")
    sidecar_image: str | None = Field(None, description="OpenTelemetry Collector image of the sidecar.")
    endpoint: str | None = Field(None, description="OTLP endpoint the collectors export to.")
    resources: Resources | None = Field(None, description="Requests of the sidecar.")


class Notify(Model):
    """Where retirement notices go."""

    url: str | None = Field(
        None,
        description="HTTP endpoint receiving a CloudEvent (structured JSON) when an "
        "app starts Retiring; empty: Events only.",
        max_length=2048,
    )


class PolicyLifecycle(Model):
    """Lifecycle defaults and bounds for all apps."""

    mode: Literal["Enforce", "DryRun"] | None = Field(
        None, description="Enforce acts; DryRun only reports, in status and Events, what it would do. Default Enforce."
    )
    idle_after: Duration | None = Field(
        None,
        description="Default idle period, e.g. 14d. Unset: apps never idle unless they set spec.lifecycle.idleAfter.",
    )
    retire_after: Duration | None = Field(
        None,
        description="Default retirement period after idling, e.g. 30d. "
        "Unset: idle apps are never retired unless they set it.",
    )
    notify_before: Duration | None = Field(None, description="Default notice before retirement, e.g. 3d. Default 3d.")
    max_idle_after: Duration | None = Field(None, description="Longest idleAfter an app may set (bound), e.g. 90d.")
    max_retire_after: Duration | None = Field(None, description="Longest retireAfter an app may set (bound).")
    sweep_interval: Duration | None = Field(
        None, description="How often the activity sweep runs, e.g. 60s. Default 60s."
    )
    notify: Notify | None = Field(None, description=Notify.__doc__)


class Activity(Model):
    """Where app activity comes from."""

    prometheus_url: str | None = Field(None, description="Prometheus base URL; empty disables metric-based activity.")
    query: str | None = Field(
        None,
        description="PromQL returning one series per app with the labels namespace and microapp; a positive value "
        "means traffic in its window. Default: OpenTelemetry's http.server.request.duration count over 1h, with "
        "the sidecar's k8s_namespace_name and service_name labels named namespace and microapp.",
    )


class PlatformPolicySpec(Model):
    """The platform's rules. Only the object named default is used."""

    pricing: Pricing | None = Field(None, description=Pricing.__doc__)
    platform_admin_groups: list[str] | None = Field(
        None, description="Groups that may act for any team and approve public exposure. Default [system:masters]."
    )
    teams: list[Team] | None = Field(
        None,
        description="Teams allowed to run apps.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    guardrails: Guardrails | None = Field(None, description=Guardrails.__doc__)
    telemetry: PolicyTelemetry | None = Field(None, description=PolicyTelemetry.__doc__)
    lifecycle: PolicyLifecycle | None = Field(None, description=PolicyLifecycle.__doc__)
    activity: Activity | None = Field(None, description=Activity.__doc__)


class PlatformPolicyStatus(Model):
    """What the operator found while applying the policy."""

    conditions: list[Condition] | None = Field(
        None,
        description="Conditions (metav1.Condition): ActivityKnown, whether spec.activity's query answers and "
        "meets the apps' telemetry (while False no app is idled).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
